"""From Evidence to a Diagnosis: evaluate the rules, rank the causes, decide the verdict."""

from __future__ import annotations

from diagnose.diagnosis import (
    CauseReport,
    Diagnosis,
    EvidenceItem,
    Fix,
    LearningReport,
    LRSuggestion,
    RuledOut,
    ScenarioReport,
    SourceRef,
    SymptomReport,
    Verdict,
)
from diagnose.evidence import Evidence, ObservedRun
from diagnose.rules.confirm import confirm_all
from diagnose.rules.detect_replay import lr_analysis
from diagnose.rules.engine import LIKELY, CauseScore, SymptomResult, evaluate_symptoms, score_causes
from diagnose.rules.findings import NotEvaluated
from diagnose.rules.learning import Learning, assess
from diagnose.rules.loader import RuleBook
from diagnose.rules.patched import patch_report
from diagnose.rules.schema import SCENARIOS
from diagnose.rules.upstream import settle_upstream

REPORT_FLOOR = 0.15


def judge(evidence: Evidence, book: RuleBook) -> Diagnosis:
    run = evidence.observe
    results = evaluate_symptoms(book, evidence)
    learning = assess(evidence, results)
    searched = frozenset(
        replay.repair_for for replay in evidence.scenarios.values() if replay.repair_for
    )
    confirmations = confirm_all(evidence, book, searched, failing=not learning.learns)
    ranked = settle_upstream(score_causes(book, results, confirmations, searched), book, evidence)
    scores = [s for s in ranked if s.confidence >= REPORT_FLOOR or s.fix_helped]
    causes = [_cause_report(score, run) for score in scores]
    verdict = _verdict(run, causes, learning)
    return Diagnosis(
        script=evidence.script,
        args=evidence.args,
        healthy=verdict == "healthy",
        verdict=verdict,
        summary=_summary(verdict, run, causes, learning),
        causes=causes,
        learning=LearningReport(learns=learning.learns, detail=learning.detail),
        failures=[_symptom_report(r) for r in learning.failures],
        ruled_out=_ruled_out(ranked),
        symptoms=[_symptom_report(r) for r in results.values() if r.status != "not_evaluated"],
        not_evaluated=[_symptom_report(r) for r in results.values() if r.status == "not_evaluated"],
        scenarios=_scenario_reports(evidence),
        lr_suggestion=_lr_suggestion(evidence),
        patch=patch_report(evidence, book, causes, learning.learns),
        exception=run.messages.exception if run.messages else None,
        notes=run.run.notes + ([f"Replays: {evidence.replays}."] if evidence.replays else []),
        redirected=_redirected(evidence),
        probe_errors=run.run.probe_errors
        + [e for s in evidence.scenarios.values() for e in s.run.probe_errors],
    )


def _redirected(evidence: Evidence) -> list[str]:
    """Every path the script tried to write, in any run, once each."""
    runs = [evidence.observe, *evidence.scenarios.values()]
    return list(dict.fromkeys(path for run in runs for path in run.run.redirected))


def _scenario_reports(evidence: Evidence) -> list[ScenarioReport]:
    run = evidence.observe.run
    reports = [
        ScenarioReport(
            name=run.scenario,
            status=run.status,
            steps=run.steps,
            seconds=run.wall_seconds,
            reason=run.reason,
            chosen_because="the script as written, under observation",
            mode="cold",
        )
    ]
    steps = {step.scenario: step for step in evidence.agent}
    for name, replay in evidence.scenarios.items():
        step = steps.get(name)
        change = (
            (
                f"top cause {step.top_before or 'none'} ({step.confidence_before:.0%}) → "
                f"{step.top_after or 'none'} ({step.confidence_after:.0%})"
            )
            if step
            else ""
        )
        reports.append(
            ScenarioReport(
                name=name,
                status=replay.run.status,
                steps=replay.run.steps,
                seconds=replay.run.wall_seconds,
                reason=replay.intervention.note if replay.intervention else replay.run.reason,
                chosen_because=replay.reason,
                mode=replay.mode,
                change=change,
            )
        )
    return reports


def _lr_suggestion(evidence: Evidence) -> LRSuggestion | None:
    try:
        lr = lr_analysis(evidence)
    except NotEvaluated:
        return None
    return LRSuggestion(
        user_lr=lr.user_lr,
        suggested_lr=lr.suggested_lr,
        steepest_lr=lr.steepest_lr,
        min_loss_lr=lr.min_loss_lr,
        divergence_lr=lr.divergence_lr,
        decades_off=round(lr.decades_off, 2),
        curve_lrs=list(lr.curve_lrs),
        curve_losses=[round(v, 6) for v in lr.curve_losses],
    )


