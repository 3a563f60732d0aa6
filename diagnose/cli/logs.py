"""``diagnose logs PATH...``: diagnose runs from their logged metrics (parse and print only)."""

from __future__ import annotations

import argparse
from pathlib import Path

from diagnose.errors import EXIT_HEALTHY, EXIT_PROBLEMS


def parser(make: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    from diagnose.cli.main import add_output_options

    p = make(
        prog="diagnose logs",
        description="Diagnose runs that cannot be rerun, from their logged metrics: CSV or JSONL "
        "with step/loss/val_loss/lr columns, or TensorBoard event files (a file or a log folder).",
    )
    p.add_argument("paths", nargs="+", type=Path, help="metrics logs, or folders holding them")
    add_output_options(p)
    return p


def main(argv: list[str], make: type[argparse.ArgumentParser]) -> int:
    from diagnose.cli.main import formats, report_files
    from diagnose.facade import rule_book
    from diagnose.logs.from_metrics import diagnose_logs
    from diagnose.reports.terminal import print_summary

    options = parser(make).parse_args(argv)
    results = diagnose_logs(
        options.paths,
        rule_book(options.rules),
        out=options.out,
        formats=formats(options.format),
        templates=options.templates,
    )
    if not options.quiet:
        if len(results) == 1:
            print_summary(results[0][1], report_files(options.out), color=not options.no_color)
        else:
            for row, _ in results:
                found = (
                    f" {row.top_cause} {row.confidence:.0%}"
                    if row.top_cause and row.confidence is not None
                    else ""
                )
                print(f"{row.name}: {row.verdict}{found}")
            print(
                f"{len(results)} logs: {sum(row.healthy for row, _ in results)} healthy; "
                f"summary: {options.out / 'index.html'}"
            )
    return EXIT_HEALTHY if all(row.healthy for row, _ in results) else EXIT_PROBLEMS
