"""The engine: evaluate symptoms with their detectors, score causes along the rule graph, rank them.

Scoring, per cause: supporting edges combine as a noisy-OR of ``weight x strength``; refuting
edges multiply the result by ``1 - weight x strength``; a fix replay that did not help halves what
was inferred (support from ``direct`` edges stays); a cause is discounted when a likely cause
at a lower pyramid level explains it (``explained_by``). Ranking prefers confirmed causes, then
confidence, with a small bonus for lower pyramid levels (data is trusted first).

A cause's status is what a user may act on: *confirmed* only when a replay of its own fix removed
the failure (and no upstream cause's fix also removed its symptoms: then it is a *consequence*),
*supported* when likely without such a replay, *suspected* below that.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from diagnose.diagnosis import Confirmation, Status, SymptomStatus
from diagnose.evidence import Evidence
from diagnose.rules.detectors import DETECTORS
from diagnose.rules.findings import Finding, NotEvaluated
from diagnose.rules.loader import RuleBook
from diagnose.rules.schema import SCENARIOS, Cause, Edge, Symptom

LEVEL_BONUS = {
    "crash": 0.10,
    "data": 0.04,
    "learnability": 0.03,
    "optimization": 0.02,
    "evaluation": 0.0,
}
EXPLAINED_AWAY = 0.6
LIKELY = 0.5
CONFIRMED_FLOOR = 0.85
FIX_DID_NOT_HELP = 0.5
MIN_EVIDENCE = 0.3  # a weaker suspicion is not "confirmed" by one replay
TIE_BREAK = 0.1


@dataclass
class SymptomResult:
    symptom: Symptom
    status: SymptomStatus
    strength: float = 0.0
    detail: str = ""
    where: str | None = None


@dataclass
class CauseScore:
    cause: Cause
    confidence: float = 0.0
    evaluated: bool = False
    support: list[SymptomResult] = field(default_factory=list)
    refuted_by: list[SymptomResult] = field(default_factory=list)
    explained_by: list[str] = field(default_factory=list)
    confirmation: Confirmation | None = None
    consequence_of: str | None = None
    inferred: float = 0.0  # the confidence from symptoms alone, before any replay of its fix

    @property
    def fix_helped(self) -> bool:
        return self.confirmation is not None and self.confirmation.confirmed

    @property
    def confirmed(self) -> bool:
        """Its own fix removed the failure, and no upstream cause's fix did so too."""
        return self.fix_helped and self.consequence_of is None

    @property
    def status(self) -> Status:
        if self.consequence_of is not None:
            return "consequence"
        if self.confirmed:
            return "confirmed"
        return "supported" if self.confidence >= LIKELY else "suspected"

    @property
    def rank_key(self) -> float:
        """Confirmed causes first, then confidence; between causes both confirmed (the confirmation
        floor makes them equal), the one the symptoms pointed at more strongly."""
        bonus = 1.0 + TIE_BREAK * self.inferred if self.confirmed else 0.0
        return self.confidence + LEVEL_BONUS[self.cause.level] + bonus


def evaluate_symptoms(book: RuleBook, evidence: Evidence) -> dict[str, SymptomResult]:
    return {sid: evaluate(symptom, evidence) for sid, symptom in book.symptoms.items()}


def evaluate(symptom: Symptom, evidence: Evidence) -> SymptomResult:
    missing = [need for need in symptom.needs if evidence.section(need) is None]
    if missing:
        what = [
            f"the {m} replay did not run" if m in SCENARIOS else f"no {m} evidence" for m in missing
        ]
        return SymptomResult(symptom, "not_evaluated", detail="; ".join(what))
    try:
        finding: Finding = DETECTORS[symptom.detector](evidence, **symptom.params)
    except NotEvaluated as reason:
        return SymptomResult(symptom, "not_evaluated", detail=str(reason))
    except Exception as error:  # a detector bug must not take the diagnosis down; it is reported
        return SymptomResult(
            symptom, "not_evaluated", detail=f"detector error: {type(error).__name__}: {error}"
        )
    return SymptomResult(
        symptom,
        "fired" if finding.fired else "clear",
        finding.strength,
        finding.detail,
        finding.where,
    )


def edge_strength(edge: Edge, results: dict[str, SymptomResult]) -> float | None:
    """``weight x strength`` when the edge fires, 0 if it does not, None when it cannot be told."""
    if any(results[s].status == "fired" for s in edge.none_of):
        return 0.0
    required = [results[s] for s in edge.all_of]
    if any(r.status == "clear" for r in required):
        return 0.0
    if any(r.status == "not_evaluated" for r in required):
        return None
    alternatives = [results[s] for s in edge.any_of]
    fired = [r for r in alternatives if r.status == "fired"]
    if alternatives and not fired:
        return None if any(r.status == "not_evaluated" for r in alternatives) else 0.0
    strengths = [r.strength for r in required] + ([max(r.strength for r in fired)] if fired else [])
    return edge.weight * min(strengths)


def score_causes(
    book: RuleBook,
    results: dict[str, SymptomResult],
    confirmations: dict[str, Confirmation] | None = None,
    searched: frozenset[str] = frozenset(),
) -> list[CauseScore]:
    """Score every cause; a replay that confirms a cause (its fix removes the symptom) lifts it to
    at least CONFIRMED_FLOOR, one whose fix did not help halves it. Only causes with evidence of
    their own can be confirmed (a fix may help for reasons other than this cause), except those the
    repair search tried (``searched``): on a failing run that no rule explains, the fix that repairs
    it is the evidence."""
    scores: dict[str, CauseScore] = {}
    for cause_id in book.explanation_order():
        score = CauseScore(book.causes[cause_id])
        support, direct, refute = 0.0, 0.0, 1.0
        for edge in book.edges_into(cause_id):
            strength = edge_strength(edge, results)
            if strength is None:
                continue
            score.evaluated = True
            fired = [
                results[s] for s in [*edge.all_of, *edge.any_of] if results[s].status == "fired"
            ]
            if strength and edge.refutes:
                refute *= 1.0 - strength
                score.refuted_by += [r for r in fired if r not in score.refuted_by]
            elif strength:
                support = 1.0 - (1.0 - support) * (1.0 - strength)
                direct = 1.0 - (1.0 - direct) * (1.0 - strength) if edge.direct else direct
                score.support += [r for r in fired if r not in score.support]
        score.confidence = score.inferred = support * refute
        verdict = (confirmations or {}).get(cause_id)
        if verdict is not None and (score.confidence >= MIN_EVIDENCE or cause_id in searched):
            score.confirmation = verdict
            # An unhelpful fix weakens what was inferred from consequences; a bug observed directly
            # (a step run in eval mode) is still there, it just did no measurable harm in the
            # replay.
            score.confidence = (
                max(score.confidence, CONFIRMED_FLOOR)
                if verdict.confirmed
                else max(score.confidence * FIX_DID_NOT_HELP, direct * refute)
            )
        for explainer in score.cause.explained_by:
            if scores[explainer].confidence >= LIKELY and not score.confirmed:
                score.confidence *= 1.0 - EXPLAINED_AWAY * scores[explainer].confidence
                score.explained_by.append(explainer)
        scores[cause_id] = score
    return sorted(scores.values(), key=lambda s: s.rank_key, reverse=True)
