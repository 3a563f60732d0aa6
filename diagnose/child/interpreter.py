"""What the interpreter itself does when a script ends, done for the script the child ran.

``python train.py`` prints an uncaught exception's traceback and ``sys.exit("message")``'s
message on standard error, and runs the ``atexit`` handlers before the process ends. The child
catches the script's end to record it, and leaves with ``os._exit`` (a lingering thread or a
hanging handler must not keep it alive), so it does these itself: the traceback starts at the
script's own frame, as Python shows it, and the handlers run once the run's result is written,
for at most ``EXIT_SECONDS``.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
import traceback
from pathlib import Path
from types import TracebackType

from diagnose.child.userframe import is_ours

EXIT_SECONDS = 5.0


def report_crash(error: BaseException, script: Path) -> None:
    """The traceback Python prints for an uncaught exception: from the script's frame on,
    without the frames of the tool's wrappers the calls went through."""
    print_traceback(error, _without_ours(_from_script(error.__traceback__, str(script))))


def report_exit(exit_: SystemExit) -> None:
    """``sys.exit(message)`` prints a message that is not an exit code."""
    if exit_.code is not None and not isinstance(exit_.code, int):
        print(exit_.code, file=sys.stderr)


def print_traceback(error: BaseException, tb: TracebackType | None) -> None:
    sys.stdout.flush()
    traceback.print_exception(type(error), error, tb, file=sys.stderr)
    sys.stderr.flush()


def shut_down() -> None:
    """The script's atexit handlers, then the streams flushed; the process ends after this."""
    watchdog = threading.Timer(EXIT_SECONDS, os._exit, (0,))
    watchdog.daemon = True
    watchdog.start()
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()


def _without_ours(tb: TracebackType | None) -> TracebackType | None:
    """The traceback relinked past our frames (the script's crash is over: nothing reads the
    original chain any more)."""
    kept = [t for t in _chain(tb) if not is_ours(t.tb_frame.f_code.co_filename)]
    for current, following in zip(kept, [*kept[1:], None]):
        current.tb_next = following
    return kept[0] if kept else None


def _chain(tb: TracebackType | None) -> list[TracebackType]:
    found = []
    while tb is not None:
        found.append(tb)
        tb = tb.tb_next
    return found


def _from_script(tb: TracebackType | None, script: str) -> TracebackType | None:
    """The traceback from the first frame of the script (the runner's frames dropped)."""
    current = tb
    while current is not None:
        if current.tb_frame.f_code.co_filename == script:
            return current
        current = current.tb_next
    return None  # never reached the script (it does not compile): the exception says where
