"""Schedule probe: the LR schedulers the script steps, and each one's schedule over the whole run.

An observed run sees a few hundred steps of a schedule planned for thousands: a per-batch StepLR
whose rate reaches ~0 at a third of the run, or a PolynomialLR given a tenth of the steps the loop
takes, collapses after the observation has ended. At the end of the run each scheduler is stepped
on a copy (``projection``) to the run's planned end, counted in the script's ``scheduler.step()``
calls:

- **Steps per epoch.** The scheduler's steps between the starts of consecutive passes over the
  training loader. Stepped more than ``PER_EPOCH_MAX`` times a pass, it follows the batches: its
  steps per batch times the loader's full length (a compressed run's passes are shorter than the
  script's). Otherwise it is stepped per epoch, that many times a pass.
- **Epochs.** The length of the loop around the training passes, read from the live frames when a
  pass begins (``diagnose.child.loopbound``). When it cannot be read: the passes the observed run
  saw end (the script began another after each), a lower bound (a collapse early in them is early in
  any longer run), or the scheduler's own length (total_steps, T_max, total_iters) when that is
  longer: a schedule is taken to be planned for the length it was given, unless the loop says
  otherwise.
- Without a training loader only the scheduler's own length says how long the run is.

The schedule describes the run only while the LR each optimizer step uses is the scheduler's (up to
a constant factor, as a replay that scales the LR applies): when another scheduler, the script
itself or a replay holding the LR sets it too, nothing is projected. ReduceLROnPlateau lowers its LR
on a metric the script passes it: it has no future to project either.
"""

from __future__ import annotations

import itertools
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from torch.optim import lr_scheduler

from diagnose.child.loopbound import planned_passes
from diagnose.probes.base import Probe
from diagnose.probes.optimizer import number
from diagnose.probes.projection import Curve, first_lr, horizon, project
from diagnose.probes.sections import ProjectedSchedule, ScheduleSection

# scheduler steps per pass of a per-epoch schedule; a compressed pass has at least 8 batches
PER_EPOCH_MAX = 1.5
PROJECTION_SECONDS = 0.5  # for all the schedulers of a run together


class Unplanned(Exception):
    """The run's planned length cannot be told; the message says why."""


@dataclass(frozen=True)
class PassStart:
    """What had happened when a pass over a loader began."""

    batches: int  # batches taken from this loader before
    scheduler_steps: int  # the scheduler's steps before
    loop: int | None  # the length of the loop around the pass, when readable


@dataclass(frozen=True)
class Plan:
    steps: int
    per_epoch: float | None = None
    epochs: int | None = None
    source: str = "horizon"


@dataclass
class _Tracked:
    scheduler: Any
    lrs: list[float] = field(
        default_factory=list
    )  # the first group's LR after each of the script's steps
    # the LR each optimizer step used over the one this scheduler had set: constant while the
    # scheduler alone shapes the LR (a constant factor, as a replay that scales the LR applies,
    # keeps the shape)
    ratios: tuple[float, float] = (math.inf, -math.inf)

    def compare(self, used: float, scheduled: float) -> None:
        if math.isnan(used) or math.isnan(scheduled):
            return
        ratio = 1.0 if used == scheduled else used / scheduled if scheduled else math.inf
        self.ratios = (min(self.ratios[0], ratio), max(self.ratios[1], ratio))

    @property
    def shapes_lr(self) -> bool:
        low, high = self.ratios
        return high < low or math.isclose(low, high, rel_tol=1e-6)


class ScheduleProbe(Probe):
    name = "schedule"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.tracked: dict[int, _Tracked] = {}
        # per loader, at each pass start: (batches before, each scheduler's steps before, loop
        # length)
        self.passes: dict[int, list[tuple[int, dict[int, int], int | None]]] = {}

    def on_scheduler_step(self, scheduler: Any) -> None:
        tracked = self.tracked.setdefault(id(scheduler), _Tracked(scheduler))
        tracked.lrs.append(first_lr(getattr(scheduler, "optimizer", None)))

    def on_step_pre(self, optimizer: Any) -> None:
        for tracked in self.tracked.values():
            if getattr(tracked.scheduler, "optimizer", None) is optimizer:
                tracked.compare(first_lr(optimizer), _scheduled_lr(tracked.scheduler))

    def on_loader_iter(self, loader: Any) -> None:
        record = self.state.loaders.get(id(loader))
        self.passes.setdefault(id(loader), []).append(
            (
                record.batches if record else 0,
                {key: len(t.lrs) for key, t in self.tracked.items()},
                planned_passes(sys._getframe(1), self.state.user.is_user_file),
            )
        )

    def finish(self) -> ScheduleSection:
        deadline = time.perf_counter() + PROJECTION_SECONDS
        found = self.state.training_loader()
        marks = self.passes.get(id(found[0]), []) if found else []
        batches, length = (found[1].batches if found else 0), self.state.training_loader_length()
        section = ScheduleSection()
        for key, tracked in self.tracked.items():
            starts = [PassStart(before, steps.get(key, 0), loop) for before, steps, loop in marks]
            section.schedulers.append(_schedule(tracked, starts, batches, length, deadline))
        return section


