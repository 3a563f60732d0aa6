"""View models: plain objects the templates present. No HTML or Markdown is built here."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from diagnose import __version__
from diagnose.diagnosis import (
    CauseReport,
    Diagnosis,
    LRSuggestion,
    PatchReport,
    ScenarioReport,
    SourceRef,
)
from diagnose.evidence import Evidence
from diagnose.probes.sections import Frame
from diagnose.reports.figure import Plot
from diagnose.reports.signals import (
    ActivationRow,
    LayerRow,
    Signal,
    activation_rows,
    layer_rows,
    signals,
    sparkline,
)

__all__ = ["VERDICT_LABELS", "ReportView", "build_view", "sparkline", "status_label"]

VERDICT_LABELS = {
    "healthy": "Healthy: no problem found",
    "problems": "Problems found",
    "not_learning": "Not learning: cause not established",
    "crashed": "The script crashed",
    "hung": "The script did not finish",
    "no_training": "No training observed",
}


@dataclass
class CauseView:
    rank: int
    id: str
    title: str
    level: str
    confidence: str
    confirmed: bool
    status: str
    status_note: str
    why: str
    evidence: list[tuple[str, str]]
    refuted: list[tuple[str, str]]
    fix: str
    code: str
    where: str
    where_code: str
    confirmation: str
    replay: str = ""
    before: str = ""
    after: str = ""


@dataclass
class ScenarioView:
    """One run: the observed one, then each replay the agent chose, why, and what it changed."""

    name: str
    mode: str
    status: str
    steps: int
    seconds: str
    chosen_because: str
    change: str
    note: str


@dataclass
class LRView:
    user: str
    suggested: str
    steepest: str
    min_loss: str
    divergence: str
    advice: str


@dataclass
class PatchView:
    """The top cause's fix as a diff of the user's files, and the numbers that verify it."""

    cause: str
    title: str
    offered: bool
    reason: str
    changes: list[str]
    root: str
    diff: str
    diff_lines: list[tuple[str, str]]
    summary: str
    before: str
    after: str
    learning: str
    replay: str
    replay_before: str
    replay_after: str


@dataclass
class ReportView:
    script: str
    script_name: str
    args: str
    verdict: str
    verdict_label: str
    summary: str
    healthy: bool
    learning: str
    failures: list[tuple[str, str]]
    ruled_out: list[tuple[str, str, str]]
    causes: list[CauseView]
    symptoms: list[tuple[str, str, str, str]]
    not_evaluated: list[tuple[str, str]]
    scenarios: list[ScenarioView]
    lr: LRView | None
    patch: PatchView | None
    signals: list[Signal]
    layers: list[LayerRow]
    activations: list[ActivationRow]
    exception: str
    exception_where: str
    stdout: str
    stderr: str
    probe_errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    redirected: list[str] = field(default_factory=list)
    plots: list[Plot] = field(default_factory=list)
    plot_errors: list[str] = field(default_factory=list)
    version: str = __version__


def build_view(diagnosis: Diagnosis, evidence: Evidence, plots: bool = False) -> ReportView:
    """A report's view; ``plots`` draws evidence figures (for HTML: slow-ish, needs matplotlib)."""
    run = evidence.observe
    exception = diagnosis.exception
    view = ReportView(
        script=diagnosis.script,
        script_name=Path(diagnosis.script).name,
        args=" ".join(diagnosis.args),
        verdict=diagnosis.verdict,
        verdict_label=VERDICT_LABELS[diagnosis.verdict],
        summary=diagnosis.summary,
        healthy=diagnosis.healthy,
        learning=diagnosis.learning.detail if diagnosis.learning else "",
        failures=[(s.title, s.detail) for s in diagnosis.failures],
        ruled_out=[(r.title, r.by, r.detail) for r in diagnosis.ruled_out],
        causes=[_cause(i + 1, c) for i, c in enumerate(diagnosis.causes)],
        symptoms=[
            (s.title, s.level, s.status, s.detail)
            for s in diagnosis.symptoms
            if s.status == "fired"
        ],
        not_evaluated=[(s.title, s.detail) for s in diagnosis.not_evaluated],
        scenarios=[_scenario(s) for s in diagnosis.scenarios],
        lr=_lr(diagnosis.lr_suggestion),
        patch=_patch(diagnosis.patch),
        signals=signals(evidence, diagnosis.lr_suggestion),
        layers=layer_rows(evidence),
        activations=activation_rows(evidence),
        exception=f"{exception.type}: {exception.message}" if exception else "",
        exception_where=_where(exception.user_frame) if exception and exception.user_frame else "",
        stdout=run.run.stdout_tail,
        stderr=run.run.stderr_tail,
        probe_errors=diagnosis.probe_errors,
        notes=diagnosis.notes,
        redirected=diagnosis.redirected,
    )
    if plots:
        from diagnose.reports.plots import build_plots

        view.plots, view.plot_errors = build_plots(diagnosis, evidence)
    return view


