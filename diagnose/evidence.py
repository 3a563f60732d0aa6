"""Evidence: everything the runs observed, as one validated, serialisable pydantic model.

The sections are the probes' own dataclasses (``diagnose.probes.sections``), embedded here so the
schema is written once. ``evidence.json`` is this model; ``diagnose report evidence.json`` reads it
back and re-renders without rerunning the script.
"""

from __future__ import annotations

import platform
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from diagnose import __version__
from diagnose.probes.sections import (
    ActivationSection,
    BookkeepingSection,
    DataSection,
    DistributedSection,
    FitSection,
    GradCheckSection,
    GradientSection,
    GraphSection,
    InitSection,
    InterventionSection,
    LossSection,
    LRRangeSection,
    MessagesSection,
    ModelSection,
    OptimizerSection,
    OverfitSection,
    ScheduleSection,
    SourcesSection,
)

if TYPE_CHECKING:
    pass

SCHEMA_VERSION = 1


class EvidenceError(ValueError):
    """An evidence file that cannot be read back."""


class RunInfo(BaseModel):
    """How one child run went: its end, its size, and the tail of what the script printed."""

    model_config = ConfigDict(ser_json_inf_nan="strings")

    scenario: str
    status: str
    reason: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    wall_seconds: float = 0.0
    steps: int = 0
    backward_calls: int = 0
    peak_rss_mb: float | None = None
    median_step_seconds: float | None = None
    probe_errors: list[str] = Field(default_factory=list)
    redirected: list[str] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    mlflow_run: dict[str, str] | None = Field(
        default=None, description="The MLflow run the script opened: run_id and tracking_uri."
    )
    disabled: list[str] = Field(
        default_factory=list,
        description="Instrumentation left out of this run after it failed (see the notes).",
    )
    stdout_tail: str = ""
    stderr_tail: str = ""


class ObservedRun(BaseModel):
    """The sections of one run. A section is ``None`` when its probe saw nothing (or failed)."""

    model_config = ConfigDict(ser_json_inf_nan="strings")

    run: RunInfo
    loss: LossSection | None = None
    optimizer: OptimizerSection | None = None
    schedule: ScheduleSection | None = None
    model: ModelSection | None = None
    init: InitSection | None = None
    data: DataSection | None = None
    bookkeeping: BookkeepingSection | None = None
    gradients: GradientSection | None = None
    activations: ActivationSection | None = None
    graph: GraphSection | None = None
    sources: SourcesSection | None = None
    messages: MessagesSection | None = None
    distributed: DistributedSection | None = None
    fit: FitSection | None = None


class ScenarioRun(ObservedRun):
    """A replay of the user's run with one intervention, and what it measured."""

    mode: str = "cold"
    reason: str = ""
    repair_for: str = Field(
        default="", description="The cause the repair search tried this fix for."
    )
    intervention: InterventionSection | None = None
    lr_range: LRRangeSection | None = None
    isolated: OverfitSection | None = None
    gradcheck: GradCheckSection | None = None


class AgentStep(BaseModel):
    """One decision of the agent: which replay it ran, why, and how the ranking moved."""

    scenario: str
    reason: str
    seconds: float
    top_before: str = ""
    top_after: str = ""
    confidence_before: float = 0.0
    confidence_after: float = 0.0


class PatchedFile(BaseModel):
    """A file of the user's folder as the patch leaves it (``path`` relative to that folder)."""

    path: str
    text: str


class PatchAttempt(BaseModel):
    """The patch made for the top cause (or why none could be made), and the run of the patched
    copy under the same observation: kept so that a re-render can judge and show it again."""

    model_config = ConfigDict(ser_json_inf_nan="strings")

    cause: str
    edit: str = ""
    root: str = Field(
        default="", description="The folder the diff's paths are relative to (the script's)."
    )
    changes: list[str] = Field(default_factory=list, description="What each edit does, in words.")
    diff: str = ""
    files: list[PatchedFile] = Field(default_factory=list)
    not_offered: str = Field(default="", description="Why no patch could be made for the cause.")
    run: ScenarioRun | None = None


class NotebookCell(BaseModel):
    """A code cell of a notebook, as it ran: its place among all the notebook's cells (1-based,
    markdown included, as a reader counts them), the lines of the program it became, its source."""

    index: int
    first_line: int = Field(description="Line of the program where the cell's first line is.")
    lines: int = Field(description="How many program lines the cell became.")
    source: str


class NotebookMap(BaseModel):
    """How the program a notebook ran as maps back to its cells, so findings say "cell 3, line 5"
    (the program is the notebook's code cells in order, IPython syntax translated)."""

    path: str
    cells: list[NotebookCell] = Field(default_factory=list)

    def locate(self, file: str, line: int) -> tuple[NotebookCell, int] | None:
        """The cell and its line behind a line of the program, if ``file`` is this notebook."""
        if Path(file).resolve() != Path(self.path).resolve():
            return None
        for cell in self.cells:
            if cell.first_line <= line < cell.first_line + cell.lines:
                return cell, min(line - cell.first_line + 1, cell.source.count("\n") + 1)
        return None

    def where(self, file: str, line: int) -> str:
        """``train.ipynb, cell 3, line 5`` for a line of the notebook, else ``train.py:42``."""
        found = self.locate(file, line)
        if found is None:
            return f"{Path(file).name}:{line}"
        return f"{Path(file).name}, cell {found[0].index}, line {found[1]}"


class Evidence(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="strings")

    tool: str = "nn-diagnose"
    schema_version: int = SCHEMA_VERSION
    tool_version: str = __version__
    script: str
    args: list[str] = Field(default_factory=list)
    python: str = Field(default_factory=platform.python_version)
    torch: str = ""
    observe: ObservedRun
    scenarios: dict[str, ScenarioRun] = Field(default_factory=dict)
    agent: list[AgentStep] = Field(default_factory=list)
    replays: str = ""
    patch: PatchAttempt | None = None
    notebook: NotebookMap | None = Field(
        default=None, description="Set when the script is a notebook: its cells in the program."
    )

    def section(self, name: str) -> Any:
        """An observed section by name, or a replay by its scenario name (None when absent)."""
        if name in self.scenarios:
            return self.scenarios[name]
        return getattr(self.observe, name, None) if name in ObservedRun.model_fields else None

    def to_json(self) -> str:
        return self.model_dump_json(indent=1)

    @classmethod
    def load(cls, path: Path) -> Evidence:
        try:
            return cls.model_validate_json(path.read_bytes())
        except FileNotFoundError:
            raise EvidenceError(f"{path}: no such evidence file") from None
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise EvidenceError(
                f"{path}: not a valid evidence file ({where}: {first['msg']})"
            ) from None
