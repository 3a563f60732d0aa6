"""The fork server: replays start from the observed run's first optimizer step, not from scratch.

At its first optimizer step the observed run forks a server process that waits there, paused,
on a Unix socket. For each replay the parent asks for, the server forks again; that grandchild
returns into the user's loop with the replay's intervention. Data loading, model building and the
torch import are paid once. GNU OpenMP is not fork-safe once its thread pool ran, so forked
processes run torch single-threaded (two replays can then share the two cores).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

from diagnose.child import groups

SOCKET = "forkserver.sock"
PID_FILE = "forkserver.pid"
UNAVAILABLE = "forkserver.unavailable"
IDLE_SECONDS = 300.0
TERM_GRACE_SECONDS = 10.0
# Threads a replay never needs: tqdm's monitor only nudges slow progress bars (Hugging Face's
# Trainer starts it). Any other thread may hold a lock or drain a queue the replay would block on (a
# TensorBoard event writer), so its presence makes the replays cold.
FORK_SAFE_THREADS = ("tqdm._monitor",)


def unsafe_reason(state: Any) -> str | None:
    """Why forking the user's process now would be unsafe (None when it is safe)."""
    import torch

    for record in state.loaders.values():
        loader = record.loader()
        if loader is not None and getattr(loader, "num_workers", 0) > 0:
            return "a DataLoader uses worker processes"
    others = [
        t
        for t in threading.enumerate()
        if t is not threading.current_thread() and type(t).__module__ not in FORK_SAFE_THREADS
    ]
    if others:
        return f"the script runs other threads ({', '.join(t.name for t in others[:3])})"
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        return "CUDA is initialised"
    return None


def start(workdir: Path, state: Any, owner: int | None = None) -> dict[str, Any] | None:
    """Fork the server. None in the observed run (which goes on); a replay's spec in a replay.
    The server leaves when ``owner`` (the diagnose process) is gone, even if it was killed."""
    reason = unsafe_reason(state)
    if reason is not None:
        (workdir / UNAVAILABLE).write_text(reason)
        return None
    if os.fork() != 0:
        return None
    import torch

    os.setsid()
    torch.set_num_threads(1)
    _silence()
    return _serve(workdir, owner)


def _silence() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (1, 2):
        os.dup2(devnull, stream)
    os.close(devnull)


def _serve(workdir: Path, owner: int | None) -> dict[str, Any]:
    """Answer requests until told to quit; returns only in a forked replay, with its spec."""
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(workdir / SOCKET))
    listener.listen(8)
    (workdir / PID_FILE).write_text(str(os.getpid()))
    buffers: dict[socket.socket, bytes] = {}
    running: dict[int, socket.socket] = {}
    idle_since = time.monotonic()
    while True:
        readable, _, _ = select.select([listener, *buffers], [], [], 0.05)
        for sock in readable:
            if sock is listener:
                buffers[listener.accept()[0]] = b""
                continue
            spec = _read_request(sock, buffers)
            if spec is None:
                continue
            if spec.get("quit"):
                os._exit(0)
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in buffers:
                    other.close()
                os.setsid()
                return spec
            running[pid] = sock
            del buffers[sock]
            _send(sock, {"pid": pid})
        _reap(running)
        if buffers or running:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > IDLE_SECONDS or not _alive(owner):
            os._exit(0)


def _alive(pid: int | None) -> bool:
    if pid is None:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_request(
    sock: socket.socket, buffers: dict[socket.socket, bytes]
) -> dict[str, Any] | None:
    data = sock.recv(1 << 16)
    if not data:
        buffers.pop(sock, None)
        sock.close()
        return None
    buffers[sock] += data
    if b"\n" not in buffers[sock]:
        return None
    return json.loads(buffers[sock].split(b"\n", 1)[0])


def _reap(running: dict[int, socket.socket]) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        sock = running.pop(pid, None)
        if sock is not None:
            _send(sock, {"done": pid, "status": os.waitstatus_to_exitcode(status)})
            sock.close()


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        sock.sendall((json.dumps(message) + "\n").encode())


class ForkClient:
    """The parent's side: ask the server for replays, stop runaway ones, shut the server down."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    @property
    def available(self) -> bool:
        return (self.workdir / SOCKET).exists()

    @property
    def unavailable_reason(self) -> str:
        path = self.workdir / UNAVAILABLE
        return path.read_text() if path.exists() else "the run never reached an optimizer step"

    def run(self, spec: dict[str, Any], timeout: float) -> bool:
        """Run one replay to its end; False when it had to be killed at the time limit."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(self.workdir / SOCKET))
            conn.sendall((json.dumps(spec) + "\n").encode())
            reader = conn.makefile("r")
            conn.settimeout(10.0)
            pid = json.loads(reader.readline())["pid"]
            conn.settimeout(timeout)
            try:
                reader.readline()
                return True
            except TimeoutError:
                _stop_group(pid, conn, reader)
                return False
            except BaseException:  # diagnose interrupted: the replay (its own session) must go too
                groups.kill(pid)
                raise
            finally:  # the replay has ended or been killed: its DataLoader workers go too
                groups.stop(pid)

    def close(self) -> None:
        """Stop the server (and anything it still runs)."""
        if self.available:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.settimeout(2.0)
                    conn.connect(str(self.workdir / SOCKET))
                    conn.sendall(b'{"quit": true}\n')
            except OSError:
                pass
        pid_file = self.workdir / PID_FILE
        if pid_file.exists():
            groups.stop(int(pid_file.read_text()))


def _stop_group(pid: int, conn: socket.socket, reader: Any) -> None:
    groups.kill(pid, signal.SIGTERM)
    conn.settimeout(TERM_GRACE_SECONDS)
    try:
        reader.readline()
    except TimeoutError:
        groups.kill(pid, signal.SIGKILL)
        conn.settimeout(5.0)
        with contextlib.suppress(TimeoutError):
            reader.readline()
