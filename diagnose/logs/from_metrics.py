"""``diagnose logs``: diagnose runs that can no longer be rerun, from the metrics they logged.

A log holds a training-loss curve, maybe validation passes and a learning rate per step; nothing
about the model, gradients or data. The evidence built here fills only those sections, so every
rule that needs more is reported "not evaluated" by the engine instead of being passed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

from diagnose.batch.runlist import unique_names
from diagnose.batch.summary import BatchRow, write_summaries
from diagnose.diagnosis import Diagnosis
from diagnose.evidence import Evidence, ObservedRun, RunInfo
from diagnose.logs.metrics import LoggedMetrics, find_logs, read_metrics
from diagnose.probes.sections import EvalPass, LossSection, OptimizerSection
from diagnose.reports.writer import check_formats, check_output, write_reports
from diagnose.rules.judge import judge
from diagnose.rules.loader import RuleBook

SCENARIO = "logs"


def logs_evidence(
    metrics: LoggedMetrics, script: str | None = None, notes: Sequence[str] = ()
) -> Evidence:
    """Evidence holding what the log holds: the loss curve, validation passes, the learning rate
    (``script`` names the run when the log is not a file: an MLflow run)."""
    loss = metrics.loss
    first_bad = next((s for s, v in zip(loss.steps, loss.values) if not math.isfinite(v)), None)
    accuracy = dict(zip(metrics.val_accuracy.steps, metrics.val_accuracy.values))
    passes = [
        EvalPass(
            after_step=step,
            samples=0,
            loss=value,
            accuracy=accuracy.get(step),
            forwards=0,
            forwards_in_train_mode=0,
        )
        for step, value in zip(metrics.val_loss.steps, metrics.val_loss.values)
    ]
    columns = ", ".join(f"{role}={name}" for role, name in metrics.columns.items())
    run = RunInfo(
        scenario=SCENARIO,
        status="completed",
        steps=len(loss.values),
        backward_calls=len(loss.values),
        notes=[
            *notes,
            f"Diagnosed from logged metrics ({columns}); only the rules a log can inform were "
            f"evaluated.",
        ],
    )
    observed = ObservedRun(
        run=run,
        loss=LossSection(
            steps=list(loss.steps),
            values=list(loss.values),
            first_nonfinite_step=first_bad,
            eval_passes=passes,
        )
        if loss.values or passes
        else None,
        optimizer=OptimizerSection(
            lr_steps=list(metrics.lr.steps), lr_values=list(metrics.lr.values)
        )
        if metrics.lr.values
        else None,
    )
    return Evidence(script=script or str(metrics.source), observe=observed)


def diagnose_logs(
    paths: Sequence[Path],
    book: RuleBook,
    *,
    out: Path,
    formats: Sequence[str],
    templates: Path | None = None,
) -> list[tuple[BatchRow, Diagnosis]]:
    """One log: its reports go straight into ``out``. Several: ``out/<log>/`` each, plus the batch
    summaries (index.html, summary.json/csv) grouping them by top cause."""
    check_formats(formats)
    logs = [log for path in paths for log in find_logs(path)]
    metrics = [read_metrics(log) for log in logs]  # every log readable before anything is written
    names = unique_names([_name(log) for log in logs])
    single = len(logs) == 1
    folders = [out if single else out / name for name in names]
    for folder in folders:
        check_output(folder, formats)
    results = [
        diagnose_evidence(logs_evidence(logged), name, folder, book, formats, templates)
        for name, folder, logged in zip(names, folders, metrics)
    ]
    if not single:
        write_summaries(out, [row for row, _ in results])
    return results


def diagnose_evidence(
    evidence: Evidence,
    name: str,
    folder: Path,
    book: RuleBook,
    formats: Sequence[str],
    templates: Path | None = None,
) -> tuple[BatchRow, Diagnosis]:
    """Judge one log's evidence, write its reports into ``folder``; its row in the summaries."""
    started = time.monotonic()
    diagnosis = judge(evidence, book)
    write_reports(diagnosis, evidence, folder, formats, templates)
    row = BatchRow.from_diagnosis(
        name, evidence.script, diagnosis.model_dump(mode="json"), time.monotonic() - started
    )
    report = "report.html" if "html" in formats else "report.md" if "md" in formats else ""
    row.report = f"{name}/{report}" if report else ""
    return row, diagnosis


def _name(log: Path) -> str:
    """A run's name: its folder for event files and generic file names, else the file's stem."""
    if log.is_dir() or log.name.startswith("events.out.tfevents."):
        return (log if log.is_dir() else log.parent).name
    generic = {"metrics", "log", "logs", "progress", "history", "train", "scalars"}
    return log.parent.name if log.stem.lower() in generic and log.parent.name else log.stem
