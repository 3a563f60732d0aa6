"""A patch of a notebook's program, turned back into a patched notebook.

The edits of ``--patch`` are made on the program the notebook ran as (its code cells in order,
see ``diagnose.notebooks.program``), located by the run's records like a script's. Each changed
cell is rebuilt from its own source: lines the edit kept come from the cell as written (magics
stay magics), lines it added are the edit's. The notebook is then written with nbformat with that
cell's source replaced and its outputs cleared; every other cell is left as it was. The diff
(``fix.patch``) is against that program, named as a ``.py`` export of the notebook would be
(``train.py``); it is not nbconvert's export: each cell follows a ``# %% cell N`` line and its
magics are IPython's translation of them.
"""

from __future__ import annotations

import difflib
import re

from diagnose.evidence import PatchAttempt, PatchedFile
from diagnose.notebooks.program import TIME_MAGIC, NotebookProgram, read_notebook
from diagnose.patch.source import NoEdit


def as_notebook_patch(program: NotebookProgram, attempt: PatchAttempt) -> PatchAttempt:
    """``attempt`` with the notebook's program replaced by the patched notebook, the diff named
    as the program's ``.py`` file, and the edits' notes in cells and lines; or why no notebook
    can be made."""
    name = program.path.name
    edited = next((f for f in attempt.files if f.path == name), None)
    if edited is None:
        return attempt
    try:
        notebook = patched_notebook(program, edited.text)
    except NoEdit as reason:
        return PatchAttempt(
            cause=attempt.cause,
            edit=attempt.edit,
            root=attempt.root,
            not_offered=f"no local edit found: {reason}",
        )
    files = [PatchedFile(path=name, text=notebook) if f is edited else f for f in attempt.files]
    return attempt.model_copy(
        update={
            "files": files,
            "diff": _renamed(attempt.diff, name, export_name(program)),
            "changes": [in_cells(program, note) for note in attempt.changes],
        }
    )


def export_name(program: NotebookProgram) -> str:
    """The name the program's diff goes by: the notebook's, as a ``.py`` file."""
    return program.path.with_suffix(".py").name


def patched_notebook(program: NotebookProgram, code: str) -> str:
    """The notebook, as nbformat writes it, with each cell the patched program changed rebuilt."""
    import nbformat

    before, after = program.cell_code(program.code), program.cell_code(code)
    if set(before) != set(after):
        raise NoEdit("the edit moved code across the notebook's cells")
    notebook = read_notebook(program.path)
    for cell in program.cells:
        if before[cell.index] != after[cell.index]:
            target = notebook.cells[cell.index - 1]
            target.source = cell_source(
                cell.index, cell.source, before[cell.index], after[cell.index]
            )
            target.outputs = []
            target.execution_count = None
    text = nbformat.writes(notebook)
    return text if text.endswith("\n") else text + "\n"


def cell_source(index: int, source: str, old: list[str], new: list[str]) -> str:
    """The cell's new source: its own lines where the edit kept the program's, the edit's where it
    changed them. A line IPython translated (a magic) is never rewritten."""
    written = [line if line.endswith("\n") else line + "\n" for line in source.splitlines()]
    timed = bool(written) and TIME_MAGIC.match(written[0].rstrip("\n")) is not None
    if len(old) != len(written) + timed:
        raise NoEdit(f"cell {index} runs through a cell magic; make the edit in it by hand")
    rebuilt: list[str] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            rebuilt += written[i1 : min(i2, len(written))]
            continue
        for i in range(i1, i2):
            if i >= len(written) or written[i].rstrip() != old[i].rstrip():
                raise NoEdit(f"the edit falls on an IPython line of cell {index}")
        rebuilt += new[j1:j2]
    text = "".join(rebuilt)
    return text if source.endswith("\n") else text.removesuffix("\n")


LINE = re.compile(r"\b(lines?) (\d+)\b")


def in_cells(program: NotebookProgram, note: str) -> str:
    """An edit's note about the notebook (``train.ipynb: ... added after line 22``) with the
    program's line numbers given as cells and lines."""
    name = program.path.name
    if not note.startswith(f"{name}:"):
        return note
    located = program.map

    def cell_line(match: re.Match[str]) -> str:
        found = located.locate(str(program.path), int(match.group(2)))
        return f"cell {found[0].index}, line {found[1]}" if found else match.group(0)

    return LINE.sub(cell_line, note)


def _renamed(diff: str, old: str, new: str) -> str:
    """The diff's header lines for the notebook, renamed to the program's ``.py`` name."""
    headers = {f"--- a/{old}": f"--- a/{new}", f"+++ b/{old}": f"+++ b/{new}"}
    return "".join(
        headers.get(line.rstrip("\n"), line.rstrip("\n")) + "\n"
        if line.rstrip("\n") in headers
        else line
        for line in diff.splitlines(keepends=True)
    )
