"""View models: plain objects the templates present. No HTML or Markdown is built here."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from diagnose import __version__
from diagnose.diagnosis import CauseReport, Diagnosis, SourceRef
from diagnose.evidence import Evidence

VERDICT_LABELS = {
    "healthy": "Healthy: no problem found",
    "problems": "Problems found",
    "crashed": "The script crashed",
    "hung": "The script did not finish",
    "no_training": "No training observed",
}
SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class CauseView:
    rank: int
    id: str
    title: str
    level: str
    confidence: str
    confirmed: bool
    why: str
    evidence: list[tuple[str, str]]
    refuted: list[tuple[str, str]]
    fix: str
    code: str
    where: str
    where_code: str
    confirmation: str


@dataclass
class LossView:
    first: str
    last: str
    best: str
    steps: int
    sparkline: str
    nonfinite_step: int | None
    chance: str


@dataclass
class ReportView:
    script: str
    script_name: str
    args: str
    verdict: str
    verdict_label: str
    summary: str
    healthy: bool
    causes: list[CauseView]
    symptoms: list[tuple[str, str, str, str]]
    not_evaluated: list[tuple[str, str]]
    scenarios: list[tuple[str, str, int, str, str]]
    loss: LossView | None
    exception: str
    exception_where: str
    stdout: str
    stderr: str
    probe_errors: list[str] = field(default_factory=list)
    version: str = __version__


def build_view(diagnosis: Diagnosis, evidence: Evidence) -> ReportView:
    run = evidence.observe
    exception = diagnosis.exception
    return ReportView(
        script=diagnosis.script, script_name=Path(diagnosis.script).name, args=" ".join(diagnosis.args),
        verdict=diagnosis.verdict, verdict_label=VERDICT_LABELS[diagnosis.verdict], summary=diagnosis.summary,
        healthy=diagnosis.healthy, causes=[_cause(i + 1, c) for i, c in enumerate(diagnosis.causes)],
        symptoms=[(s.title, s.level, s.status, s.detail) for s in diagnosis.symptoms if s.status == "fired"],
        not_evaluated=[(s.title, s.detail) for s in diagnosis.not_evaluated],
        scenarios=[(s.name, s.status, s.steps, f"{s.seconds:.1f}", s.reason) for s in diagnosis.scenarios],
        loss=_loss(evidence), exception=f"{exception.type}: {exception.message}" if exception else "",
        exception_where=_where(exception.user_frame) if exception and exception.user_frame else "",
        stdout=run.run.stdout_tail, stderr=run.run.stderr_tail, probe_errors=diagnosis.probe_errors)


def _cause(rank: int, cause: CauseReport) -> CauseView:
    fix = cause.fixes[0] if cause.fixes else None
    return CauseView(
        rank=rank, id=cause.id, title=cause.title, level=cause.level, confidence=f"{cause.confidence:.0%}",
        confirmed=cause.confirmed, why=cause.why,
        evidence=[(e.title, e.detail) for e in cause.evidence], refuted=[(e.title, e.detail) for e in cause.refuted_by],
        fix=fix.text if fix else "", code=fix.code if fix else "",
        where=_where(cause.where) if cause.where else "", where_code=cause.where.code if cause.where else "",
        confirmation=cause.confirmation.summary if cause.confirmation else "")


def _where(ref: SourceRef | object) -> str:
    return f"{Path(getattr(ref, 'file')).name}:{getattr(ref, 'line')}"


def _loss(evidence: Evidence) -> LossView | None:
    loss = evidence.observe.loss
    if loss is None or not loss.values:
        return None
    finite = [v for v in loss.values if math.isfinite(v)]
    chance = f"{math.log(loss.n_classes):.4g}" if loss.n_classes and loss.n_classes > 1 else ""
    return LossView(first=f"{loss.values[0]:.4g}", last=f"{loss.values[-1]:.4g}",
                    best=f"{min(finite):.4g}" if finite else "n/a", steps=len(loss.values),
                    sparkline=sparkline(loss.values), nonfinite_step=loss.first_nonfinite_step, chance=chance)


def sparkline(values: list[float], width: int = 48) -> str:
    """A Unicode sparkline; non-finite points show as '×'. Log scale when the range spans decades."""
    if not values:
        return ""
    step = max(1, math.ceil(len(values) / width))
    points = [values[i] for i in range(0, len(values), step)]
    finite = [v for v in points if math.isfinite(v)]
    if not finite:
        return "×" * len(points)
    use_log = min(finite) > 0 and max(finite) / min(finite) > 100
    scale = [math.log10(v) if use_log else v for v in finite]
    low, high = min(scale), max(scale)
    chars = []
    for v in points:
        if not math.isfinite(v):
            chars.append("×")
            continue
        x = math.log10(v) if use_log else v
        chars.append(SPARK[int((x - low) / (high - low) * (len(SPARK) - 1)) if high > low else 0])
    return "".join(chars)
