"""How much of a run to observe: epoch compression and adaptive stopping for slow scripts.

A real script's epoch can be longer than the whole step budget: a ``train()`` never restored
after the first validation, a schedule that collapses per epoch, checkpointing, early stopping,
none of it has run when the observation ends. And a slow script spends most of the budget on
steps that add nothing once the picture is clear. Both are decided here, inside the run, because
only the run knows its loaders' lengths and its own pace.

- **Compression.** After ``TIMED_STEPS`` training steps the pace is known. When fewer than
  ``EPOCHS`` passes over the training loader would fit in the step budget or in ``TARGET_SECONDS``,
  every pass over every ``DataLoader`` (training and validation) is cut to ``k`` batches from then
  on, so that at least ``EPOCHS`` epochs, with their validation passes, scheduler steps and mode
  switches, run.
- **Longer horizon.** An observed run that reaches its step budget while its learning rate is
  still ramping up (a warm-up), has run fewer steps at its peak rate than its warm-up took, or
  whose probe loss still falls at half its average pace or more (it has not settled) is given
  more steps, up to
  ``MAX_EXTENSION`` times its budget and while its time allows: "does not learn" must not be read
  off a run cut short before its schedule or its loss settled. Only the default budget is
  extended: a step count the user chose (``--steps``) is kept exactly.
- **Adaptive stop.** A run whose full budget would take longer than ``TARGET_SECONDS`` stops once
  at least ``EPOCHS`` training passes (when it has them) and ``MIN_STEPS`` steps were seen and its
  loss trend no longer changes: the same class (falling, flat, climbing, non-finite) over the last
  ``STABLE_WINDOWS`` windows. Fast runs keep the whole budget: it costs little and later symptoms
  (overfitting) need it.
"""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Any

from diagnose.child import faults
from diagnose.child.budget import Budget, BudgetExhausted

EPOCHS = 3
TARGET_SECONDS = 20.0  # of observation, for a slow script
TIMED_STEPS = (
    10  # the pace is read when this many steps ran (the first ones carry the sampled statistics)
)
MIN_BATCHES = 8  # a compressed pass is at least this long
MIN_STEPS = 30
WINDOW = 10
STABLE_WINDOWS = 3
MAX_EXTENSION = 3  # times the step budget, at most
EXTEND_BY = 0.5  # of the step budget, each time
RAMP = 1.05  # the LR this much above its value a window earlier: a warm-up still rising
MIN_FALL = 0.02  # the probe loss fell at least this share since the first checkpoint
KEEPS_PACE = 0.5  # ... and still falls at this share of its average pace or more: not settled


