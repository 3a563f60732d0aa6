"""The terminal: progress while scenarios run, then the short summary (verdict, top causes with a
one-line fix each, the notes on the run, where the files are).

Rich formatting on a terminal; plain text when the output is not a TTY or with ``--no-color``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from diagnose.child.heartbeat import read_steps
from diagnose.diagnosis import Diagnosis
from diagnose.driver.progress import Progress
from diagnose.reports.view import VERDICT_LABELS, status_label, where

SHOWN = 5


def print_summary(
    diagnosis: Diagnosis, files: list[Path], *, color: bool = True, stream: TextIO | None = None
) -> None:
    stream = stream or sys.stdout
    if color and stream.isatty():
        _rich(diagnosis, files, Console(file=stream))
    else:
        stream.write(plain_summary(diagnosis, files))


def plain_summary(diagnosis: Diagnosis, files: list[Path]) -> str:
    lines = [
        f"nn-diagnose: {Path(diagnosis.script).name}: {VERDICT_LABELS[diagnosis.verdict]}",
        diagnosis.summary,
    ]
    for rank, cause in enumerate(diagnosis.causes[:SHOWN], 1):
        fix = cause.fixes[0].text if cause.fixes else ""
        at = f", at {where(cause.where)}" if cause.where else ""
        lines.append(
            f"  {rank}. {cause.title} [{cause.id}] {cause.confidence:.0%}, "
            f"{status_label(cause)}{at}: {fix}"
        )
    if diagnosis.verdict == "not_learning" and diagnosis.ruled_out:
        lines.append(f"Ruled out by replays: {ruled_out(diagnosis)}")
    if diagnosis.patch is not None:
        lines.append(patch_line(diagnosis))
    lines += [f"Note: {note}" for note in diagnosis.notes]
    if files:
        lines.append("Reports: " + ", ".join(str(f) for f in files))
    return "\n".join(lines) + "\n"


def patch_line(diagnosis: Diagnosis) -> str:
    """The patch in one line: verified and where, or why there is none."""
    patch = diagnosis.patch
    if patch is None:
        return ""
    if patch.offered:
        return (
            f"Patch for {patch.cause}, verified by running it: {patch.summary} "
            "(fix.patch, patched/)"
        )
    return f"No patch for {patch.cause}: {patch.reason}"


def ruled_out(diagnosis: Diagnosis, shown: int = 6) -> str:
    """The causes experiments spoke against, the first few by name."""
    ids = list(dict.fromkeys(r.id for r in diagnosis.ruled_out))
    more = f" and {len(ids) - shown} more (see the report)" if len(ids) > shown else ""
    return ", ".join(ids[:shown]) + more


def _rich(diagnosis: Diagnosis, files: list[Path], console: Console) -> None:
    style = "bold green" if diagnosis.healthy else "bold red"
    console.print(
        f"[{style}]{VERDICT_LABELS[diagnosis.verdict]}[/] — {Path(diagnosis.script).name}",
        highlight=False,
    )
    console.print(diagnosis.summary, markup=False, highlight=False)
    if diagnosis.causes:
        table = Table(show_header=True, header_style="bold")
        for column in ("#", "Cause", "Confidence", "First fix"):
            table.add_column(column, overflow="fold")
        for rank, cause in enumerate(diagnosis.causes[:SHOWN], 1):
            confidence = f"{cause.confidence:.0%} " + (
                "✔ confirmed" if cause.confirmed else status_label(cause)
            )
            table.add_row(
                str(rank),
                f"{cause.title}\n[dim]{cause.id}"
                + (f" at {escape(where(cause.where))}" if cause.where else "")
                + "[/]",
                confidence,
                cause.fixes[0].text if cause.fixes else "",
            )
        console.print(table)
    if diagnosis.verdict == "not_learning" and diagnosis.ruled_out:
        console.print(f"[dim]ruled out by replays:[/] {ruled_out(diagnosis)}", highlight=False)
    if diagnosis.patch is not None:
        console.print(patch_line(diagnosis), markup=False, highlight=False)
    for note in diagnosis.notes:
        console.print(Text.assemble(("note: ", "dim"), note), highlight=False)
    for path in files:
        console.print(f"[dim]report:[/] {path}", highlight=False)


class LiveProgress(Progress):
    """A live line for the running scenario (spinner, steps, elapsed), a line per finished one."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.live: Live | None = None
        self.current: _Running | None = None

    def scenario(self, name: str, why: str, max_steps: int, heartbeat: Path) -> None:
        self._end_current()
        self.current = _Running(name, why, max_steps, heartbeat)
        if self.live is None:
            self.live = Live(
                self.current, console=self.console, refresh_per_second=8, transient=True
            )
            self.live.start()
        else:
            self.live.update(self.current)

    def finished(self) -> None:
        self._end_current()
        if self.live is not None:
            self.live.stop()
            self.live = None

    def _end_current(self) -> None:
        if self.current is not None:
            self.console.print(f"[green]✓[/] {self.current.done()}", highlight=False)
            self.current = None


class PlainProgress(Progress):
    """One line when a scenario starts and one when it ends: for logs and pipes."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.current: _Running | None = None

    def scenario(self, name: str, why: str, max_steps: int, heartbeat: Path) -> None:
        self.finished()
        self.current = _Running(name, why, max_steps, heartbeat)
        print(f"diagnose: {name}: {why} (up to {max_steps} steps)", file=self.stream, flush=True)

    def finished(self) -> None:
        if self.current is not None:
            print(f"diagnose: {self.current.done()}", file=self.stream, flush=True)
            self.current = None


class _Running:
    """The scenario under way, rendered afresh at each refresh from its heartbeat file."""

    def __init__(self, name: str, why: str, max_steps: int, heartbeat: Path) -> None:
        self.name, self.why, self.max_steps, self.heartbeat = name, why, max_steps, heartbeat
        self.started = time.monotonic()
        self.spinner = Spinner("dots")

    def steps(self) -> str:
        steps = read_steps(self.heartbeat)
        return "starting" if steps is None else f"step {steps}/{self.max_steps}"

    def done(self) -> str:
        steps = read_steps(self.heartbeat) or 0
        return f"{self.name}: {steps} steps in {time.monotonic() - self.started:.1f} s"

    def __rich__(self) -> Spinner:
        elapsed = time.monotonic() - self.started
        self.spinner.update(
            text=Text.assemble(
                (self.name, "bold"), f"  {self.steps()}  {elapsed:.1f} s  ", (self.why, "dim")
            )
        )
        return self.spinner


def progress_display(stream: TextIO, color: bool) -> Progress:
    """Live on a terminal, plain lines otherwise (or with --no-color)."""
    if color and stream.isatty():
        return LiveProgress(Console(file=stream))
    return PlainProgress(stream)
