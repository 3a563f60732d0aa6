"""Reading the fit probe (``Evidence.observe.fit``): the model measured on fixed probe batches at
checkpoints, in eval mode, per sample in the loss's own units.

Symptoms that judge whether the model learns, sits at chance, memorizes, or fits its training
data worse than its validation data read these numbers when the run has them: dropout,
augmentation, batch-norm noise and the script's reduction (a per-batch sum against a per-sample
mean) do not reach them. The script's running loss then only describes the curve's shape.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from diagnose.probes.sections import FitCheckpoint, FitSection

# The probe sets in the order a judgement of "does it learn" prefers them: rows drawn from the
# whole training set (order-free), then the script's validation batches, then its first batches.
PREFERRED = ("sampled", "val", "train")
# The training-side probe sets, order-free rows first: the first batches of a training set sorted
# by class hold one class, which a model trained through the rest is bound to fit worse.
TRAINING_ROWS = ("sampled", "train")


@dataclass(frozen=True)
class Point:
    step: int
    loss: float
    accuracy: float | None


def series(fit: FitSection | None, name: str) -> list[Point]:
    """The finite measurements of probe set ``name``, in step order."""
    if fit is None:
        return []
    found = []
    for checkpoint in fit.checkpoints:
        loss = getattr(checkpoint, name)
        if loss is not None and math.isfinite(loss):
            found.append(Point(checkpoint.step, loss, getattr(checkpoint, f"{name}_accuracy")))
    return found


def primary(fit: FitSection | None, min_points: int) -> tuple[str, list[Point]] | None:
    """The preferred probe set measured at ``min_points`` checkpoints or more, with its points,
    among those measured from the first checkpoint on (validation batches exist only once the
    script first validates: a set that starts later has missed the first fall)."""
    found = [(name, series(fit, name)) for name in PREFERRED]
    found = [(name, points) for name, points in found if len(points) >= min_points]
    if not found:
        return None
    first = min(points[0].step for _, points in found)
    return next((name, points) for name, points in found if points[0].step == first)


def late_fall(points: list[Point], late_start: float) -> tuple[float, float] | None:
    """The probe loss at the start and at the end of the run's last stretch (from ``late_start``
    of its steps on), read by steps rather than checkpoints, so a slow steady fall over many
    closely spaced checkpoints still shows; None with fewer than two points there."""
    if len(points) < 2:
        return None
    begin = late_start * points[-1].step
    stretch = [p for p in points if p.step >= begin]
    if len(stretch) < 2:
        stretch = points[-2:]
    return stretch[0].loss, stretch[-1].loss


def still_falling(points: list[Point], late_start: float, min_fall: float) -> bool:
    """The probe loss still fell by ``min_fall`` or more over the run's last stretch."""
    found = late_fall(points, late_start)
    return found is not None and found[0] > 0 and (found[0] - found[1]) / found[0] >= min_fall


def since(points: list[Point]) -> str:
    """When a probe series starts, as a reader needs it."""
    return "before the first update" if points[0].step == 0 else f"at step {points[0].step}"


def paired(
    fit: FitSection | None, first: str, second: str
) -> list[tuple[FitCheckpoint, float, float]]:
    """Checkpoints where both probe sets were measured (finite), with their two losses."""
    if fit is None:
        return []
    pairs = []
    for checkpoint in fit.checkpoints:
        a, b = getattr(checkpoint, first), getattr(checkpoint, second)
        if a is not None and b is not None and math.isfinite(a) and math.isfinite(b):
            pairs.append((checkpoint, a, b))
    return pairs


def chance(fit: FitSection | None, name: str) -> float | None:
    """The per-sample loss of the best constant prediction on probe set ``name``."""
    if fit is None:
        return None
    value = fit.task.chance.get(name)
    return value if value is not None and math.isfinite(value) and value > 0 else None


def late(points: list[Point], share: float) -> list[Point]:
    """The last ``share`` of the points (at least one)."""
    count = max(1, math.ceil(len(points) * share))
    return points[-count:]


PROBE_SETS = {
    "sampled": "rows drawn from the training set",
    "val": "the validation batches",
    "train": "the first training batches",
}
