"""From Evidence to a Diagnosis: evaluate the rules, rank the causes, decide the verdict."""

from __future__ import annotations

from diagnose.diagnosis import (
    CauseReport, Diagnosis, EvidenceItem, Fix, LRSuggestion, ScenarioReport, SourceRef, SymptomReport)
from diagnose.evidence import Evidence, ObservedRun
from diagnose.rules.engine import LIKELY, CauseScore, SymptomResult, evaluate_symptoms, score_causes
from diagnose.rules.confirm import confirmation
from diagnose.rules.detect_replay import lr_analysis
from diagnose.rules.findings import NotEvaluated, finite_values
from diagnose.rules.loader import RuleBook

REPORT_FLOOR = 0.15


def judge(evidence: Evidence, book: RuleBook) -> Diagnosis:
    run = evidence.observe
    results = evaluate_symptoms(book, evidence)
    confirmations = {cid: verdict for cid, cause in book.causes.items()
                     if (verdict := confirmation(cause, evidence)) is not None}
    scores = [s for s in score_causes(book, results, confirmations) if s.confidence >= REPORT_FLOOR]
    causes = [_cause_report(score, run) for score in scores]
    verdict = _verdict(run, causes)
    return Diagnosis(
        script=evidence.script, args=evidence.args, healthy=verdict == "healthy", verdict=verdict,
        summary=_summary(verdict, run, causes), causes=causes,
        symptoms=[_symptom_report(r) for r in results.values() if r.status != "not_evaluated"],
        not_evaluated=[_symptom_report(r) for r in results.values() if r.status == "not_evaluated"],
        scenarios=_scenario_reports(evidence), lr_suggestion=_lr_suggestion(evidence),
        exception=run.messages.exception if run.messages else None,
        notes=run.run.notes + ([f"Replays: {evidence.replays}."] if evidence.replays else []),
        redirected=_redirected(evidence),
        probe_errors=run.run.probe_errors + [e for s in evidence.scenarios.values() for e in s.run.probe_errors])


def _redirected(evidence: Evidence) -> list[str]:
    """Every path the script tried to write, in any run, once each."""
    runs = [evidence.observe, *evidence.scenarios.values()]
    return list(dict.fromkeys(path for run in runs for path in run.run.redirected))


def _scenario_reports(evidence: Evidence) -> list[ScenarioReport]:
    run = evidence.observe.run
    reports = [ScenarioReport(name=run.scenario, status=run.status, steps=run.steps, seconds=run.wall_seconds,
                              reason=run.reason, chosen_because="the script as written, under observation",
                              mode="cold")]
    steps = {step.scenario: step for step in evidence.agent}
    for name, replay in evidence.scenarios.items():
        step = steps.get(name)
        change = (f"top cause {step.top_before or 'none'} ({step.confidence_before:.0%}) → "
                  f"{step.top_after or 'none'} ({step.confidence_after:.0%})") if step else ""
        reports.append(ScenarioReport(
            name=name, status=replay.run.status, steps=replay.run.steps, seconds=replay.run.wall_seconds,
            reason=replay.intervention.note if replay.intervention else replay.run.reason,
            chosen_because=replay.reason, mode=replay.mode, change=change))
    return reports


def _lr_suggestion(evidence: Evidence) -> LRSuggestion | None:
    try:
        lr = lr_analysis(evidence)
    except NotEvaluated:
        return None
    return LRSuggestion(user_lr=lr.user_lr, suggested_lr=lr.suggested_lr, steepest_lr=lr.steepest_lr,
                        min_loss_lr=lr.min_loss_lr, divergence_lr=lr.divergence_lr,
                        decades_off=round(lr.decades_off, 2))


def _cause_report(score: CauseScore, run: ObservedRun) -> CauseReport:
    cause = score.cause
    keys = [r.where for r in score.support if r.where] + cause.points_at
    return CauseReport(
        id=cause.id, title=cause.title, level=cause.level, confidence=round(min(score.confidence, 1.0), 3),
        confirmed=score.confirmed, confirmation=score.confirmation,
        why=cause.why.strip(), evidence=[_item(r) for r in score.support],
        refuted_by=[_item(r) for r in score.refuted_by],
        fixes=[Fix(text=cause.fix.strip(), code=cause.example.strip())],
        where=next((ref for ref in map(lambda k: source_ref(run, k), keys) if ref), None))


def source_ref(run: ObservedRun, key: str) -> SourceRef | None:
    """The user's line behind a key ("loss", "optimizer", ..., or "exception")."""
    if key == "exception":
        frame = run.messages.exception.user_frame if run.messages and run.messages.exception else None
        return SourceRef(file=frame.file, line=frame.line, code=frame.code) if frame else None
    line = run.sources.lines.get(key) if run.sources else None
    return SourceRef(file=line.file, line=line.line, code=line.code) if line else None


def _item(result: SymptomResult) -> EvidenceItem:
    return EvidenceItem(symptom=result.symptom.id, title=result.symptom.title, level=result.symptom.level,
                        detail=result.detail, strength=round(result.strength, 3))


def _symptom_report(result: SymptomResult) -> SymptomReport:
    return SymptomReport(id=result.symptom.id, title=result.symptom.title, level=result.symptom.level,
                         status=result.status, strength=round(result.strength, 3), detail=result.detail)


def _verdict(run: ObservedRun, causes: list[CauseReport]) -> str:
    status = run.run.status
    if status == "crashed":
        return "crashed"
    if status in {"timeout", "killed"}:
        return "hung"
    if not run.run.steps and not run.run.backward_calls:
        return "no_training"
    return "problems" if any(c.confidence >= LIKELY for c in causes) else "healthy"


def _summary(verdict: str, run: ObservedRun, causes: list[CauseReport]) -> str:
    top = causes[0] if causes else None
    likely = f" Most likely cause: {top.title} ({top.confidence:.0%})." if top and top.confidence >= LIKELY else ""
    if verdict == "crashed":
        return f"The script crashed: {run.run.reason}.{likely}"
    if verdict == "hung":
        return f"The script did not finish: {run.run.reason}.{likely}"
    if verdict == "no_training":
        ended = run.run.reason or {"completed": "finished"}.get(run.run.status, run.run.status)
        return f"No training was observed: the script ended ({ended}) before any backward pass.{likely}"
    if verdict == "problems":
        confirmed = " It was confirmed by replaying the run with the fix applied." if top and top.confirmed else ""
        return f"Training has a problem.{likely}{confirmed}"
    values = finite_values(run.loss.values) if run.loss else []
    trend = f" The loss went from {values[0]:.4g} to {values[-1]:.4g} over {len(values)} steps." if values else ""
    return f"No problem found.{trend}"
