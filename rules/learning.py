"""Does the run learn? The test a *healthy* verdict must pass.

A run is healthy only when it demonstrably learns, and no failure symptom of the rule files fired
(a climbing or NaN loss, a loss at chance, collapsed predictions, validation at chance). Learning
is read on the fit probe when the run has it: the model on fixed batches, in eval mode, per sample,
from before the first update to the end. Its loss must fall materially and end clearly below
chance (the best constant prediction for the probe's task: the class frequencies, the next-token
frequencies, the mean target or image); a loss that fell materially and still falls fast at the
end, short of chance, is learning, not yet past chance. Without the probe, the running training
loss is read the same way. A run that shows none of this is "not learning" even when no cause
explains it: a wrong *healthy* lets a broken run through a CI gate.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from diagnose.evidence import Evidence
from diagnose.rules.detect_learning import chance_loss
from diagnose.rules.engine import SymptomResult, evaluate
from diagnose.rules.findings import (
    CurveReading,
    NotEvaluated,
    Verdict,
    adversarial,
    early,
    finite_values,
    late,
)
from diagnose.rules.fit import PROBE_SETS, Point, primary, since, still_falling
from diagnose.rules.fit import chance as fit_chance
from diagnose.rules.fit import late as probe_late
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


def assess(evidence: Evidence, results: dict[str, SymptomResult], reading: Verdict) -> Learning:
    """Whether the run learns; ``reading``: how a run is read, as the rule book sets it."""
    failures = [r for r in results.values() if r.symptom.failure and r.status == "fired"]
    probe = primary(evidence.observe.fit, reading.min_checkpoints)
    if adversarial(evidence, reading):
        learns, detail = True, ADVERSARIAL
    elif probe is not None:
        learns, detail = _probe_falls(evidence, *probe, reading)
    else:
        learns, detail = _loss_falls(evidence, reading)
    return Learning(learns and not failures, detail, failures)


def _probe_falls(
    evidence: Evidence, name: str, points: list[Point], reading: Verdict
) -> tuple[bool, str]:
    start = points[0].loss
    end = statistics.median(p.loss for p in probe_late(points, 1 - reading.late_start))
    drop = (start - end) / abs(start) if start else 0.0
    where = PROBE_SETS[name]
    moved = (
        f"on {where} (fixed, in eval mode) the loss went from {start:.4g} per sample "
        f"{since(points)} to {end:.4g} at step {points[-1].step} ({-drop:+.0%})"
    )
    if drop < MATERIAL_DROP:
        return False, f"{moved}: it did not fall by {MATERIAL_DROP:.0%} or more"
    level = fit_chance(evidence.observe.fit, name)
    if level is None or end < BELOW_CHANCE * level:
        return True, moved + (f", below chance level ({level:.4g})" if level is not None else "")
    if still_falling(points, reading.late_start, reading.min_late_fall):
        return True, f"{moved}: learning, not yet past chance level ({level:.4g}), still falling"
    return False, f"{moved}, but not clearly below chance level ({level:.4g})"


def learns(evidence: Evidence, book: RuleBook) -> Learning:
    """``assess`` with only the failure symptoms evaluated (for a replay's evidence)."""
    failing = {
        sid: evaluate(symptom, evidence)
        for sid, symptom in book.symptoms.items()
        if symptom.failure
    }
    return assess(evidence, failing, book.reading)


def _loss_falls(evidence: Evidence, reading: CurveReading) -> tuple[bool, str]:
    loss = evidence.observe.loss
    curve, what = (
        (loss.values, "training loss")
        if loss and loss.values
        else (_validation_curve(evidence), "validation loss")
    )
    values = finite_values(curve)
    if len(values) < reading.min_values:
        return False, f"too few finite {what} values ({len(values)}) to show that the run learns"
    start, end = early(values, reading), late(values, reading)
    drop = (start - end) / abs(start) if start else 0.0
    moved = (
        f"the {what} went from {start:.4g} to {end:.4g} over {len(values)} values ({-drop:+.0%})"
    )
    if drop < MATERIAL_DROP:
        return False, f"{moved}: it did not fall by {MATERIAL_DROP:.0%} or more"
    chance = _chance(evidence, reading)
    if chance is not None and end >= BELOW_CHANCE * chance:
        return False, f"{moved}, but not clearly below chance level ({chance:.4g})"
    return True, moved + (f", below chance level ({chance:.4g})" if chance is not None else "")


def _validation_curve(evidence: Evidence) -> list[float]:
    loss = evidence.observe.loss
    return [p.loss for p in loss.eval_passes if p.loss is not None] if loss else []


def _chance(evidence: Evidence, reading: CurveReading) -> float | None:
    if evidence.observe.loss is None:
        return None
    try:
        return chance_loss(evidence, reading)
    except NotEvaluated:
        return None
