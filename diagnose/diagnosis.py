"""Diagnosis: the ranked causes and their evidence. ``report.json`` is this model.

The contract other tools rely on (DESIGN.md): ``schema_version``, ``script``, ``healthy``,
``causes`` (best first, each with ``id``, ``confidence``, ``confirmed``, ``level``, ``evidence``,
``fixes``), ``symptoms`` and ``scenarios``.

Two words are what users act on without reading further. ``healthy`` is true only when the run
demonstrably learns (``learning``) and no failure symptom fired; a run that fails with no
established cause has the verdict ``not_learning``. A cause's ``confirmed`` is true only when a
replay with its own fix removed the failure; its ``status`` says what else it is: ``supported``
(likely, without such a replay), ``suspected``, or ``consequence`` (its fix helped, but so did the
fix of ``consequence_of``, which also removed its symptoms).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from diagnose import __version__
from diagnose.probes.sections import ExceptionInfo

REPORT_SCHEMA_VERSION = 2
Verdict = Literal["healthy", "problems", "not_learning", "crashed", "hung", "no_training"]
Status = Literal["confirmed", "supported", "suspected", "consequence"]
SymptomStatus = Literal["fired", "clear", "not_evaluated"]


class Model(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")


class SourceRef(Model):
    file: str
    line: int
    code: str = ""


class EvidenceItem(Model):
    """One observed symptom in a cause's chain of evidence, in words and numbers."""

    symptom: str
    title: str
    level: str
    detail: str
    strength: float


class Fix(Model):
    text: str
    code: str = ""


class Confirmation(Model):
    """The replay with the fix applied, and what it measured before and after."""

    scenario: str
    confirmed: bool
    summary: str
    before: float | None = None
    after: float | None = None


class CauseReport(Model):
    id: str
    title: str
    level: str
    confidence: float = Field(ge=0, le=1)
    confirmed: bool = False
    status: Status = "suspected"
    consequence_of: str | None = None
    unconfirmable: str = Field(default="", description="Why no replay can apply this cause's fix.")
    why: str
    evidence: list[EvidenceItem] = Field(default_factory=list)
    refuted_by: list[EvidenceItem] = Field(default_factory=list)
    fixes: list[Fix] = Field(default_factory=list)
    where: SourceRef | None = None
    confirmation: Confirmation | None = None


class SymptomReport(Model):
    id: str
    title: str
    level: str
    status: SymptomStatus
    strength: float = 0.0
    detail: str = ""


class LearningReport(Model):
    """Whether the run demonstrably learns: the test a healthy verdict must pass."""

    learns: bool
    detail: str


class RuledOut(Model):
    """A cause an experiment spoke against: its fix replay did not help, or a control refuted it."""

    id: str
    title: str
    by: str
    detail: str


class ScenarioReport(Model):
    name: str
    status: str
    steps: int
    seconds: float
    reason: str = ""
    chosen_because: str = ""
    mode: str = ""
    change: str = ""


class LRSuggestion(Model):
    """What the LR range test says about the learning rate."""

    user_lr: float
    suggested_lr: float
    steepest_lr: float
    min_loss_lr: float
    divergence_lr: float | None = None
    decades_off: float
    curve_lrs: list[float] = Field(
        default_factory=list, description="The LRs the range test tried (finite losses)."
    )
    curve_losses: list[float] = Field(
        default_factory=list, description="The smoothed loss the analysis read there."
    )


class PatchReport(Model):
    """The top cause's fix as a patch to the user's files, and whether running the patched copy
    under the same observation bore it out. Only a verified patch is offered (written to
    ``fix.patch`` and ``patched/``); otherwise ``reason`` says why there is none."""

    cause: str
    title: str
    offered: bool = False
    verified: bool = False
    reason: str = ""
    changes: list[str] = Field(default_factory=list)
    files: list[str] = Field(default_factory=list)
    root: str = Field(
        default="", description="Apply the diff from this folder (patch -p1, git apply)."
    )
    diff: str = ""
    criterion: str = ""
    summary: str = Field(
        default="",
        description="The patched run against the observed run, by the cause's criterion.",
    )
    before: float | None = None
    after: float | None = None
    learning: str = Field(default="", description="The healthy standard, on the patched run.")
    replay: str = Field(
        default="", description="The replay that confirmed the cause, with its numbers."
    )
    replay_before: float | None = None
    replay_after: float | None = None


class Diagnosis(Model):
    tool: str = "nn-diagnose"
    schema_version: int = REPORT_SCHEMA_VERSION
    tool_version: str = __version__
    script: str
    args: list[str] = Field(default_factory=list)
    healthy: bool
    verdict: Verdict
    summary: str
    causes: list[CauseReport] = Field(default_factory=list)
    learning: LearningReport | None = None
    failures: list[SymptomReport] = Field(
        default_factory=list, description="The failure symptoms that fired."
    )
    ruled_out: list[RuledOut] = Field(default_factory=list)
    symptoms: list[SymptomReport] = Field(default_factory=list)
    not_evaluated: list[SymptomReport] = Field(default_factory=list)
    scenarios: list[ScenarioReport] = Field(default_factory=list)
    lr_suggestion: LRSuggestion | None = None
    patch: PatchReport | None = None
    exception: ExceptionInfo | None = None
    notes: list[str] = Field(
        default_factory=list, description="What the tool did differently from a plain run."
    )
    redirected: list[str] = Field(
        default_factory=list,
        description="Files the script wrote, sent to a scratch folder instead of their path.",
    )
    probe_errors: list[str] = Field(default_factory=list)

    @property
    def top(self) -> CauseReport | None:
        return self.causes[0] if self.causes else None
