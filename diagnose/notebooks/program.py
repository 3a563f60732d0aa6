"""A notebook as the one program its code cells make, run in order as "Run All" would.

Each code cell is translated with IPython's own input transformers (``%matplotlib inline`` becomes
``get_ipython().run_line_magic(...)``, ``!cmd`` becomes ``get_ipython().system(...)``), which keep
one program line per cell line. A cell magic hands its whole body to IPython as a string, out of
sight of the observation, so ``%%time`` (the one a training cell most often carries) is run
inline instead: its body stays the user's code, observed and patchable, between two calls that
print the times as IPython does. Each cell is preceded by a ``# %% cell N`` line, so the program
reads as a ``.py`` export of the notebook (the one a patch is written against).
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.errors import UsageError
from diagnose.evidence import NotebookCell, NotebookMap

SUFFIX = ".ipynb"
EXTRA = 'pip install "nn-diagnose[notebooks]"'
HEADER = re.compile(r"^# %% cell (\d+)$")
TIME_MAGIC = re.compile(r"^%%time[ \t]*$")
TIMER_START = "get_ipython().start_cell_timer()\n"
TIMER_STOP = "get_ipython().stop_cell_timer()\n"


@dataclass(frozen=True)
class NotebookProgram:
    """The program a notebook runs as, and where each code cell sits in it."""

    path: Path
    code: str
    cells: list[NotebookCell]

    @property
    def map(self) -> NotebookMap:
        return NotebookMap(path=str(self.path), cells=self.cells)

    def child_spec(self) -> dict[str, Any]:
        """What the child needs to run it: the program, and each cell's span of lines."""
        return {
            "code": self.code,
            "cells": [[c.first_line, c.lines, c.index] for c in self.cells],
        }

    def cell_code(self, code: str) -> dict[int, list[str]]:
        """The lines of each cell in a version of this program (its own, or a patched one)."""
        found: dict[int, list[str]] = {}
        current: list[str] | None = None
        for line in code.splitlines(keepends=True):
            header = HEADER.match(line.rstrip("\r\n"))
            if header:
                current = found.setdefault(int(header.group(1)), [])
            elif current is not None:
                current.append(line)
        return found


def is_notebook(path: Path) -> bool:
    return path.suffix.lower() == SUFFIX


def require_extra(path: Path) -> None:
    """Without nbformat and IPython a notebook cannot be read or run: say which extra to install."""
    missing = [name for name in ("nbformat", "IPython") if importlib.util.find_spec(name) is None]
    if missing:
        raise UsageError(f"{path}: running a notebook needs {' and '.join(missing)}: {EXTRA}")


def read_program(path: Path) -> NotebookProgram:
    """Read a notebook with nbformat and translate its code cells into one program; a notebook that
    cannot be read, is not Python, or does not compile is bad input (one line, naming the cell)."""
    require_extra(path)
    notebook = read_notebook(path)
    language = _language(notebook)
    if language and language != "python":
        raise UsageError(f"{path}: not a Python notebook (its kernel runs {language})")
    sources = [
        (index, cell.source)
        for index, cell in enumerate(notebook.cells, 1)
        if cell.cell_type == "code"
    ]
    program = translate(path.resolve(), sources)
    _check_syntax(program)
    return program


def read_notebook(path: Path) -> Any:
    import nbformat

    try:
        with open(path, encoding="utf-8") as handle:
            return nbformat.read(handle, as_version=nbformat.NO_CONVERT)
    except OSError as error:
        raise UsageError(f"{path}: cannot read ({error.strerror})") from None
    except Exception as error:  # nbformat raises JSON, schema and version errors of many types
        raise UsageError(f"{path}: not a readable notebook ({type(error).__name__})") from None


def _language(notebook: Any) -> str:
    metadata = notebook.get("metadata", {})
    info = metadata.get("language_info", {}) or {}
    kernel = metadata.get("kernelspec", {}) or {}
    return str(info.get("name") or kernel.get("language") or "").lower()


def translate(path: Path, sources: list[tuple[int, str]]) -> NotebookProgram:
    """The program of ``sources`` (each code cell's place in the notebook and its text)."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    chunks: list[str] = []
    cells: list[NotebookCell] = []
    line = 1
    for index, source in sources:
        code = cell_program(manager, source)
        chunks += [f"# %% cell {index}\n", code]
        cells.append(
            NotebookCell(index=index, first_line=line + 1, lines=code.count("\n"), source=source)
        )
        line += 1 + code.count("\n")
    return NotebookProgram(path=path, code="".join(chunks), cells=cells)


def cell_program(manager: Any, source: str) -> str:
    """One cell as program lines: IPython's translation, with ``%%time`` run inline."""
    if not source.strip():
        return ""
    first, _, body = source.partition("\n")
    if TIME_MAGIC.match(first):
        return (
            TIMER_START + _ended(manager.transform_cell(body) if body.strip() else "") + TIMER_STOP
        )
    return _ended(manager.transform_cell(source))


def _ended(code: str) -> str:
    return code if not code or code.endswith("\n") else code + "\n"


def _check_syntax(program: NotebookProgram) -> None:
    try:
        compile(program.code, str(program.path), "exec", dont_inherit=True)
    except SyntaxError as error:
        where = program.map.where(str(program.path), error.lineno or 0)
        raise UsageError(f"{where}: SyntaxError: {error.msg}") from None
    except ValueError as error:
        raise UsageError(f"{program.path}: not a Python notebook ({error})") from None