class Pacing:
    """Decides as the run goes how long each pass over a loader is and when observing is enough."""

    def __init__(self, state: Any, max_steps: int, adaptive: bool, compress: bool = True) -> None:
        self.state = state
        self.max_steps = max_steps
        self.adaptive = (
            adaptive  # the observed run stops early; a replay runs the steps it was given
        )
        self.compress = (
            compress  # never in a loop observed in the user's own process (diagnose.watch)
        )
        self.batches_per_pass: int | None = None
        self.extendable = False  # the budget is the default one, not a number the user chose

    @faults.entry("pacing")
    def pass_limit(self) -> int | None:
        """Batches a pass over any loader may take from now on (None: the loader's own length)."""
        return self.batches_per_pass

    @faults.entry("pacing")
    def extend(self, budget: Budget) -> None:
        """At the step budget: a few more steps while the warm-up or the fall is still on."""
        state, planned = self.state, self.max_steps
        if not (self.adaptive and self.extendable) or state.steps < budget.max_steps:
            return
        if budget.max_steps >= MAX_EXTENSION * planned or not self._still_moving():
            return
        more = max(1, int(EXTEND_BY * planned))
        pace = self._pace()
        if pace is not None and budget.remaining() < 2 * pace * more:
            return
        budget.max_steps += more
        note = (
            f"The observation was extended beyond {planned} steps (to {budget.max_steps} so far): "
            "the learning rate was still warming up or the probe loss still falling fast."
        )
        state.notes[:] = [
            n for n in state.notes if not n.startswith("The observation was extended")
        ]
        state.notes.append(note)

    def _still_moving(self) -> bool:
        lrs = self.state.lr_curve
        if len(lrs) > WINDOW and lrs[-1] > RAMP * lrs[-1 - WINDOW] > 0:
            return True
        return _warmed_up_lately(lrs) or _falling_fast(self.state.fit_curve)

    @faults.entry("pacing")
    def after_step(self) -> None:
        """At a step boundary: decide compression once; end an observation that has seen enough."""
        state = self.state
        if self.compress and self.batches_per_pass is None and state.steps == TIMED_STEPS:
            self.batches_per_pass = self._compression()
        reason = self._enough() if self.adaptive else None
        if reason is not None:
            state.notes.append(
                f"Observation stopped after {state.steps} of {self.max_steps} steps: {reason}."
            )
            raise BudgetExhausted(f"observation stopped early ({reason})")

    def _enough(self) -> str | None:
        state = self.state
        if (
            state.steps < MIN_STEPS or state.steps % WINDOW or not self._slow()
        ):  # cheap checks first: every step
            return None
        passes = state.training_passes()
        if passes is not None and passes <= EPOCHS:
            return None
        trend = self._stable_trend()
        return (
            f"the loss trend was {trend} for the last {STABLE_WINDOWS * WINDOW} steps"
            if trend
            else None
        )

    def _pace(self) -> float | None:
        """Seconds per step, from the steps after the first few (those carry sampled statistics)."""
        clock = self.state.step_clock[3:]
        gaps = sorted(b - a for a, b in itertools.pairwise(clock))
        return gaps[len(gaps) // 2] if gaps else None

    def _slow(self) -> bool:
        pace = self._pace()
        return pace is not None and pace * self.max_steps > TARGET_SECONDS

    def _compression(self) -> int | None:
        length, pace = self.state.training_loader_length(), self._pace()
        if not length or pace is None or pace <= 0:
            return None
        fits = min(self.max_steps, TARGET_SECONDS / pace) / EPOCHS
        if length <= fits:
            return None
        batches = max(MIN_BATCHES, int(fits))
        self.state.notes.append(
            f"Epochs were compressed: each pass over a data loader was cut to {batches} batches "
            f"(the training loader has {length}), so that {EPOCHS} epochs with their validation "
            "passes ran within the budget."
        )
        return batches

    def _stable_trend(self) -> str | None:
        """The trend class of each of the last windows, when they all agree."""
        needed = (STABLE_WINDOWS + 1) * WINDOW
        if len(self.state.loss_curve) < needed:
            return None
        values = self.state.loss_curve[-needed:]
        windows = [values[i : i + WINDOW] for i in range(0, needed, WINDOW)]
        trends = {_trend(before, after) for before, after in itertools.pairwise(windows)}
        return trends.pop() if len(trends) == 1 else None


def _warmed_up_lately(lrs: list[float]) -> bool:
    """The LR rose to its peak during the run and fewer steps have run since than the rise took:
    a model that has barely trained at its full rate is not yet judged (a one-cycle schedule
    ramps up over a third of its steps, then does most of its learning)."""
    if not lrs or lrs[0] <= 0:
        return False
    peak = max(range(len(lrs)), key=lrs.__getitem__)
    return lrs[peak] > RAMP * lrs[0] and len(lrs) < 2 * (peak + 1)


def _falling_fast(fit: list[tuple[int, float]]) -> bool:
    """The probe loss has fallen materially and still falls, over the last interval, at half its
    average pace or more: a slow steady fall (a small learning rate on a long schedule) is a run
    still learning, not one that settled."""
    if len(fit) < 3:
        return False
    (first_step, first), (before_step, before), (last_step, last) = fit[0], fit[-2], fit[-1]
    if not (first > 0 and before > 0 and last_step > before_step > first_step):
        return False
    recent = (before - last) / (last_step - before_step)
    average = (first - last) / (last_step - first_step)
    return first - last >= MIN_FALL * first and recent >= KEEPS_PACE * average > 0


def _trend(before: list[float], after: list[float]) -> str:
    if not all(math.isfinite(v) for v in after):
        return "non-finite"
    was, now = statistics.median(before), statistics.median(after)
    if not math.isfinite(was) or not was:
        return "non-finite" if not math.isfinite(was) else "flat"
    change = (now - was) / abs(was)
    return "falling" if change < -0.02 else "climbing" if change > 0.02 else "flat"
