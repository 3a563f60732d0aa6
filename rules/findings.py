"""What a detector returns, and helpers detectors share.

A detector measures one thing in the Evidence and compares it with the thresholds its rule gives
(``params`` in the YAML). It returns a ``Finding``; it raises ``NotEvaluated`` when the evidence it
needs is absent, so that a missing measurement is reported, never passed silently.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Concatenate, TypeVar

from diagnose.evidence import Evidence

# A detector takes the Evidence, then its rule's ``params`` as keyword arguments.
Detector = Callable[Concatenate[Evidence, ...], "Finding"]
DetectorT = TypeVar("DetectorT", bound=Detector)
T = TypeVar("T")


class NotEvaluated(Exception):
    """The evidence a detector needs is missing; the message says what is missing."""


@dataclass(frozen=True)
class Finding:
    """A detector's verdict: did the symptom show, how strongly (0..1), the numbers behind it."""

    fired: bool
    strength: float = 0.0
    detail: str = ""
    where: str | None = None

    @classmethod
    def yes(cls, strength: float, detail: str, where: str | None = None) -> Finding:
        return cls(True, max(0.05, min(1.0, strength)), detail, where)

    @classmethod
    def no(cls, detail: str = "") -> Finding:
        return cls(False, 0.0, detail)


def detector(function: DetectorT) -> DetectorT:
    """Mark a function as part of the detector library (rules name it in ``detector:``)."""
    function.is_detector = True  # type: ignore[attr-defined]
    return function


def require(value: T | None, what: str) -> T:
    """The value, or NotEvaluated when it is missing."""
    if value is None or value == [] or value == {}:
        raise NotEvaluated(f"no {what} was observed")
    return value


def finite_values(values: Sequence[float | None]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def mean(values: Sequence[float]) -> float | None:
    return statistics.fmean(values) if values else None


def window(values: Sequence[float], start: float, end: float) -> list[float]:
    """The slice of a curve between two fractions of its length (at least one value)."""
    n = len(values)
    lo, hi = int(n * start), max(int(n * end), int(n * start) + 1)
    return list(values[lo:hi])


def decades(ratio: float) -> float:
    """How many powers of ten a ratio is away from 1."""
    return abs(math.log10(ratio)) if ratio > 0 else math.inf


def scaled(value: float, low: float, high: float) -> float:
    """Map value from [low, high] onto a strength in [0.5, 1] (clamped)."""
    if high <= low:
        return 1.0
    return 0.5 + 0.5 * max(0.0, min(1.0, (value - low) / (high - low)))


def observed(ev: Evidence, section: str) -> Any:
    """A section of the observed run, or NotEvaluated when the probe produced none."""
    return require(getattr(ev.observe, section), f"{section} evidence")


def adversarial(ev: Evidence) -> bool:
    """Optimizers take turns, each with a loss of its own (a GAN's generator and critic): their
    losses play a game and are not expected to fall, so a falling loss cannot show learning."""
    book = ev.observe.bookkeeping
    if book is None or book.steps < 10:
        return False
    return book.optimizer_switches >= 0.5 * book.steps and book.backward_calls >= 0.9 * book.steps
