"""A child run's result (the runner's ``ChildResult``: raw JSON from the child) as Evidence.

The conversion lives on our side of the flow: the evidence model knows nothing of how runs are
made, and the runner nothing of the model.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from diagnose.driver.runner import ChildResult
from diagnose.evidence import ObservedRun, RunInfo, ScenarioRun


def observed_run(result: ChildResult) -> ObservedRun:
    """The observed run: its record and every section the evidence model knows."""
    return ObservedRun(run=_record(result), **_sections(result, ObservedRun))


def scenario_run(result: ChildResult, mode: str, reason: str) -> ScenarioRun:
    """A replay: its record, its sections, how it started (``fork`` or ``cold``) and why it ran."""
    return ScenarioRun(
        run=_record(result), mode=mode, reason=reason, **_sections(result, ScenarioRun)
    )


def _record(result: ChildResult) -> RunInfo:
    known = {k: v for k, v in result.run.items() if k in RunInfo.model_fields and k != "scenario"}
    return RunInfo(
        scenario=result.name,
        wall_seconds=result.wall_seconds,
        stdout_tail=result.stdout_tail,
        stderr_tail=result.stderr_tail,
        **known,
    )


def _sections(result: ChildResult, model: type[BaseModel]) -> dict[str, Any]:
    """The child's sections the model has a field for (an empty one is no section)."""
    return {k: v for k, v in result.sections.items() if k in model.model_fields and v}
