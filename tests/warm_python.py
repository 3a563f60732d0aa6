"""``python SCRIPT`` without paying for the interpreter's start each time: plain runs for tests.

A cold ``python train.py`` spends about 4 s of CPU importing torch, the compiler stack torch loads
at a script's first optimizer and scikit-learn before the script trains for a second or two.
``python warm_python.py FOLDER OWNER_PID`` imports them once and then forks one process per request
(with the tool's own fork server, ``diagnose.child.forkserver``). The forked process runs its script
as ``python SCRIPT`` would: the script's folder first on ``sys.path``, ``sys.argv`` its path,
run as ``__main__`` from the request's working folder, fresh random streams, its output to files,
an uncaught exception printed with its traceback and exit status 1, the atexit handlers at the end.
None of diagnose's instrumentation is installed: the run is plain.
"""

from __future__ import annotations

import atexit
import importlib
import itertools
import os
import random
import runpy
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from diagnose.child import forkserver
from diagnose.child.lifeline import stop_with_parent

NAME = "warm-python"
# What the scripts run plainly by the tests import at their top, torch's lazily loaded part too.
PRELOADED = (
    "torch",
    "torch._dynamo",
    "sklearn.datasets",
    "sklearn.model_selection",
    "sklearn.preprocessing",
)
READY_SECONDS = 120.0


class WarmPython:
    """The test side: run scripts plainly, each forked from the warm interpreter."""

    def __init__(self, client: forkserver.ForkClient, folder: Path) -> None:
        self.client = client
        self.folder = folder
        self.numbers = itertools.count()  # two threads may ask at once: files of its own per run

    def run(self, script: str, cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
        """``python script`` in ``cwd``, as ``subprocess.run(..., capture_output=True, text=True)``
        reports it (returncode None when it ran past ``timeout`` and was stopped)."""
        number = next(self.numbers)
        stdout, stderr = (self.folder / f"{number}.{name}" for name in ("stdout", "stderr"))
        request = {
            "script": script,
            "cwd": str(cwd),
            "stdout": str(stdout),
            "stderr": str(stderr),
            "owner": os.getpid(),  # stopped by the server if this test process dies
        }
        status = self.client.run(request, timeout)
        return subprocess.CompletedProcess(
            [sys.executable, script], status, stdout.read_text(), stderr.read_text()
        )


@contextmanager
def serving(env: dict[str, str]) -> Iterator[WarmPython]:
    """A warm interpreter started with ``env`` for the block (its runs get that environment)."""
    folder = Path(tempfile.mkdtemp(prefix="nn-test-warm-python-"))
    client = forkserver.ForkClient(folder, NAME)
    with open(folder / "server.stderr", "wb") as errors:
        process = subprocess.Popen(
            [sys.executable, __file__, str(folder), str(os.getpid())],
            stdin=subprocess.DEVNULL,
            stderr=errors,
            env=env,
            start_new_session=True,
        )
    try:
        _wait_ready(process, client, folder)
        yield WarmPython(client, folder)
    finally:
        client.close()
        process.wait()
        shutil.rmtree(folder, ignore_errors=True)


def _wait_ready(
    process: subprocess.Popen[bytes], client: forkserver.ForkClient, folder: Path
) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while not client.available:
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the warm interpreter did not start: {folder / 'server.stderr'}")
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    """Serve plain runs from ``argv[1]`` until ``argv[2]``, the test process, is gone."""
    owner = int(argv[2])
    stop_with_parent(owner)
    for module in PRELOADED:
        importlib.import_module(module)
    request = forkserver.serve(*forkserver.paths(Path(argv[1]), NAME), owner, None)
    return _run_plainly(request)


def _run_plainly(request: dict[str, Any]) -> int:
    """In the forked process: become ``python SCRIPT`` in the request's folder, and run it."""
    os.chdir(request["cwd"])
    for path, stream, flags in (
        (os.devnull, 0, os.O_RDONLY),
        (request["stdout"], 1, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
        (request["stderr"], 2, os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
    ):
        handle = os.open(path, flags, 0o644)
        os.dup2(handle, stream)
        os.close(handle)
    script = os.path.abspath(request["script"])
    sys.argv = [request["script"]]
    sys.path[0] = os.path.dirname(script)
    random.seed()
    importlib.import_module("numpy").random.seed()
    try:
        runpy.run_path(script, run_name="__main__")
        status = 0
    except SystemExit as exit_:
        status = _exit_status(exit_.code)
    except BaseException:
        sys.excepthook(*sys.exc_info())
        status = 1
    atexit._run_exitfuncs()
    sys.stdout.flush()
    sys.stderr.flush()
    return status


def _exit_status(code: object) -> int:
    """The process's exit status for ``sys.exit(code)``, as the interpreter makes it."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


if __name__ == "__main__":
    # os._exit: the forked run ends here, as its interpreter would, without our server's cleanup.
    os._exit(main(sys.argv))
