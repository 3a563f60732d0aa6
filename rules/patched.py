"""Does the patch hold? The patched script's observed run is compared with the script's own by the
criterion that confirms the cause (``confirm``), and held to the standard a healthy run meets
(``learning``): a patch is offered only when both say so."""

from __future__ import annotations

from diagnose.diagnosis import CauseReport, PatchReport
from diagnose.evidence import Evidence, PatchAttempt
from diagnose.rules.confirm import judge_fix
from diagnose.rules.learning import learns
from diagnose.rules.loader import RuleBook

DEFAULT_CRITERION = "training_improves"


def patch_report(
    evidence: Evidence, book: RuleBook, causes: list[CauseReport], observed_learns: bool
) -> PatchReport | None:
    attempt = evidence.patch
    if attempt is None:
        return None
    rule = book.causes.get(attempt.cause)
    cause = next((c for c in causes if c.id == attempt.cause), None)
    confirmation = cause.confirmation if cause else None
    report = PatchReport(
        cause=attempt.cause,
        title=rule.title if rule else attempt.cause,
        reason=attempt.not_offered,
        changes=attempt.changes,
        files=[f.path for f in attempt.files],
        root=attempt.root,
        diff=attempt.diff,
        replay=confirmation.scenario if confirmation and confirmation.confirmed else "",
        replay_before=confirmation.before if confirmation and confirmation.confirmed else None,
        replay_after=confirmation.after if confirmation and confirmation.confirmed else None,
    )
    if attempt.not_offered or not attempt.files:
        return report
    criterion = rule.confirm.criterion if rule and rule.confirm else DEFAULT_CRITERION
    return _verified(report, evidence, attempt, book, criterion, observed_learns)


def _verified(
    report: PatchReport,
    evidence: Evidence,
    attempt: PatchAttempt,
    book: RuleBook,
    criterion: str,
    observed_learns: bool,
) -> PatchReport:
    if attempt.run is None:
        return report.model_copy(update={"reason": "the patched script was not run"})
    improved, summary, before, after = judge_fix(criterion, evidence.observe, attempt.run)
    learning = learns(
        Evidence(script=evidence.script, args=evidence.args, observe=attempt.run), book
    )
    verified = (
        (improved or not observed_learns)
        and learning.learns
        and attempt.run.run.status != "crashed"
    )
    update = {
        "verified": verified,
        "offered": verified,
        "criterion": criterion,
        "summary": summary,
        "before": before,
        "after": after,
        "learning": learning.detail,
    }
    if not verified:
        failing = "; ".join(r.detail for r in learning.failures[:1]) or learning.detail
        ended = (
            f"it crashed ({attempt.run.run.reason}); "
            if attempt.run.run.status == "crashed"
            else ""
        )
        update["reason"] = f"the patched script did not verify: {ended}{summary}; {failing}"
    return report.model_copy(update=update)
