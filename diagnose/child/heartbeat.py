"""How far a running scenario got, told from the child to the parent through a small file.

The child rewrites the file (atomically, at most twice a second, at step boundaries) with its
optimizer step count; the parent's progress display reads it while it waits. Standard library
only: the child writes it between the user's training steps.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

INTERVAL_SECONDS = 0.5


class Heartbeat:
    def __init__(self, path: str | None, interval: float = INTERVAL_SECONDS) -> None:
        self.path = path
        self.interval = interval
        self.last = 0.0

    def beat(self, steps: int, final: bool = False) -> None:
        now = time.monotonic()
        if self.path is None or (now - self.last < self.interval and not final):
            return
        self.last = now
        partial = f"{self.path}.partial"
        with open(partial, "w") as handle:
            handle.write(str(steps))
        os.replace(partial, self.path)


def read_steps(path: Path) -> int | None:
    """The last step count the child reported, or None before its first report."""
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None
