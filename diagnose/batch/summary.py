"""A batch's rows, and the summaries written from them: summary.json, summary.csv, index.html."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from diagnose.batch.runlist import Run
from diagnose.child import atomic
from diagnose.reports.batch_index import render_index

CSV_COLUMNS = (
    "name",
    "script",
    "status",
    "verdict",
    "top_cause",
    "confidence",
    "confirmed",
    "cause_status",
    "seconds",
    "reason",
    "report",
    "patch",
)
TRACKER_COLUMNS = ("run_id", "run_status")


class BatchRow(BaseModel):
    """One run of a batch: how it ended and what it found."""

    name: str
    script: str
    args: list[str] = []
    status: str  # done | error | timeout
    verdict: str = ""
    healthy: bool = False
    top_cause: str = ""
    confidence: float | None = None
    confirmed: bool = False
    cause_status: str = ""
    seconds: float = 0.0
    reason: str = ""
    report: str = ""
    patch: str = (
        ""  # "verified" (OUT/<run>/fix.patch), "not offered: <why>", or empty without --patch
    )
    run_id: str = ""  # a run read from an experiment tracker (MLflow): its id, status, params, tags
    run_status: str = ""
    params: dict[str, str] = {}
    tags: dict[str, str] = {}
    notes: list[str] = []  # about the run's diagnosis by the batch (a temporary folder left)

    @classmethod
    def from_report(
        cls, run: Run, report: Path, returncode: int | None, stderr: str, seconds: float
    ) -> BatchRow:
        base: dict[str, Any] = {
            "name": run.name,
            "script": str(run.script),
            "args": run.args,
            "seconds": round(seconds, 2),
        }
        if returncode is None:
            return cls(**base, status="timeout", reason=stderr)
        try:
            data = json.loads(report.read_text())
        except (OSError, ValueError):
            last = [line for line in stderr.splitlines() if line.strip()]
            return cls(
                **base,
                status="error",
                reason=(last[-1] if last else f"exit code {returncode}")[:300],
            )
        return cls.from_diagnosis(run.name, str(run.script), data, seconds, run.args)

    @classmethod
    def from_diagnosis(
        cls,
        name: str,
        script: str,
        report: dict[str, Any],
        seconds: float,
        args: list[str] | None = None,
    ) -> BatchRow:
        """The row of a finished diagnosis, from its ``report.json`` content."""
        top = report["causes"][0] if report.get("causes") else {}
        return cls(
            name=name,
            script=script,
            args=args or [],
            seconds=round(seconds, 2),
            status="done",
            verdict=report["verdict"],
            healthy=report["healthy"],
            top_cause=top.get("id", ""),
            confidence=top.get("confidence"),
            confirmed=top.get("confirmed", False),
            cause_status=top.get("status", ""),
            reason=report.get("summary", "")[:300],
            patch=_patch_column(report.get("patch")),
        )

    @property
    def patch_link(self) -> str:
        return f"{self.name}/fix.patch" if self.patch == "verified" else ""

    @property
    def group(self) -> str:
        """What the run is filed under: its top cause when one was found, else its verdict (a run
        that does not learn with no established cause is filed as such, not under a suspect)."""
        if self.status != "done":
            return self.status
        if self.healthy or self.verdict == "not_learning":
            return self.verdict
        return self.top_cause or self.verdict


def _patch_column(patch: dict[str, Any] | None) -> str:
    if not patch:
        return ""
    return "verified" if patch.get("offered") else f"not offered: {patch.get('reason', '')}"[:300]


def groups(rows: list[BatchRow]) -> list[dict[str, Any]]:
    """Runs by group, largest group first ("7 runs: lr_too_high"), with the run ids when the runs
    come from a tracker, and the params whose values tell the groups apart."""
    members: dict[str, list[BatchRow]] = defaultdict(list)
    for row in rows:
        members[row.group].append(row)
    ordered = sorted(members.items(), key=lambda item: (-len(item[1]), item[0]))
    telling = differing_params([group for _, group in ordered])
    found: list[dict[str, Any]] = []
    for name, group in ordered:
        entry: dict[str, Any] = {
            "group": name,
            "count": len(group),
            "runs": [r.name for r in group],
        }
        if any(r.run_id for r in group):
            entry["run_ids"] = [r.run_id for r in group]
        if telling:
            entry["params"] = {key: _values(group, key) for key in telling}
        found.append(entry)
    return found


def differing_params(grouped: list[list[BatchRow]]) -> list[str]:
    """The params whose values are not the same in every group (the ones that tell the story)."""
    keys = sorted({key for group in grouped for row in group for key in row.params})
    return [key for key in keys if len({tuple(_values(g, key)) for g in grouped}) > 1]


def _values(group: list[BatchRow], key: str) -> list[str]:
    """The values a group's runs had for a param, in order of first appearance ("-": not set)."""
    return list(dict.fromkeys(row.params.get(key, "-") for row in group))


def write_summaries(out: Path, rows: list[BatchRow], notes: Sequence[str] = ()) -> None:
    """summary.json, summary.csv and index.html; ``notes`` concern the batch as a whole."""
    summary = {
        "runs": len(rows),
        "healthy": sum(r.healthy for r in rows),
        "problems": sum(r.status == "done" and not r.healthy for r in rows),
        "not_learning": sum(r.verdict == "not_learning" for r in rows),
        "errors": sum(r.status != "done" for r in rows),
        "groups": groups(rows),
        "notes": list(notes),
        "rows": [r.model_dump() for r in rows],
    }
    atomic.write_text(out / "summary.json", json.dumps(summary, indent=1))
    atomic.write_text(out / "summary.csv", _csv(rows))
    atomic.write_text(out / "index.html", render_index(rows, groups(rows), notes))


def _csv(rows: list[BatchRow]) -> str:
    """One line per run; runs from a tracker add their id, status and a column per param and
    per tag."""
    tracked = any(row.run_id for row in rows)
    params = sorted({key for row in rows for key in row.params})
    tags = sorted({key for row in rows for key in row.tags})
    columns = [
        *CSV_COLUMNS,
        *(TRACKER_COLUMNS if tracked else ()),
        *(f"param.{k}" for k in params),
        *(f"tag.{k}" for k in tags),
    ]
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        values = row.model_dump()
        values.update({f"param.{k}": v for k, v in row.params.items()})
        values.update({f"tag.{k}": v for k, v in row.tags.items()})
        writer.writerow(values)
    return buffer.getvalue()