def _cause_report(score: CauseScore, run: ObservedRun) -> CauseReport:
    cause = score.cause
    keys = [r.where for r in score.support if r.where] + cause.points_at
    return CauseReport(
        id=cause.id,
        title=cause.title,
        level=cause.level,
        confidence=round(min(score.confidence, 1.0), 3),
        confirmed=score.confirmed,
        status=score.status,
        consequence_of=score.consequence_of,
        confirmation=score.confirmation,
        unconfirmable=cause.unconfirmable,
        why=cause.why.strip(),
        evidence=[_item(r) for r in score.support],
        refuted_by=[_item(r) for r in score.refuted_by],
        fixes=[Fix(text=cause.fix.strip(), code=cause.example.strip())],
        where=next((ref for ref in (source_ref(run, k) for k in keys) if ref), None),
    )


def source_ref(run: ObservedRun, key: str) -> SourceRef | None:
    """The user's line behind a key ("loss", "optimizer", ..., or "exception")."""
    if key == "exception":
        frame = (
            run.messages.exception.user_frame if run.messages and run.messages.exception else None
        )
        return SourceRef(file=frame.file, line=frame.line, code=frame.code) if frame else None
    line = run.sources.lines.get(key) if run.sources else None
    return SourceRef(file=line.file, line=line.line, code=line.code) if line else None


def _item(result: SymptomResult) -> EvidenceItem:
    return EvidenceItem(
        symptom=result.symptom.id,
        title=result.symptom.title,
        level=result.symptom.level,
        detail=result.detail,
        strength=round(result.strength, 3),
    )


def _symptom_report(result: SymptomResult) -> SymptomReport:
    return SymptomReport(
        id=result.symptom.id,
        title=result.symptom.title,
        level=result.symptom.level,
        status=result.status,
        strength=round(result.strength, 3),
        detail=result.detail,
    )


def _ruled_out(scores: list[CauseScore]) -> list[RuledOut]:
    """Causes an experiment spoke against: their fix replay did not help and nothing observed
    directly keeps them likely, or a control refuted them."""
    found = []
    for score in scores:
        if (
            score.confirmation is not None
            and not score.confirmation.confirmed
            and score.confidence < LIKELY
        ):
            found.append(
                RuledOut(
                    id=score.cause.id,
                    title=score.cause.title,
                    by=score.confirmation.scenario,
                    detail=f"with its fix applied: {score.confirmation.summary}",
                )
            )
        for result in score.refuted_by:
            control = next((need for need in result.symptom.needs if need in SCENARIOS), None)
            if control is not None:
                found.append(
                    RuledOut(
                        id=score.cause.id, title=score.cause.title, by=control, detail=result.detail
                    )
                )
    return found


def _verdict(run: ObservedRun, causes: list[CauseReport], learning: Learning) -> Verdict:
    """Healthy only when the run demonstrably learns and no cause is likely; a run that fails with
    no established cause is "not learning", never healthy."""
    status = run.run.status
    if status == "crashed":
        return "crashed"
    if status in {"timeout", "killed"}:
        return "hung"
    if not run.run.steps and not run.run.backward_calls:
        return "no_training"
    if any(c.confidence >= LIKELY for c in causes):
        return "problems"
    return "healthy" if learning.learns else "not_learning"


def _summary(verdict: str, run: ObservedRun, causes: list[CauseReport], learning: Learning) -> str:
    top = causes[0] if causes else None
    likely = (
        f" Most likely cause: {top.title} ({top.confidence:.0%})."
        if top and top.confidence >= LIKELY
        else ""
    )
    if verdict == "crashed":
        return f"The script crashed: {run.run.reason}.{likely}"
    if verdict == "hung":
        return f"The script did not finish: {run.run.reason}.{likely}"
    if verdict == "no_training":
        ended = run.run.reason or {"completed": "finished"}.get(run.run.status, run.run.status)
        return (
            f"No training was observed: the script ended ({ended}) before any "
            f"backward pass.{likely}"
        )
    if verdict == "problems":
        confirmed = (
            " It was confirmed by replaying the run with the fix applied."
            if top and top.confirmed
            else ""
        )
        return f"Training has a problem.{likely}{confirmed}"
    if verdict == "not_learning":
        failing = "; ".join(r.detail for r in learning.failures[:2]) or learning.detail
        candidates = ", ".join(f"{c.title} ({c.confidence:.0%})" for c in causes[:3])
        suspects = f" Candidates, none established: {candidates}." if candidates else ""
        return f"The run does not learn: {failing}. No cause could be established.{suspects}"
    return f"No problem found: {learning.detail}."
