"""Per-symptom tests without a training run: evidence built by hand, judged by the real rules.

Each family's test module (``tests/test_symptoms_*.py``) lists ``Case``s: a symptom of the rule
files, a small Evidence that holds just what that symptom reads, whether it must fire, and the
detail it must give, word for word (numbers, signs and units are what a report shows). Every
symptom has at least one case that fires and one near miss that stays clear; the near miss is the
point: a dropout-sized gap between training and validation, a head narrower than the classes, a
per-batch sum against a per-sample mean. ``tests/test_symptom_contract.py`` checks that coverage.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from diagnose.evidence import Evidence, ObservedRun, RunInfo, ScenarioRun
from diagnose.probes.sections import FitCheckpoint, FitSection, InterventionSection, TaskInfo
from diagnose.rules.engine import SymptomResult, evaluate
from diagnose.rules.loader import RuleBook


@dataclass(frozen=True)
class Case:
    """One judgement a symptom must make: on ``evidence`` it is ``status`` (fired, clear or
    not_evaluated) with exactly this ``detail`` (or, for a regular expression, one matching it)."""

    name: str
    symptom: str
    evidence: Evidence
    status: str
    detail: str

    @property
    def id(self) -> str:
        return f"{self.symptom}-{self.name}"


def fires(name: str, symptom: str, evidence: Evidence, detail: str) -> Case:
    return Case(name, symptom, evidence, "fired", detail)


def clear(name: str, symptom: str, evidence: Evidence, detail: str) -> Case:
    return Case(name, symptom, evidence, "clear", detail)


def unknown(name: str, symptom: str, evidence: Evidence, detail: str) -> Case:
    """The evidence cannot tell: the symptom is not evaluated, with the reason as its detail."""
    return Case(name, symptom, evidence, "not_evaluated", detail)


def judged(case: Case, book: RuleBook) -> SymptomResult:
    """The symptom evaluated on the case's evidence, with its rule's own parameters."""
    return evaluate(book.symptoms[case.symptom], case.evidence)


def check(case: Case, book: RuleBook) -> None:
    result = judged(case, book)
    got, expected = (result.status, result.detail), (case.status, case.detail)
    assert got == expected, f"\n     got: {got}\nexpected: {expected}"


# -- builders --------------------------------------------------------------------------------


def run_info(scenario: str = "observe", status: str = "completed", **fields: Any) -> RunInfo:
    fields.setdefault("steps", 200)
    fields.setdefault("backward_calls", fields["steps"])
    return RunInfo(scenario=scenario, status=status, **fields)


def evidence(
    *, run: RunInfo | None = None, scenarios: dict[str, ScenarioRun] | None = None, **sections: Any
) -> Evidence:
    """An Evidence whose observed run holds ``sections`` (the probes' dataclasses, by name)."""
    return Evidence(
        script="train.py",
        observe=ObservedRun(run=run or run_info(), **sections),
        scenarios=scenarios or {},
    )


def replay(name: str, activated_at_step: int = 0, **sections: Any) -> ScenarioRun:
    """A replay's run record, as the agent stores it under ``evidence.scenarios[name]``."""
    return ScenarioRun(
        run=run_info(name),
        intervention=InterventionSection(name=name, activated_at_step=activated_at_step),
        **sections,
    )


def curve(start: float, end: float, points: int = 100) -> list[float]:
    """A loss curve falling (or rising) geometrically from ``start`` to ``end``."""
    if points == 1:
        return [start]
    ratio = (end / start) ** (1 / (points - 1)) if start > 0 and end > 0 else math.nan
    if math.isnan(ratio):
        return [start + (end - start) * i / (points - 1) for i in range(points)]
    return [start * ratio**i for i in range(points)]


def flat(value: float, points: int = 100) -> list[float]:
    return [value] * points


def fit(task: TaskInfo, **sets: Sequence[float | tuple[float, float]]) -> FitSection:
    """A fit probe measured at checkpoints 25 steps apart: per probe set (train, val, sampled),
    its per-sample loss at each, or (loss, accuracy); 64 samples per set."""
    count = max(len(values) for values in sets.values())
    checkpoints = []
    for index in range(count):
        fields: dict[str, float] = {}
        for name, values in sets.items():
            if index < len(values):
                value = values[index]
                loss, accuracy = value if isinstance(value, tuple) else (value, None)
                fields[name] = loss
                if accuracy is not None:
                    fields[f"{name}_accuracy"] = accuracy
        checkpoints.append(FitCheckpoint(step=25 * index, **fields))
    return FitSection(task=task, samples=dict.fromkeys(sets, 64), checkpoints=checkpoints)
