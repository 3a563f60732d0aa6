"""The tool's temporary folder for a diagnosis: removed at the end, and never its downfall.

The runs of a diagnosis write their results, their output and the script's redirected files
there. By the time it is removed, every run and the processes it started have been stopped
(the runner and the fork client wait for their process groups to be gone). Should removing it
still fail (a process the script started in a session of its own and that keeps writing, a file
system that refuses), it is left in place and the diagnosis says so: the diagnosis itself is
complete, and a leftover temporary folder is no reason to lose it.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from pathlib import Path
from types import TracebackType

ATTEMPTS = 3
PAUSE_SECONDS = 0.2


class Workspace:
    """``with Workspace() as folder: ...``; afterwards ``leftover`` is a note when the folder
    could not be removed (None when it is gone)."""

    def __init__(self, prefix: str = "diagnose-") -> None:
        self.prefix = prefix
        self.path: Path | None = None
        self.leftover: str | None = None

    def __enter__(self) -> Path:
        self.path = Path(tempfile.mkdtemp(prefix=self.prefix))
        return self.path

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.path is not None:
            self.leftover = remove(self.path)


def remove(folder: Path) -> str | None:
    """Remove ``folder`` and everything in it, trying again briefly (a process that was just
    stopped may still be closing files there); a note when something is left."""
    failure: OSError | None = None
    for attempt in range(ATTEMPTS):
        try:
            shutil.rmtree(folder)
            return None
        except FileNotFoundError:
            return None
        except OSError as error:
            failure = error
            time.sleep(PAUSE_SECONDS * (attempt + 1))
    reason = failure.strerror if failure is not None and failure.strerror else str(failure)
    return (
        f"diagnose could not remove its temporary folder {folder} ({reason}): it was left in "
        "place; remove it once the processes the script started have ended."
    )