def _cause(rank: int, cause: CauseReport) -> CauseView:
    fix = cause.fixes[0] if cause.fixes else None
    confirmation = cause.confirmation
    return CauseView(
        rank=rank,
        id=cause.id,
        title=cause.title,
        level=cause.level,
        confidence=f"{cause.confidence:.0%}",
        confirmed=cause.confirmed,
        status=status_label(cause),
        status_note=_status_note(cause),
        why=cause.why,
        evidence=[(e.title, e.detail) for e in cause.evidence],
        refuted=[(e.title, e.detail) for e in cause.refuted_by],
        fix=fix.text if fix else "",
        code=fix.code if fix else "",
        where=_where(cause.where) if cause.where else "",
        where_code=cause.where.code if cause.where else "",
        confirmation=confirmation.summary if confirmation else "",
        replay=confirmation.scenario if confirmation else "",
        before=_number(confirmation.before) if confirmation else "",
        after=_number(confirmation.after) if confirmation else "",
    )


def status_label(cause: CauseReport) -> str:
    """What a user may act on, in a word or two."""
    if cause.status == "consequence":
        return f"consequence of {cause.consequence_of}"
    return cause.status


def _status_note(cause: CauseReport) -> str:
    """Why a likely cause is not confirmed (or what makes a consequence one)."""
    if cause.status == "consequence":
        return (
            f"Its fix helped, but so did the fix of {cause.consequence_of}, which also removed its "
            f"symptoms: {cause.consequence_of} is the root."
        )
    if cause.confirmed or cause.status != "supported":
        return ""
    if cause.unconfirmable:
        return f"Not confirmable by a replay: {cause.unconfirmable}."
    return "Its fix was not replayed within the time budget." if cause.confirmation is None else ""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _scenario(report: ScenarioReport) -> ScenarioView:
    return ScenarioView(
        name=report.name,
        mode=report.mode,
        status=report.status,
        steps=report.steps,
        seconds=f"{report.seconds:.1f}",
        chosen_because=report.chosen_because,
        change=report.change,
        note=report.reason,
    )


def _lr(lr: LRSuggestion | None) -> LRView | None:
    if lr is None:
        return None
    way = "above" if lr.decades_off > 0 else "below"
    advice = (
        f"the script's learning rate is {abs(lr.decades_off):.1f} decades {way} the suggested one"
        if abs(lr.decades_off) >= 1
        else "the script's learning rate is within a decade of the suggested one"
    )
    return LRView(
        user=f"{lr.user_lr:.3g}",
        suggested=f"{lr.suggested_lr:.3g}",
        steepest=f"{lr.steepest_lr:.3g}",
        min_loss=f"{lr.min_loss_lr:.3g}",
        divergence=f"{lr.divergence_lr:.3g}" if lr.divergence_lr is not None else "",
        advice=advice,
    )


def _patch(patch: PatchReport | None) -> PatchView | None:
    if patch is None:
        return None
    return PatchView(
        cause=patch.cause,
        title=patch.title,
        offered=patch.offered,
        reason=patch.reason,
        changes=patch.changes,
        root=patch.root,
        diff=patch.diff,
        diff_lines=[(_diff_kind(line), line) for line in patch.diff.splitlines()],
        summary=patch.summary[:1].upper() + patch.summary[1:],
        before=_number(patch.before),
        after=_number(patch.after),
        learning=patch.learning,
        replay=patch.replay,
        replay_before=_number(patch.replay_before),
        replay_after=_number(patch.replay_after),
    )


def _diff_kind(line: str) -> str:
    """How a diff line is shown: a file header, a hunk header, an added, removed or context line."""
    if line.startswith(("--- ", "+++ ")):
        return "file"
    return {"@": "hunk", "+": "add", "-": "del"}.get(line[:1], "context")


def _where(ref: SourceRef | Frame) -> str:
    return f"{Path(ref.file).name}:{ref.line}"
