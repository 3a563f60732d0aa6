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


def primary(
    fit: FitSection | None, min_points: int, *, from_start: bool = False
) -> tuple[str, list[Point]] | None:
    """The preferred probe set measured at ``min_points`` checkpoints or more, with its points.
    With ``from_start``, only a set measured at the first checkpoint (before the first update)
    qualifies: the validation batches are kept at the script's first validation pass, after
    training began, and a loss read from there cannot show how far it fell from the start."""
    first = fit.checkpoints[0].step if fit is not None and fit.checkpoints else None
    for name in PREFERRED:
        points = series(fit, name)
        if len(points) >= min_points and (not from_start or points[0].step == first):
            return name, points
    return None


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