def _schedule(
    tracked: _Tracked, starts: list[PassStart], batches: int, length: int | None, deadline: float
) -> ProjectedSchedule:
    scheduler, done = tracked.scheduler, len(tracked.lrs)
    optimizer = getattr(scheduler, "optimizer", None)
    record = ProjectedSchedule(
        cls=type(scheduler).__name__,
        observed_steps=done,
        horizon=horizon(scheduler),
        base_lr=number(optimizer.param_groups[0].get("initial_lr")) if optimizer else None,
    )
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        record.note = (
            "it lowers the LR when a metric it is given stops improving: its future "
            "cannot be projected"
        )
        return record
    if not tracked.shapes_lr:
        record.note = (
            "the optimizer stepped with other LRs than this scheduler set (another scheduler, the "
            "script or a replay sets them too): the schedule alone does not describe the run"
        )
        return record
    try:
        plan = plan_steps(starts, PassStart(batches, done, None), length, record.horizon)
    except Unplanned as reason:
        record.note = str(reason)
        return record
    record.planned_steps, record.steps_per_epoch = plan.steps, plan.per_epoch
    record.planned_epochs, record.planned_from = plan.epochs, plan.source
    curve = Curve(max(plan.steps, done))
    for step, lr in enumerate(tracked.lrs, 1):
        curve.put(step, lr)
    if plan.steps > done:
        try:
            record.stopped = project(scheduler, done, plan.steps, curve, deadline)
        except (
            Exception
        ) as error:  # the scheduler could not be copied: only the observed part is known
            record.stopped = (
                f"the scheduler could not be copied: {type(error).__name__}: {str(error)[:200]}"
            )
    record.steps, record.lrs = curve.steps, curve.lrs
    return record


def _scheduled_lr(scheduler: Any) -> float:
    try:
        lr = number(scheduler.get_last_lr()[0])
    except Exception:  # a scheduler without get_last_lr: unknown
        lr = None
    return math.nan if lr is None else lr


def plan_steps(
    starts: list[PassStart], now: PassStart, length: int | None, own: int | None
) -> Plan:
    """The scheduler steps the whole run plans, from the pass starts over the training loader and
    the state ``now`` (see the module's docstring); ``own`` is the scheduler's own length."""
    if not starts:
        if own:
            return Plan(own)
        raise Unplanned(
            "no DataLoader was trained on and the scheduler has no length of its own: "
            "the run's planned length is unknown"
        )
    per_epoch = _per_epoch(starts, now, length)
    loop = next((start.loop for start in reversed(starts) if start.loop), None)
    if loop is not None and loop >= len(starts):
        return Plan(round(starts[0].scheduler_steps + loop * per_epoch), per_epoch, loop, "loop")
    finished = (
        len(starts) - 1
    )  # the script began another pass after each of these: it runs them whole
    steps = max(round(starts[0].scheduler_steps + finished * per_epoch), now.scheduler_steps)
    if own and own > steps:
        return Plan(own, per_epoch)
    return Plan(steps, per_epoch, finished or None, "passes")


def _per_epoch(starts: list[PassStart], now: PassStart, length: int | None) -> float:
    marks = [*starts, now]
    spans = [
        (b.batches - a.batches, b.scheduler_steps - a.scheduler_steps)
        for a, b in itertools.pairwise(marks)
    ]
    whole = spans[:-1]  # the last pass is still going
    batches, stepped = sum(b for b, _ in whole), sum(s for _, s in whole)
    if whole and stepped <= PER_EPOCH_MAX * len(whole):
        if not stepped:
            raise Unplanned(
                "the scheduler was not stepped during the passes over the training data"
            )
        return stepped / len(whole)
    if not whole:
        batches, stepped = spans[-1]
    if stepped < 2 or not batches:
        raise Unplanned(
            "less than one pass over the training data was observed: how often the scheduler is "
            "stepped per epoch is unknown"
        )
    full = length or (batches / len(whole) if whole else None)
    if not full:
        raise Unplanned("the training loader has no length and no whole pass over it was observed")
    return stepped / batches * full
