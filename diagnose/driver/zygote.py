"""Start a zygote (``diagnose.child.zygote``) for a block of runs, and find the one to fork from.

``serving`` starts one for the duration of a ``with`` block and announces it in this process's
environment, so the runs started in the block, and those of any ``diagnose`` subprocess, fork
from it instead of starting cold. ``client_for`` answers whether a run with a given environment
may fork from the announced zygote.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from diagnose.child import zygote
from diagnose.child.forkserver import ForkClient
from diagnose.driver.interpreter import module_command

ENV = zygote.ENV  # the variable announcing the zygote to this process and its subprocesses

READY_SECONDS = 60.0  # importing torch on a loaded machine


@contextmanager
def serving(folder: Path, env: dict[str, str]) -> Iterator[ForkClient | None]:
    """A zygote started with ``env`` (less the thread counts, set per run) serving runs while the
    block runs; None, and every run cold, when it could not start."""
    folder.mkdir(parents=True, exist_ok=True)
    started = {k: v for k, v in env.items() if k not in zygote.THREAD_COUNTS}
    with open(folder / "zygote.stderr", "wb") as errors:
        process = subprocess.Popen(
            module_command("diagnose.child.zygote", str(folder), str(os.getpid())),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=errors,
            start_new_session=True,
            env=started,
        )
    client = ForkClient(folder, zygote.NAME)
    ready = _wait_ready(process, client)
    previous = os.environ.get(zygote.ENV)
    if ready:
        os.environ[zygote.ENV] = str(folder)
    try:
        yield client if ready else None
    finally:
        if previous is None:
            os.environ.pop(zygote.ENV, None)
        else:
            os.environ[zygote.ENV] = previous
        client.close()
        process.wait()


def _wait_ready(process: subprocess.Popen[bytes], client: ForkClient) -> bool:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if client.available and (client.workdir / zygote.STARTUP_FILE).exists():
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.05)
    return False


def client_for(env: dict[str, str]) -> ForkClient | None:
    """The announced zygote, when a run with environment ``env`` may be forked from it."""
    folder = env.get(zygote.ENV)
    if not folder:
        return None
    client = ForkClient(Path(folder), zygote.NAME)
    try:
        expected = json.loads((client.workdir / zygote.STARTUP_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not client.available or zygote.startup_environment(env) != expected:
        return None
    return client
