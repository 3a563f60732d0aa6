"""Step a copy of an LR scheduler on to the run's planned end, never touching the script's own.

The copy comes from ``deepcopy`` with the scheduler's optimizer mapped, in the memo, to a stand-in
that holds copies of the param groups' values and no parameters: every reference to the optimizer
inside the scheduler (the parts of a SequentialLR or ChainedScheduler, an lr_lambda object that
keeps one) lands on the stand-in, the parameters map to themselves (nothing large is copied), and
the script's optimizer, scheduler and parameters stay as they were.

Stepping costs a few microseconds, so a run planned for a million steps would take seconds: a
scheduler whose closed form (``_get_closed_form_lr``) is monotone in the step (StepLR, MultiStepLR,
ExponentialLR, LinearLR, ConstantLR, PolynomialLR) and still matches the LR it set is evaluated at
the ends of each span of the curve instead; any other is stepped one step at a time, until
``MAX_STEPS`` or a deadline. Warnings the copy raises are the copy's, not the script's: suppressed.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Iterator
from typing import Any

from torch.optim import lr_scheduler

from diagnose.probes.optimizer import number

MAX_POINTS = 200
MAX_STEPS = 1_000_000
CHECK_EVERY = 256  # steps between looks at the clock
HORIZONS = ("total_steps", "T_max", "total_iters")
MONOTONE = (
    lr_scheduler.StepLR,
    lr_scheduler.MultiStepLR,
    lr_scheduler.ExponentialLR,
    lr_scheduler.LinearLR,
    lr_scheduler.ConstantLR,
    lr_scheduler.PolynomialLR,
)


class Curve:
    """A schedule over ``total`` steps kept as at most ``MAX_POINTS`` spans of equal width: each
    span's first step and the largest LR within it. Steps are put in increasing order."""

    def __init__(self, total: int) -> None:
        self.width = max(1, math.ceil(total / MAX_POINTS))
        self.steps: list[int] = []
        self.lrs: list[float] = []

    def put(self, step: int, lr: float) -> None:
        span = (step - 1) // self.width
        if not self.steps or (self.steps[-1] - 1) // self.width < span:
            self.steps.append(span * self.width + 1)
            self.lrs.append(lr)
        elif lr > self.lrs[-1]:
            self.lrs[-1] = lr

    def spans(self, first: int, last: int) -> Iterator[tuple[int, int]]:
        """The parts of steps ``first..last`` that fall in one span each."""
        while first <= last:
            end = min(last, ((first - 1) // self.width + 1) * self.width)
            yield first, end
            first = end + 1


class StandIn:
    """What a scheduler touches of its optimizer: the param groups' values (``lr``, ``initial_lr``,
    and the momentum or betas that OneCycleLR and CyclicLR cycle too)."""

    def __init__(self, optimizer: Any) -> None:
        self.param_groups = [
            {**{k: copy.deepcopy(v) for k, v in group.items() if k != "params"}, "params": []}
            for group in optimizer.param_groups
        ]
        self.defaults = dict(getattr(optimizer, "defaults", {}))
        self.state: dict[Any, Any] = {}

    def step(self, *args: Any, **kwargs: Any) -> None:
        return None


def first_lr(optimizer: Any) -> float:
    """The first param group's LR as a float (a tensor LR too); NaN when there is none."""
    groups = getattr(optimizer, "param_groups", None)
    lr = number(groups[0].get("lr")) if groups else None
    return math.nan if lr is None else lr


def horizon(scheduler: Any) -> int | None:
    """The length the scheduler was given, in its steps: total_steps, T_max or total_iters."""
    for name in HORIZONS:
        value = getattr(scheduler, name, None)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def project(scheduler: Any, done: int, end: int, curve: Curve, deadline: float) -> str:
    """Put the LR of script steps ``done + 1 .. end`` of a copy of ``scheduler`` into ``curve``.
    Returns why the projection stopped before ``end``, "" when it did not."""
    optimizer = scheduler.optimizer
    stand_in = StandIn(optimizer)
    memo: dict[int, Any] = {id(optimizer): stand_in}
    memo.update((id(p), p) for group in optimizer.param_groups for p in group["params"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        twin = copy.deepcopy(scheduler, memo)
        if _closed_form_holds(twin, stand_in):
            offset = (
                twin.last_epoch - done
            )  # the scheduler's own step count at script step k is k + offset
            for first, last in curve.spans(done + 1, end):
                curve.put(first, _closed_form(twin, first + offset))
                curve.put(last, _closed_form(twin, last + offset))
            return ""
        return _step(twin, stand_in, done, end, curve, deadline)


def _closed_form_holds(twin: Any, stand_in: StandIn) -> bool:
    if type(twin) not in MONOTONE:  # a subclass may compute its LR otherwise
        return False
    try:
        lrs = twin._get_closed_form_lr()
        return all(
            math.isclose(float(lr), float(group["lr"]), rel_tol=1e-6, abs_tol=1e-12)
            for lr, group in zip(lrs, stand_in.param_groups, strict=True)
        )
    except (
        Exception
    ):  # another scheduler also sets this LR, or the private API changed: step instead
        return False


def _closed_form(twin: Any, epoch: int) -> float:
    twin.last_epoch = epoch
    return float(twin._get_closed_form_lr()[0])


def _step(twin: Any, stand_in: StandIn, done: int, end: int, curve: Curve, deadline: float) -> str:
    last = min(end, done + MAX_STEPS)
    for step in range(done + 1, last + 1):
        if (step - done) % CHECK_EVERY == 0 and time.perf_counter() > deadline:
            return f"time limit: projected to step {step - 1} of {end}"
        try:
            twin.step()
        except (
            Exception
        ) as error:  # e.g. OneCycleLR stepped past its total_steps: the script would crash there
            return f"the scheduler raised {type(error).__name__} at step {step}: {str(error)[:200]}"
        curve.put(step, first_lr(stand_in))
    return "" if last == end else f"projected to step {last} of {end} (at most {MAX_STEPS} steps)"
