"""Tensor helpers shared by probes: finding tensors in batches and summarising them cheaply."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch

from diagnose.probes.sections import TensorSummary

MAX_FEATURES = 256
MAX_DISTINCT = 1000


def tensors_in(value: Any, limit: int = 8) -> list[torch.Tensor]:
    """The tensors in a batch-like structure (tensor, tuple, list, dict), depth first."""
    found: list[torch.Tensor] = []
    stack = [value]
    while stack and len(found) < limit:
        item = stack.pop(0)
        if isinstance(item, torch.Tensor):
            found.append(item)
        elif isinstance(item, Mapping):
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return found


def first_tensor(value: Any) -> torch.Tensor | None:
    found = tensors_in(value, limit=1)
    return found[0] if found else None


def as_float(value: Any) -> float | None:
    """A Python float for a scalar (tensor), or None when it is not one."""
    if isinstance(value, torch.Tensor):
        if value.numel() != 1:
            return None
        value = value.item()
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def feature_axis(t: torch.Tensor) -> int:
    """The axis holding features/channels: 1 for (N, F) and (N, C, ...), last for (N, T, F)."""
    return t.dim() - 1 if t.dim() == 3 else 1


class TensorAccumulator:
    """Running statistics over many batches of one role (inputs or targets)."""

    def __init__(self, track_distinct: bool = False) -> None:
        self.shape: list[int] = []
        self.dtype = ""
        self.samples = 0
        self.values = 0
        self.total = 0.0
        self.total_sq = 0.0
        self.min = math.inf
        self.max = -math.inf
        self.nan = 0
        self.inf = 0
        self.integer_valued = True
        self.distinct: set[float] | None = set() if track_distinct else None
        self.feature_sum: torch.Tensor | None = None
        self.feature_sq: torch.Tensor | None = None
        self.feature_count = 0

    def add(self, t: torch.Tensor) -> None:
        t = t.detach()
        if not self.shape:
            self.shape, self.dtype = list(t.shape), str(t.dtype).replace("torch.", "")
        if t.is_complex() or t.numel() == 0:
            return
        x = t.to("cpu", torch.float64)
        self.samples += x.shape[0] if x.dim() else 1
        good, clean = x, True
        if t.is_floating_point():
            nan_mask, inf_mask = torch.isnan(x), torch.isinf(x)
            self.nan += int(nan_mask.sum())
            self.inf += int(inf_mask.sum())
            clean = not (self.nan or self.inf)
            good = x if clean else x[~(nan_mask | inf_mask)]
        if good.numel():
            self._add_values(good)
        if x.dim() >= 2 and clean:
            self._add_features(x)

    def _add_values(self, good: torch.Tensor) -> None:
        self.values += good.numel()
        self.total += float(good.sum())
        self.total_sq += float((good * good).sum())
        low, high = torch.aminmax(good)
        self.min, self.max = min(self.min, float(low)), max(self.max, float(high))
        if self.integer_valued and not torch.equal(good, good.round()):
            self.integer_valued = False
        if self.distinct is not None:
            self.distinct.update(good.unique()[: MAX_DISTINCT + 1].tolist())
            if len(self.distinct) > MAX_DISTINCT:
                self.distinct = None

    def _add_features(self, x: torch.Tensor) -> None:
        axis = feature_axis(x)
        if x.shape[axis] > MAX_FEATURES:
            return
        per_feature = x.movedim(axis, 0).reshape(x.shape[axis], -1)
        sums, squares = per_feature.sum(1), (per_feature * per_feature).sum(1)
        if (
            self.feature_sum is None
            or self.feature_sq is None
            or self.feature_sum.shape != sums.shape
        ):
            self.feature_sum, self.feature_sq, self.feature_count = sums, squares, 0
        else:
            self.feature_sum = self.feature_sum + sums
            self.feature_sq = self.feature_sq + squares
        self.feature_count += per_feature.shape[1]

    def summary(self) -> TensorSummary | None:
        if not self.shape:
            return None
        mean = self.total / self.values if self.values else None
        std = (
            math.sqrt(max(self.total_sq / self.values - mean * mean, 0.0))
            if mean is not None
            else None
        )
        feature_mean: list[float] = []
        feature_std: list[float] = []
        if self.feature_sum is not None and self.feature_sq is not None and self.feature_count:
            fm = self.feature_sum / self.feature_count
            fs = (self.feature_sq / self.feature_count - fm * fm).clamp_min(0).sqrt()
            feature_mean, feature_std = (
                [round(v, 6) for v in fm.tolist()],
                [round(v, 6) for v in fs.tolist()],
            )
        return TensorSummary(
            shape=self.shape,
            dtype=self.dtype,
            count=self.samples,
            min=self.min if self.values else None,
            max=self.max if self.values else None,
            mean=mean,
            std=std,
            nan=self.nan,
            inf=self.inf,
            integer_valued=self.integer_valued and self.values > 0,
            distinct=len(self.distinct) if self.distinct is not None else None,
            feature_mean=feature_mean,
            feature_std=feature_std,
        )
