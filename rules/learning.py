"""Does the run learn? The test a *healthy* verdict must pass.

A run is healthy only when it demonstrably learns: its training loss falls materially from where
it started and ends clearly below chance (the loss of predicting the class frequencies for a
classifier, of predicting the target mean for a regression); and no failure symptom of the rule
files fired (a climbing or NaN loss, a loss at chance, collapsed predictions, validation at chance).
A run that shows none of this is "not learning" even when no cause explains it: a wrong *healthy*
lets a broken run through a CI gate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from diagnose.evidence import Evidence
from diagnose.rules.detect_learning import MIN_CURVE, chance_loss
from diagnose.rules.engine import SymptomResult, evaluate
from diagnose.rules.findings import NotEvaluated, adversarial, finite_values, window
from diagnose.rules.loader import RuleBook

MATERIAL_DROP = 0.1  # of the starting loss
BELOW_CHANCE = 0.9  # the late loss must be under this fraction of the chance-level loss
ADVERSARIAL = (
    "optimizers take turns with losses of their own (adversarial training), whose losses are not "
    "expected to fall: judged by the absence of failure symptoms"
)


@dataclass
class Learning:
    """Whether the run learns, the numbers that say so, and the failure symptoms that fired."""

    learns: bool
    detail: str
    failures: list[SymptomResult] = field(default_factory=list)


def assess(evidence: Evidence, results: dict[str, SymptomResult]) -> Learning:
    failures = [r for r in results.values() if r.symptom.failure and r.status == "fired"]
    learns, detail = (True, ADVERSARIAL) if adversarial(evidence) else _loss_falls(evidence)
    return Learning(learns and not failures, detail, failures)


def learns(evidence: Evidence, book: RuleBook) -> Learning:
    """``assess`` with only the failure symptoms evaluated (for a replay's evidence)."""
    failing = {
        sid: evaluate(symptom, evidence)
        for sid, symptom in book.symptoms.items()
        if symptom.failure
    }
    return assess(evidence, failing)


def _loss_falls(evidence: Evidence) -> tuple[bool, str]:
    loss = evidence.observe.loss
    curve, what = (
        (loss.values, "training loss")
        if loss and loss.values
        else (_validation_curve(evidence), "validation loss")
    )
    values = finite_values(curve)
    if len(values) < MIN_CURVE:
        return False, f"too few finite {what} values ({len(values)}) to show that the run learns"
    early = statistics.median(window(values, 0, 0.1))
    late = statistics.median(window(values, 0.8, 1.0))
    drop = (early - late) / abs(early) if early else 0.0
    moved = (
        f"the {what} went from {early:.4g} to {late:.4g} over {len(values)} values ({-drop:+.0%})"
    )
    if drop < MATERIAL_DROP:
        return False, f"{moved}: it did not fall by {MATERIAL_DROP:.0%} or more"
    chance = _chance(evidence)
    if chance is not None and late >= BELOW_CHANCE * chance:
        return False, f"{moved}, but not clearly below chance level ({chance:.4g})"
    return True, moved + (f", below chance level ({chance:.4g})" if chance is not None else "")


def _validation_curve(evidence: Evidence) -> list[float]:
    loss = evidence.observe.loss
    return [p.loss for p in loss.eval_passes if p.loss is not None] if loss else []


def _chance(evidence: Evidence) -> float | None:
    if evidence.observe.loss is None:
        return None
    try:
        return chance_loss(evidence)
    except NotEvaluated:
        return None
