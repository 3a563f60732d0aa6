"""Tie a process to the one that started it: when that one dies, even by SIGKILL, this one gets
SIGTERM, which diagnose turns into a clean stop (evidence written, its own children stopped).

Linux's ``prctl(PR_SET_PDEATHSIG)``; elsewhere nothing happens and a killed diagnose leaves its
runs to end on their own budgets.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1
TIED_ENV = "DIAGNOSE_STOP_WITH_PARENT"  # the pid a diagnose command must stop with (a batch's runs)


def stop_with_parent(parent: int) -> None:
    """Get SIGTERM when ``parent`` (the pid that started us) dies, or now if it already has."""
    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before the request took effect (e.g. while torch imported)
        os.kill(os.getpid(), signal.SIGTERM)
