"""``diagnose logs --mlflow URI``: every run of an MLflow store diagnosed from its metric history.

Each run becomes the Evidence a log can hold (``from_metrics.logs_evidence``), its metric names
mapped to roles by the same word rules as the other log formats. Runs are filed by cause in the
batch summaries with their run ids, names, params and tags, and the params that tell the groups
apart (the learning rate, the batch size, the weight decay...). With ``log_back`` each run gets its
reports as artifacts and the ``diagnose.*`` tags.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from diagnose.batch.runlist import unique_names
from diagnose.batch.summary import BatchRow, write_summaries
from diagnose.diagnosis import Diagnosis
from diagnose.errors import UsageError
from diagnose.logs.from_metrics import diagnose_evidence, logs_evidence
from diagnose.logs.mlflow_store import TrackedRun, attach, diagnosis_tags, read_runs
from diagnose.reports.writer import check_formats, check_output
from diagnose.rules.loader import RuleBook


def diagnose_mlflow(
    uri: str,
    book: RuleBook,
    *,
    out: Path,
    formats: Sequence[str],
    templates: Path | None = None,
    experiment: str | None = None,
    status: str | None = None,
    log_back: bool = False,
) -> list[tuple[BatchRow, Diagnosis | None]]:
    """Each run of the store into ``out/<run name>/``, and the summaries grouping them by cause."""
    check_formats(formats)
    runs = read_runs(uri, experiment, status)
    if not runs:
        chosen = [
            f"experiment {experiment!r}" if experiment else "",
            f"status {status}" if status else "",
        ]
        which = ", ".join(filter(None, chosen))
        raise UsageError(f"{uri}: no runs to diagnose{f' ({which})' if which else ''}")
    names = unique_names([run.name for run in runs])
    for name in names:
        check_output(out / name, formats)
    results = []
    for name, run in zip(names, runs):
        row, diagnosis = _diagnose_run(run, name, out / name, book, formats, templates)
        if log_back and diagnosis is not None:
            report = diagnosis.model_dump(mode="json")
            attach(uri, run.run_id, out / name, diagnosis_tags(report))
        results.append((row, diagnosis))
    write_summaries(out, [row for row, _ in results])
    return results


def _diagnose_run(
    run: TrackedRun,
    name: str,
    folder: Path,
    book: RuleBook,
    formats: Sequence[str],
    templates: Path | None,
) -> tuple[BatchRow, Diagnosis | None]:
    script = f"mlflow:{run.experiment}/{run.name}"
    if run.metrics is None:
        row = BatchRow(name=name, script=script, status="error", reason=run.problem)
        return _tracked_row(row, run), None
    params = ", ".join(f"{k}={v}" for k, v in sorted(run.params.items())) or "none"
    tags = ", ".join(f"{k}={v}" for k, v in run.tags.items()) or "none"
    note = (
        f"MLflow run {run.run_id} ({run.name}) of experiment {run.experiment!r}, status "
        f"{run.status}; params: {params}; tags: {tags}."
    )
    started = time.monotonic()
    row, diagnosis = diagnose_evidence(
        logs_evidence(run.metrics, script, [note]), name, folder, book, formats, templates
    )
    row.seconds = round(time.monotonic() - started, 2)
    return _tracked_row(row, run), diagnosis


def _tracked_row(row: BatchRow, run: TrackedRun) -> BatchRow:
    row.run_id, row.run_status = run.run_id, run.status
    row.params, row.tags = dict(run.params), dict(run.tags)
    return row
