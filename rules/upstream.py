"""Root cause before symptom: when two candidates' fixes both remove the failure, the upstream one
wins if its fix alone also clears the other's symptoms.

Clipping gradients "repairs" exploding gradients that a summed loss causes; averaging the loss
repairs both. The summed loss is the root, the exploding gradients its consequence: only the root
is *confirmed*. A cause can be upstream of another when the other names it in ``explained_by``, or
when the other is itself a symptom (``consequence: true``) of any candidate.
"""

from __future__ import annotations

from diagnose.evidence import Evidence
from diagnose.rules.engine import EXPLAINED_AWAY, CauseScore, evaluate
from diagnose.rules.loader import RuleBook


def settle_upstream(
    scores: list[CauseScore], book: RuleBook, evidence: Evidence
) -> list[CauseScore]:
    """Mark each cause whose symptoms an upstream cause's fix also cleared as that cause's
    consequence (discounted, never confirmed), whether its own fix helped or was never tried;
    return the scores re-ranked."""
    helped = [s for s in scores if s.fix_helped]
    for down in (s for s in scores if s.support):
        for up in helped:
            if up is not down and may_explain(up, down) and clears(up, down, book, evidence):
                down.consequence_of = up.cause.id
                down.confidence *= 1.0 - EXPLAINED_AWAY * up.confidence
                break
    return sorted(scores, key=lambda s: s.rank_key, reverse=True)


def may_explain(up: CauseScore, down: CauseScore) -> bool:
    """Whether ``up`` can be the root of ``down`` (never two symptom-level causes of each other)."""
    if up.cause.consequence:
        return up.cause.id in down.cause.explained_by
    return down.cause.consequence or up.cause.id in down.cause.explained_by


def clears(up: CauseScore, down: CauseScore, book: RuleBook, evidence: Evidence) -> bool:
    """None of the symptoms behind ``down`` fires in the replay of ``up``'s fix (and one was seen
    clear there): that fix alone resolved them."""
    replay = evidence.scenarios.get(up.confirmation.scenario) if up.confirmation else None
    if replay is None or not down.support:
        return False
    fixed = Evidence(script=evidence.script, args=evidence.args, observe=replay)
    statuses = [evaluate(book.symptoms[result.symptom.id], fixed).status for result in down.support]
    return "fired" not in statuses and "clear" in statuses
