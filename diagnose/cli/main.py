"""The ``diagnose`` command: parse arguments, call the facade, print, exit with the contract's code.

    diagnose SCRIPT [-- SCRIPT_ARGS...] [-o OUT] [--format md,html,json]  exit 0 healthy, 1 problems
    diagnose report EVIDENCE.json [-o OUT] [--format ...]                 re-render, no rerun
    diagnose batch PATH... / diagnose logs PATH...                        many runs / logged metrics
    diagnose rules [--explain ID | --markdown]                            the rule book
Usage and tool errors print one line and exit 2 (a traceback only with --debug).
"""

from __future__ import annotations

import argparse
import importlib
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from diagnose import __version__, defaults
from diagnose.child.lifeline import TIED_ENV, stop_with_parent
from diagnose.errors import EXIT_HEALTHY, EXIT_PROBLEMS, EXIT_USAGE, UsageError

SUBCOMMANDS = {
    "batch": "diagnose.cli.batch",
    "logs": "diagnose.cli.logs",
    "rules": "diagnose.cli.rules",
}
DETAIL = {"default": defaults.EVERY, "full": 1}


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises (so it becomes our one-line message and exit 2)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--out",
        type=Path,
        default=Path("diagnose-report"),
        help="folder for report.md/html/json and evidence.json (default: ./diagnose-report)",
    )
    parser.add_argument("--format", default="md,html,json", help="comma-separated: md, html, json")
    parser.add_argument(
        "--rules",
        type=Path,
        action="append",
        default=[],
        help="extra rule file or folder of *.yaml rules (repeatable)",
    )
    parser.add_argument("--templates", type=Path, help="folder with your own report templates")
    parser.add_argument("--no-color", action="store_true", help="plain text output")
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of tool errors")


def _run_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="diagnose",
        description="Find out why a PyTorch training script does not learn.",
        epilog="Arguments after -- go to the script. Exit: 0 healthy, 1 problems, 2 usage error. "
        "Also: diagnose report EVIDENCE.json, diagnose batch PATH..., diagnose logs PATH...",
    )
    parser.add_argument(
        "script", type=Path, help="training script (or a folder holding train.py / diagnose.toml)"
    )
    add_output_options(parser)
    parser.add_argument(
        "--steps",
        type=int,
        default=defaults.STEPS,
        help=f"optimizer steps to observe (default {defaults.STEPS}, extended while a warm-up or "
        "the fit's fall is still on; any other number is kept exactly)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=defaults.TIMEOUT,
        help=f"seconds allowed per run (default {defaults.TIMEOUT:g})",
    )
    parser.add_argument(
        "--detail",
        choices=DETAIL,
        default="default",
        help="statistics sampling: default (every 20th step) or full (every step, ~1.5x slower)",
    )
    parser.add_argument(
        "--budget",
        type=float,
        default=defaults.BUDGET,
        help=f"seconds the agent may spend on replays after the run (default {defaults.BUDGET:g})",
    )
    parser.add_argument("--quick", action="store_true", help="the observed run only, no replays")
    parser.add_argument(
        "--observe",
        choices=("adaptive", "full"),
        default="adaptive",
        help="adaptive: a slow script stops being observed once its loss trend is settled "
        "(default); full: always the whole step budget",
    )
    parser.add_argument(
        "--nproc-per-node",
        type=int,
        default=1,
        metavar="N",
        help="launch the script as N processes, as torchrun --standalone does (gloo on CPU), "
        "and diagnose every rank",
    )
    parser.add_argument(
        "--patch",
        action="store_true",
        help="write the top cause's fix as OUT/fix.patch and OUT/patched/, once running the "
        "patched copy shows it works",
    )
    parser.add_argument(
        "--mlflow-log",
        action="store_true",
        help="attach the reports to the MLflow run the script opens, with diagnose.* tags",
    )
    parser.add_argument("--version", action="version", version=f"nn-diagnose {__version__}")
    return parser


def _report_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="diagnose report", description="Re-render reports from a saved evidence.json."
    )
    parser.add_argument(
        "evidence", type=Path, help="evidence.json written by an earlier diagnose run"
    )
    add_output_options(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    signal.signal(
        signal.SIGTERM, _interrupt
    )  # `kill` stops diagnose as cleanly as Ctrl-C: no orphan runs
    if os.environ.get(TIED_ENV, "").isdigit():
        stop_with_parent(int(os.environ[TIED_ENV]))  # a batch's run stops when its batch is killed
    try:
        return _dispatch(argv)
    except UsageError as error:
        print(f"diagnose: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("diagnose: interrupted", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # the reader left (`diagnose rules | head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_HEALTHY
    except Exception as error:
        if debug:
            raise
        print(
            f"diagnose: internal error: {type(error).__name__}: {error} (rerun with "
            "--debug for details)",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _dispatch(argv: list[str]) -> int:
    from diagnose import facade
    from diagnose.reports.terminal import print_summary, progress_display

    if argv and argv[0] in SUBCOMMANDS:
        command = importlib.import_module(SUBCOMMANDS[argv[0]])
        return command.main(argv[1:], _Parser)
    tool_args, script_args = _split(argv)
    if tool_args and tool_args[0] == "report":
        options = _report_parser().parse_args(tool_args[1:])
        diagnosis = facade.rerender(
            options.evidence,
            out=options.out,
            formats=formats(options.format),
            rules=options.rules,
            templates=options.templates,
        )
    else:
        options = _run_parser().parse_args(tool_args)
        _check_budget(options)
        progress = (
            None if options.quiet else progress_display(sys.stderr, color=not options.no_color)
        )
        diagnosis = facade.run(
            options.script,
            script_args,
            out=options.out,
            formats=formats(options.format),
            steps=options.steps,
            timeout=options.timeout,
            every=DETAIL[options.detail],
            budget=options.budget,
            quick=options.quick,
            adaptive=options.observe == "adaptive",
            rules=options.rules,
            templates=options.templates,
            progress=progress,
            nproc_per_node=options.nproc_per_node,
            patch=options.patch,
            mlflow_log=options.mlflow_log,
        )
    if not options.quiet:
        offered = diagnosis.patch is not None and diagnosis.patch.offered
        files = report_files(options.out) + ([options.out / "fix.patch"] if offered else [])
        print_summary(diagnosis, files, color=not options.no_color)
        if diagnosis.mlflow_run:
            print(f"Reports attached to MLflow run {diagnosis.mlflow_run}, with diagnose.* tags")
    return EXIT_HEALTHY if diagnosis.healthy else EXIT_PROBLEMS


def report_files(out: Path) -> list[Path]:
    """The reports written into ``out``, for the summary to point at."""
    return [
        out / name for name in ("report.md", "report.html", "report.json") if (out / name).exists()
    ]


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        index = argv.index("--")
        return argv[:index], argv[index + 1 :]
    return argv, []


def formats(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def _check_budget(options: argparse.Namespace) -> None:
    if options.steps < 1:
        raise UsageError("--steps must be at least 1")
    if options.timeout <= 0:
        raise UsageError("--timeout must be positive")
    if options.budget < 0:
        raise UsageError("--budget must not be negative")
