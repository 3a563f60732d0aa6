"""Detectors for what a logged run shows: where the evidence came from, and the LR schedule
against the loss curve."""

from __future__ import annotations

import math

from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    Params,
    View,
    decades,
    detector,
    finite_values,
    median,
    observed,
    scaled,
)

LOGS_SCENARIO = "logs"


@detector
def metrics_only(ev: View) -> Finding:
    """The evidence is a log of metrics, with no model, gradients or data to separate causes."""
    if ev.observe.run.scenario != LOGS_SCENARIO:
        return Finding.no("the script ran under observation")
    return Finding.yes(
        1.0, "diagnosed from logged metrics only: no model, gradient or data evidence"
    )


class LrRoseBeforeDivergence(Params):
    """How far the LR must have risen by the blow-up, and what a blow-up is."""

    min_rise: float
    min_values: int
    early_points: int
    blowup_factor: float
    full_strength_decades: float


@detector
def lr_rose_before_divergence(ev: View, rule: LrRoseBeforeDivergence) -> Finding:
    """The learning rate at the loss's blow-up is several times the starting one (warmup to too high
    a peak, a cyclic schedule's top): the loss was fine until the step size grew."""
    loss, optimizer = observed(ev, "loss"), observed(ev, "optimizer")
    if len(optimizer.lr_values) < 2 or len(loss.values) < rule.min_values:
        raise NotEvaluated(f"fewer than {rule.min_values} steps with a loss and a learning rate")
    blowup = _blowup_step(loss.steps, loss.values, rule)
    if blowup is None:
        return Finding.no("the loss did not blow up")
    start = optimizer.lr_values[0]
    at = [lr for step, lr in zip(optimizer.lr_steps, optimizer.lr_values) if step <= blowup]
    if not at or start <= 0 or at[-1] / start < rule.min_rise:
        return Finding.no(
            f"learning rate {start:.3g} at the start, {at[-1] if at else start:.3g} at the blow-up"
        )
    return Finding.yes(
        scaled(decades(at[-1] / start), decades(rule.min_rise), rule.full_strength_decades),
        f"the loss blew up at step {blowup}, when the learning rate had risen from {start:.3g} "
        f"to {at[-1]:.3g}",
        where="optimizer",
    )


def _blowup_step(steps: list[int], values: list[float], rule: LrRoseBeforeDivergence) -> int | None:
    """The first step whose loss is non-finite or ``blowup_factor`` times the curve's early
    level (the median of its first ``early_points`` values)."""
    early = median(finite_values(values[: rule.early_points]))
    for step, value in zip(steps, values):
        if not math.isfinite(value) or (early and early > 0 and value > rule.blowup_factor * early):
            return step
    return None
