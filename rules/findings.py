"""What a detector is, what it sees, what it returns, and helpers detectors share.

A detector is a function from a ``View`` of the evidence (only the sections its rule declares) and
its typed thresholds (a ``Params`` model, every field set by the rule file: no threshold lives in
code) to a ``Finding``. It raises ``NotEvaluated`` when the evidence it needs is absent, so that a
missing measurement is reported, never passed silently.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast, get_type_hints

from pydantic import BaseModel, ConfigDict

from diagnose.evidence import Evidence, ObservedRun, ScenarioRun

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


class Params(BaseModel):
    """A detector's thresholds. Subclasses name them without defaults: each is set once, in the rule
    file, with its reason beside it; the loader rejects a rule that misses one, names an unknown one
    or gives one of the wrong type (strict: a string is no number)."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class NoParams(Params):
    """For detectors that judge without a threshold (an exception raised, a graph that is cut)."""


class UndeclaredEvidence(Exception):
    """A detector read a section its rule does not declare in ``needs`` or ``uses``."""


class Readable(Protocol):
    """What helpers shared by detectors and the rest of the rules read: a ``View`` or the whole
    ``Evidence``."""

    observe: ObservedRun
    scenarios: dict[str, ScenarioRun]


class View:
    """The evidence one symptom may read: the sections its rule declares, ``needs`` (the rule is not
    evaluated without them) and ``uses`` (read when present). Reading any other section raises
    ``UndeclaredEvidence``: a rule's declaration is the whole of what its detector depends on."""

    def __init__(self, evidence: Evidence, sections: Collection[str]) -> None:
        self.script, self.args = evidence.script, evidence.args
        # Typed as what it stands in for: detectors read it like the run and replays it guards.
        self.observe = cast(ObservedRun, _Sections(evidence.observe, sections))
        self.scenarios = cast(dict[str, ScenarioRun], _Replays(evidence.scenarios, sections))


class _Sections:
    """The observed run's sections, as far as they are declared."""

    def __init__(self, run: ObservedRun, sections: Collection[str]) -> None:
        self._run, self._sections = run, frozenset(sections)

    def __getattr__(self, name: str) -> Any:
        if name in ObservedRun.model_fields and name not in self._sections:
            raise UndeclaredEvidence(f"reads the '{name}' section, which its rule does not declare")
        return getattr(self._run, name)


class _Replays(Mapping[str, ScenarioRun]):
    """The replays that ran, as far as they are declared."""

    def __init__(self, replays: dict[str, ScenarioRun], sections: Collection[str]) -> None:
        self._replays, self._sections = replays, frozenset(sections)

    def _check(self, name: str) -> None:
        if name not in self._sections:
            raise UndeclaredEvidence(f"reads the '{name}' replay, which its rule does not declare")

    def __getitem__(self, name: str) -> ScenarioRun:
        self._check(name)
        return self._replays[name]

    def __contains__(self, name: object) -> bool:
        self._check(str(name))
        return name in self._replays

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._replays if name in self._sections)

    def __len__(self) -> int:
        return sum(1 for _ in self)


@dataclass(frozen=True)
class Detector:
    """A function of the detector library, and the model of the thresholds it takes."""

    name: str
    function: Callable[..., Finding]
    params: type[Params]

    def __call__(self, view: View, params: Params) -> Finding:
        return self.function(view) if self.params is NoParams else self.function(view, params)


def detector(function: Callable[..., Finding]) -> Callable[..., Finding]:
    """Mark a function as part of the detector library (rules name it in ``detector:``). Its
    thresholds are the ``Params`` model its second parameter is annotated with (none without)."""
    hints = get_type_hints(function)
    hints.pop("return", None)
    models = [
        hint for hint in hints.values() if isinstance(hint, type) and issubclass(hint, Params)
    ]
    function.detector_params = models[0] if models else NoParams  # type: ignore[attr-defined]
    return function


def library(*functions: Callable[..., Finding]) -> dict[str, Detector]:
    """The detectors among ``functions``, by name."""
    return {
        fn.__name__: Detector(fn.__name__, fn, fn.detector_params)
        for fn in functions
        if hasattr(fn, "detector_params")
    }


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


def observed(ev: Readable, section: str) -> Any:
    """A section of the observed run, or NotEvaluated when the probe produced none."""
    return require(getattr(ev.observe, section), f"{section} evidence")


class Adversarial(Params):
    """When optimizers take turns as in a game (shared set ``adversarial``)."""

    min_steps: int
    min_switch_share: float
    min_backward_share: float


class Curve(Params):
    """How a loss curve is read (shared set ``curve``): how many values show a trend, and which
    stretches are where the run started and where it ended up."""

    min_values: int
    early_end: float
    late_start: float


class CurveReading(Curve, Adversarial):
    """A training curve, read unless it is a game's."""


class Horizon(Params):
    """Whether the observation saw enough of the run (shared set ``horizon``): a learning rate
    still warming up at its end, a probe loss still falling."""

    ramp: float
    ramp_window: int
    min_late_fall: float
    min_checkpoints: int


class Verdict(CurveReading, Horizon):
    """How the healthy verdict reads a run: its curve, and whether the horizon covered enough."""


def warming_up(lrs: Sequence[float], rule: Horizon) -> bool:
    """The learning rate was still rising when the observation ended (a warm-up)."""
    return len(lrs) > rule.ramp_window and lrs[-1] > rule.ramp * lrs[-1 - rule.ramp_window] > 0


def adversarial(ev: Readable, rule: Adversarial) -> bool:
    """Optimizers take turns, each with a loss of its own (a GAN's generator and critic): their
    losses play a game and are not expected to fall, so a falling loss cannot show learning."""
    book = ev.observe.bookkeeping
    if book is None or book.steps < rule.min_steps:
        return False
    return (
        book.optimizer_switches >= rule.min_switch_share * book.steps
        and book.backward_calls >= rule.min_backward_share * book.steps
    )


def early(values: Sequence[float], rule: Curve) -> float:
    """Where a curve started: the median of its first stretch."""
    return statistics.median(window(values, 0, rule.early_end))


def late(values: Sequence[float], rule: Curve) -> float:
    """Where a curve ended up: the median of its last stretch."""
    return statistics.median(window(values, rule.late_start, 1))
