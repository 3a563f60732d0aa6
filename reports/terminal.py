"""The short terminal summary: verdict, top causes with a one-line fix each, where the files are.

Rich formatting on a terminal; plain text when the output is not a TTY or with ``--no-color``.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TextIO

from rich.console import Console
from rich.table import Table

from diagnose.diagnosis import Diagnosis
from diagnose.reports.view import VERDICT_LABELS

SHOWN = 5


def print_summary(diagnosis: Diagnosis, files: list[Path], *, color: bool = True,
                  stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    if color and stream.isatty():
        _rich(diagnosis, files, Console(file=stream))
    else:
        stream.write(plain_summary(diagnosis, files))


def plain_summary(diagnosis: Diagnosis, files: list[Path]) -> str:
    lines = [f"nn-diagnose: {Path(diagnosis.script).name}: {VERDICT_LABELS[diagnosis.verdict]}", diagnosis.summary]
    for rank, cause in enumerate(diagnosis.causes[:SHOWN], 1):
        fix = cause.fixes[0].text if cause.fixes else ""
        confirmed = ", confirmed" if cause.confirmed else ""
        lines.append(f"  {rank}. {cause.title} [{cause.id}] {cause.confidence:.0%}{confirmed}: {fix}")
    if files:
        lines.append("Reports: " + ", ".join(str(f) for f in files))
    return "\n".join(lines) + "\n"


def _rich(diagnosis: Diagnosis, files: list[Path], console: Console) -> None:
    style = "bold green" if diagnosis.healthy else "bold red"
    console.print(f"[{style}]{VERDICT_LABELS[diagnosis.verdict]}[/] — {Path(diagnosis.script).name}", highlight=False)
    console.print(diagnosis.summary, markup=False, highlight=False)
    if diagnosis.causes:
        table = Table(show_header=True, header_style="bold")
        for column in ("#", "Cause", "Confidence", "First fix"):
            table.add_column(column, overflow="fold")
        for rank, cause in enumerate(diagnosis.causes[:SHOWN], 1):
            confidence = f"{cause.confidence:.0%}" + (" ✔ confirmed" if cause.confirmed else "")
            table.add_row(str(rank), f"{cause.title}\n[dim]{cause.id}[/]", confidence,
                          cause.fixes[0].text if cause.fixes else "")
        console.print(table)
    for path in files:
        console.print(f"[dim]report:[/] {path}", highlight=False)
