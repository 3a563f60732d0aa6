"""Run a notebook in the child: the program its code cells make (translated in our process, see
``diagnose.notebooks``), executed as ``__main__`` under an IPython shell, as "Run All" would.

The program is compiled under the notebook's own path, with its text registered in ``linecache``,
so the user-code checks (the notebook's folder is the user's) and the source lines of findings work
unchanged; our process maps those lines back to "cell N, line M". The shell is a real
``InteractiveShell`` without a kernel (see ``diagnose.child.ipyshell``): ``get_ipython()``, line and
cell magics, ``display`` work; shell commands are not run. IPython is imported here only when the
target is a notebook.
"""

from __future__ import annotations

import builtins
import linecache
import os
import sys
import types
from pathlib import Path
from typing import Any


def run_notebook(
    notebook: Path, args: list[str], spec: dict[str, Any], notes: list[str], workdir: Path
) -> None:
    """Run ``spec["code"]`` as the notebook's program: its argv, its folder on sys.path and as the
    current directory (Jupyter starts a notebook's kernel there), IPython's files in ``workdir``."""
    filename = str(notebook)
    code: str = spec["code"]
    cells = [tuple(span) for span in spec["cells"]]
    linecache.cache[filename] = (len(code), None, code.splitlines(keepends=True), filename)
    compiled = compile(code, filename, "exec", dont_inherit=True)
    sys.argv = [filename, *args]
    sys.path.insert(0, str(notebook.parent))  # the launcher removed the working directory
    os.chdir(notebook.parent)
    os.environ["IPYTHONDIR"] = str(workdir / "ipython")
    from diagnose.child.ipyshell import start_shell  # IPython loads for notebooks only

    main = types.ModuleType("__main__")
    main.__dict__["__builtins__"] = builtins
    shell = start_shell(main, lambda line: cell_line(cells, line), filename, notes)
    notes.append(
        f"{notebook.name} ran as one program: its {len(cells)} code cells in order, IPython's "
        "magics translated by IPython (a %%time cell runs inline, so its code is observed)."
    )
    trap = shell.builtin_trap
    assert trap is not None, "an InteractiveShell sets up its builtin trap as it starts"
    with trap:
        exec(compiled, main.__dict__)


def cell_line(cells: list[tuple[int, ...]], line: int) -> str:
    """``cell 3, line 5`` for a line of the program."""
    for first, count, index in cells:
        if first <= line < first + count:
            return f"cell {index}, line {line - first + 1}"
    return f"line {line} of the program"
