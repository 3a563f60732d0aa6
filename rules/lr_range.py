"""Reading an LR range test: where the loss falls fastest, where it is lowest, where it blows up,
and how far the user's learning rate is from the useful range."""

from __future__ import annotations

import math
from dataclasses import dataclass

from diagnose.probes.sections import LRRangeSection
from diagnose.rules.findings import NotEvaluated, Readable

MIN_POINTS = 8


@dataclass(frozen=True)
class LRAnalysis:
    user_lr: float
    suggested_lr: float
    steepest_lr: float
    min_loss_lr: float
    divergence_lr: float | None
    curve_lrs: tuple[float, ...] = ()
    curve_losses: tuple[float, ...] = ()  # smoothed

    @property
    def decades_off(self) -> float:
        """log10(user LR / suggested LR): positive when the user's LR is too high."""
        return math.log10(self.user_lr / self.suggested_lr)


def smooth(values: list[float], beta: float = 0.9) -> list[float]:
    """Exponential moving average with bias correction (as fastai's LR finder smooths)."""
    average, out = 0.0, []
    for k, value in enumerate(values, 1):
        average = beta * average + (1 - beta) * value
        out.append(average / (1 - beta**k))
    return out


def analyse(section: LRRangeSection, user_lr: float | None) -> LRAnalysis | None:
    pairs = [
        (lr, loss)
        for lr, loss in zip(section.lrs, section.losses)
        if math.isfinite(loss) and lr > 0
    ]
    if len(pairs) < MIN_POINTS or not user_lr:
        return None
    lrs, losses = [p[0] for p in pairs], smooth([p[1] for p in pairs])
    lowest = min(range(len(losses)), key=losses.__getitem__)
    slopes = [
        (losses[i + 1] - losses[i]) / math.log10(lrs[i + 1] / lrs[i]) for i in range(max(lowest, 1))
    ]
    steepest = min(range(len(slopes)), key=slopes.__getitem__)
    diverged = next(
        (lrs[i] for i in range(lowest, len(losses)) if losses[i] > 4 * losses[lowest]), None
    )
    if diverged is None and section.stopped.startswith("the loss diverged"):
        diverged = section.lrs[-1]
    return LRAnalysis(
        user_lr=user_lr,
        suggested_lr=lrs[_valley(losses[: lowest + 1])],
        steepest_lr=lrs[steepest],
        min_loss_lr=lrs[lowest],
        divergence_lr=diverged,
        curve_lrs=tuple(lrs),
        curve_losses=tuple(losses),
    )


def _valley(losses: list[float]) -> int:
    """Two thirds down the longest stretch over which the loss keeps falling (fastai's "valley")."""
    n = len(losses)
    length, start = [1] * n, list(range(n))
    for i in range(1, n):
        for j in range(i):
            if losses[j] > losses[i] and length[j] + 1 > length[i]:
                length[i], start[i] = length[j] + 1, start[j]
    end = max(range(n), key=length.__getitem__)
    return start[end] + int(2 * (end - start[end]) / 3)


def lr_analysis(ev: Readable) -> LRAnalysis:
    """The LR range test's reading against the script's learning rate (NotEvaluated without it)."""
    replay = ev.scenarios.get("lr_range")
    optimizer = ev.observe.optimizer
    if replay is None or replay.lr_range is None:
        raise NotEvaluated("the LR range test did not run")
    user_lr = optimizer.optimizers[0].lr if optimizer and optimizer.optimizers else None
    analysis = analyse(replay.lr_range, user_lr)
    if analysis is None:
        raise NotEvaluated("the LR range test gave too few finite losses")
    return analysis
