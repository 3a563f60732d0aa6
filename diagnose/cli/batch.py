"""``diagnose batch PATH...``: the many-runs command (parsing and printing only)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path

from diagnose import defaults
from diagnose.batch.executor import (
    EXTRA_SECONDS,
    BatchOptions,
    Executor,
    LocalExecutor,
    clean_staging,
    run_batch,
)
from diagnose.batch.runlist import collect
from diagnose.batch.summary import BatchRow
from diagnose.errors import EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_USAGE, UsageError


def parser(make: type[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    cores = os.cpu_count() or 1
    p = make(
        prog="diagnose batch", description="Diagnose many training runs; group them by root cause."
    )
    p.add_argument(
        "paths", nargs="+", type=Path, help="scripts, folders, or run lists (.jsonl / .toml)"
    )
    p.add_argument("-o", "--out", type=Path, default=Path("diagnose-batch"), help="output folder")
    p.add_argument(
        "--jobs", type=int, default=cores, help=f"runs at once (default {cores}, the cores)"
    )
    p.add_argument("--force", action="store_true", help="redo runs that already finished")
    p.add_argument("--executor", choices=("local", "ray"), default="local")
    p.add_argument(
        "--cold",
        action="store_true",
        help="start every run's interpreters from scratch (default: fork them from one "
        "interpreter that imported torch once for the batch)",
    )
    p.add_argument("--address", help="Ray cluster address (default: start a local Ray)")
    p.add_argument("--gpus-per-run", type=float, default=0.0, help="GPUs requested per run (Ray)")
    p.add_argument("--format", default="md,html,json")
    p.add_argument("--steps", type=int, default=defaults.STEPS)
    p.add_argument("--timeout", type=float, default=defaults.TIMEOUT)
    p.add_argument("--budget", type=float, default=defaults.BUDGET)
    p.add_argument("--quick", action="store_true")
    p.add_argument(
        "--patch", action="store_true", help="a verified fix.patch per run, and a column for it"
    )
    p.add_argument(
        "--mlflow-log",
        action="store_true",
        help="attach each run's reports to the MLflow run its script opens",
    )
    p.add_argument("--rules", type=Path, action="append", default=[])
    p.add_argument("--no-color", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true")
    p.add_argument("--debug", action="store_true")
    return p


def main(argv: list[str], make: type[argparse.ArgumentParser]) -> int:
    from diagnose.cli.main import formats

    options = parser(make).parse_args(argv)
    if options.jobs < 1:
        raise UsageError("--jobs must be at least 1")
    runs = collect(options.paths)
    batch = BatchOptions(
        out=options.out,
        jobs=options.jobs,
        force=options.force,
        formats=formats(options.format),
        diagnose_args=_pass_through(options),
        run_seconds=options.timeout * 2 + options.budget + EXTRA_SECONDS,
        threads=max(1, (os.cpu_count() or 1) // options.jobs),
        cold=options.cold,
    )
    executor = _executor(options)
    try:
        rows = run_batch(runs, batch, executor, None if options.quiet else _printer(len(runs)))
    except KeyboardInterrupt:
        clean_staging(options.out)
        print(
            f"diagnose: interrupted; finished runs are kept in {options.out}, rerun to "
            "complete the rest",
            file=sys.stderr,
        )
        return EXIT_USAGE
    if not options.quiet:
        print(
            f"{len(rows)} runs: {sum(r.healthy for r in rows)} healthy; summary: "
            f"{options.out / 'index.html'}"
        )
        for note in executor.notes:
            print(f"note: {note}")
    return EXIT_HEALTHY if all(r.healthy for r in rows) else EXIT_PROBLEMS


def _pass_through(options: argparse.Namespace) -> list[str]:
    args = [
        "--steps",
        str(options.steps),
        "--timeout",
        str(options.timeout),
        "--budget",
        str(options.budget),
    ]
    args += ["--quick"] if options.quick else []
    args += ["--patch"] if options.patch else []
    args += ["--mlflow-log"] if options.mlflow_log else []
    for path in options.rules:
        args += ["--rules", str(path.resolve())]
    return args


def _executor(options: argparse.Namespace) -> Executor:
    if options.executor == "ray":
        from diagnose.batch.ray_executor import RayExecutor

        return RayExecutor(options.address, options.gpus_per_run)
    return LocalExecutor(options.jobs)


def _printer(total: int) -> Callable[[BatchRow, int, int], None]:
    def show(row: BatchRow, done: int, _total: int) -> None:
        found = (
            f"{row.top_cause} {row.confidence:.0%}"
            if row.top_cause and row.confidence is not None
            else ""
        )
        print(
            f"[{done}/{total}] {row.name}: {row.verdict or row.status} {found} "
            f"({row.seconds:.1f} s)",
            flush=True,
        )
        for note in row.notes:
            print(f"  note: {note}", flush=True)

    return show
