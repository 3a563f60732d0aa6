"""The sandbox goes with the processes the script starts by spawn or forkserver.

Such a process (a DataLoader worker with ``multiprocessing_context="spawn"``, or the script's own
``multiprocessing.Process``) begins as a fresh interpreter: it imports the script again as
``__mp_main__``, running its top-level code, then the work it was given. It inherits nothing
installed in the run's process, so it would write into the user's folder. multiprocessing sends
each such process its preparation data (paths, the main module to import) pickled; the run adds
an entry whose unpickling installs the same sandbox in the new process, before the script is
imported there. ``prepare()`` ignores the entry itself. Processes started by fork inherit the
sandbox as it is.
"""

from __future__ import annotations

import functools
import multiprocessing.spawn
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from diagnose.child.patching import Patches
    from diagnose.child.sandbox import Sandbox

ENTRY = "nn_diagnose_sandbox"


class _Carried:
    """Pickles as a call that installs the sandbox where it is unpickled."""

    def __init__(self, scratch: Path, exempt: list[Path]) -> None:
        self.scratch, self.exempt = str(scratch), [str(path) for path in exempt]

    def __reduce__(self) -> tuple[Callable[..., None], tuple[str, list[str]]]:
        return install, (self.scratch, self.exempt)


def carry(sandbox: Sandbox, patches: Patches) -> None:
    """Add the sandbox to the preparation data of every process started by spawn or forkserver."""
    carried = _Carried(sandbox.scratch, sandbox.folders)

    def wrap(original: Callable[..., dict[str, Any]]) -> Callable[..., dict[str, Any]]:
        @functools.wraps(original)
        def get_preparation_data(name: str) -> dict[str, Any]:
            return {**original(name), ENTRY: carried}

        return get_preparation_data

    patches.replace(multiprocessing.spawn, "get_preparation_data", wrap)


def install(scratch: str, exempt: list[str]) -> None:
    """In the new process: the run's sandbox, for the life of the process."""
    from diagnose.child.sandbox import Sandbox  # the sandbox module imports this one

    Sandbox(Path(scratch), [Path(path) for path in exempt]).install()
