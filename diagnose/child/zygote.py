"""A pre-imported interpreter that starts child runs by forking, instead of a cold interpreter each.

A cold child pays for the interpreter, torch and our probes (about 1.5 s of CPU) before the user's
script runs, and for torch's compiler stack (1.2 s more) at the script's first optimizer; for a
batch of short diagnoses or a test session that is most of the time. The zygote
(``python -m diagnose.child.zygote``) imports all that once and then forks one process per run it
is asked for. The forked process becomes what a cold child would have been: the run's
working folder, environment, standard streams and a session of its own, freshly seeded random
streams (Python's, NumPy's and torch's: a cold interpreter seeds them from the OS), then the same
``session.main`` as ``python -m diagnose.child``.

Only a run whose environment agrees with the zygote's on what an interpreter reads when it starts
(``PYTHON*``, ``TORCH*``, the OpenMP and BLAS settings other than thread counts) is forked; any
other starts cold. The zygote stops a run whose owner (the diagnose process that asked for it)
dies, as ``lifeline`` does for a cold child, and leaves when its own owner is gone.

The driver finds a zygote through ``DIAGNOSE_ZYGOTE`` (its folder); ``diagnose batch`` and the test
suite start one (``python -m diagnose.child.zygote FOLDER OWNER_PID``).
"""

from __future__ import annotations

import json
import os
import random
import sys
from pathlib import Path
from typing import Any

from diagnose.child import forkserver
from diagnose.child.lifeline import stop_with_parent

ENV = "DIAGNOSE_ZYGOTE"
NAME = "zygote"
STARTUP_FILE = "zygote.env.json"
# What an interpreter, torch or its OpenMP/BLAS runtimes read as they start: a run whose values
# differ cannot be a fork of this zygote. Thread counts are set after the fork instead.
STARTUP_PREFIXES = ("PYTHON", "TORCH", "OMP_", "KMP_", "GOMP_", "MKL_", "OPENBLAS_", "LD_")
THREAD_COUNTS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def startup_environment(env: dict[str, str]) -> dict[str, str]:
    """The variables of ``env`` that take effect when an interpreter starts."""
    return {
        key: value
        for key, value in env.items()
        if key.startswith(STARTUP_PREFIXES) and key not in THREAD_COUNTS
    }


def main(argv: list[str]) -> int:
    """Serve forks from ``argv[1]`` (a folder of ours) until ``argv[2]``, the process that started
    us, is gone (also when it dies while torch is still importing here)."""
    owner = int(argv[2])
    stop_with_parent(owner)
    started = startup_environment(dict(os.environ))  # torch's imports below add to the environment
    import torch

    # torch imports its compiler stack lazily, when the first optimizer is constructed (its
    # ``__init__`` is wrapped to disable dynamo): about 1.2 s of CPU (sympy, triton, ...) that
    # nearly every run would pay after the fork. Part of torch; it starts no thread.
    import torch._dynamo

    from diagnose.child import session  # noqa: F401  (the point: imported once, before any fork)

    folder = Path(argv[1])
    default_threads = torch.get_num_threads()
    (folder / STARTUP_FILE).write_text(json.dumps(started))
    request = forkserver.serve(*forkserver.paths(folder, NAME), owner, None)
    return _become(request, default_threads)


def _become(request: dict[str, Any], default_threads: int) -> int:
    """In the forked process: turn into the child run ``request`` describes, and run it."""
    import torch

    from diagnose.child import session

    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    _redirect(os.devnull, 0, os.O_RDONLY)
    _redirect(request["stdout"], 1, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    _redirect(request["stderr"], 2, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    _reseed()
    threads = os.environ.get("OMP_NUM_THREADS", "")
    torch.set_num_threads(
        int(threads) if threads.isdigit() and int(threads) > 0 else default_threads
    )
    return session.main(["diagnose.child", request["spec"]], watched=True)


def _redirect(path: str, stream: int, flags: int) -> None:
    handle = os.open(path, flags, 0o644)
    os.dup2(handle, stream)
    os.close(handle)


def _reseed() -> None:
    """Fresh random streams, as a new interpreter would have: forks would otherwise share the
    zygote's, and a script that never seeds would draw the same numbers in every run."""
    import torch

    random.seed()
    torch.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed()


if __name__ == "__main__":
    # os._exit: like a cold child, a run's atexit handlers and threads must not outlive it.
    os._exit(main(sys.argv))
