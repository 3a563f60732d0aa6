"""``diagnose logs PATH...`` / ``diagnose logs --mlflow URI``: diagnose runs from their logged
metrics (parsing and printing only)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from diagnose.errors import EXIT_HEALTHY, EXIT_PROBLEMS, UsageError

if TYPE_CHECKING:
    from diagnose.batch.summary import BatchRow
    from diagnose.diagnosis import Diagnosis


def parser(make: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from diagnose.cli.main import add_output_options

    p = make(
        prog="diagnose logs",
        description="Diagnose runs that cannot be rerun, from their logged metrics: CSV or JSONL "
        "with step/loss/val_loss/lr columns, TensorBoard event files (a file or a log folder), or "
        "the runs of an MLflow tracking store (--mlflow).",
    )
    p.add_argument("paths", nargs="*", type=Path, help="metrics logs, or folders holding them")
    p.add_argument(
        "--mlflow",
        metavar="URI",
        help="an MLflow store: sqlite:///mlflow.db, http://host:5000, or an mlruns/ folder",
    )
    p.add_argument("--experiment", help="with --mlflow: only this experiment's runs")
    p.add_argument("--status", help="with --mlflow: only runs of this status (FAILED, FINISHED...)")
    p.add_argument(
        "--mlflow-log",
        action="store_true",
        help="with --mlflow: attach each report to its run and set diagnose.* tags on it",
    )
    add_output_options(p)
    return p


def main(argv: list[str], make: type[argparse.ArgumentParser]) -> int:
    from diagnose.cli.main import formats, report_files
    from diagnose.facade import rule_book
    from diagnose.reports.terminal import print_summary

    options = parser(make).parse_args(argv)
    _check(options)
    results: Sequence[tuple[BatchRow, Diagnosis | None]]
    if options.mlflow:
        from diagnose.logs.from_mlflow import diagnose_mlflow

        results = diagnose_mlflow(
            options.mlflow,
            rule_book(options.rules),
            out=options.out,
            formats=formats(options.format),
            templates=options.templates,
            experiment=options.experiment,
            status=options.status,
            log_back=options.mlflow_log,
        )
    else:
        from diagnose.logs.from_metrics import diagnose_logs

        results = diagnose_logs(
            options.paths,
            rule_book(options.rules),
            out=options.out,
            formats=formats(options.format),
            templates=options.templates,
        )
    if not options.quiet:
        single = results[0][1] if len(results) == 1 and not options.mlflow else None
        if single is not None:
            print_summary(single, report_files(options.out), color=not options.no_color)
        else:
            for row, _ in results:
                found = (
                    f" {row.top_cause} {row.confidence:.0%}"
                    if row.top_cause and row.confidence is not None
                    else ""
                )
                print(f"{row.name}: {row.verdict or row.status}{found}")
            attached = " (reports attached to the MLflow runs)" if options.mlflow_log else ""
            print(
                f"{len(results)} runs: {sum(row.healthy for row, _ in results)} healthy; "
                f"summary: {options.out / 'index.html'}{attached}"
            )
    return EXIT_HEALTHY if all(row.healthy for row, _ in results) else EXIT_PROBLEMS


def _check(options: argparse.Namespace) -> None:
    if options.mlflow and options.paths:
        raise UsageError("give log files or --mlflow URI, not both")
    if not options.mlflow and not options.paths:
        raise UsageError("give log files, or --mlflow URI for the runs of an MLflow store")
    if not options.mlflow and (options.experiment or options.status or options.mlflow_log):
        raise UsageError("--experiment, --status and --mlflow-log go with --mlflow URI")
