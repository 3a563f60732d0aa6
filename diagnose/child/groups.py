"""Process groups: a run's interpreter with everything it started (DataLoader workers, ...).

Each run lives in a session of its own, so that its whole group can be stopped at once. A killed
process dies asynchronously, and a dead one stays a zombie until its parent reaps it (workers
whose parent is gone wait for the system's reaper, which in some containers never comes): the
tool's folders are removed only once no live process of the group is left.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

GONE_SECONDS = 5.0


def kill(pgid: int, sig: int = signal.SIGKILL) -> None:
    """Send ``sig`` to every process of the group (none left: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def stop(pgid: int, seconds: float = GONE_SECONDS) -> bool:
    """Kill the group and wait until none of it is alive; False if some process outlived
    ``seconds`` (it is left to the system)."""
    kill(pgid, signal.SIGKILL)
    deadline = time.monotonic() + seconds
    while alive(pgid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def alive(pgid: int) -> bool:
    """Whether a process of the group still runs (zombies do not count)."""
    proc = Path("/proc")
    if not proc.is_dir():  # not Linux: any member, zombies included
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return False
        return True
    for entry in proc.iterdir():
        if entry.name.isdigit() and _live_member(entry / "stat", pgid):
            return True
    return False


def _live_member(stat: Path, pgid: int) -> bool:
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()  # after "pid (command name)"
    except (OSError, IndexError):
        return False
    return len(fields) > 2 and fields[2] == str(pgid) and fields[0] not in ("Z", "X")
