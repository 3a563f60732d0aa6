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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from diagnose.child import groups

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


def paths(workdir: Path, name: str = "forkserver") -> tuple[Path, Path]:
    """The socket a fork server named ``name`` listens on in ``workdir``, and its pid file."""
    return workdir / f"{name}.sock", workdir / f"{name}.pid"


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
    return serve(*paths(workdir), owner, IDLE_SECONDS)


def _silence() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (1, 2):
        os.dup2(devnull, stream)
    os.close(devnull)


def serve(
    address: Path, pid_file: Path, owner: int | None, idle_seconds: float | None
) -> dict[str, Any]:
    """Answer requests on ``address`` until told to quit, until ``owner`` is gone or after
    ``idle_seconds`` without work; returns only in a forked process, with its request. A request
    naming an ``owner`` of its own is stopped (SIGTERM to its process group) when that owner
    dies."""
    # The pid file is whole before the socket exists: a client that sees the socket (``available``)
    # reads the pid at once, and a file it could catch half-written reads as empty.
    written = pid_file.with_name(f"{pid_file.name}.{os.getpid()}")
    written.write_text(str(os.getpid()))
    os.replace(written, pid_file)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(address))
    listener.listen(8)
    buffers: dict[socket.socket, bytes] = {}
    running: dict[int, _Running] = {}
    idle_since = time.monotonic()
    while True:
        readable, _, _ = select.select([listener, *buffers], [], [], 0.05)
        for sock in readable:
            if sock is listener:
                buffers[listener.accept()[0]] = b""
                continue
            request = _read_request(sock, buffers)
            if request is None:
                continue
            if request.get("quit"):
                os._exit(0)
            pid = os.fork()
            if pid == 0:
                listener.close()
                for other in buffers:
                    other.close()
                os.setsid()
                return request
            running[pid] = _Running(sock, request.get("owner"))
            del buffers[sock]
            _send(sock, {"pid": pid})
        _reap(running)
        _stop_orphaned(running)
        if buffers or running:
            idle_since = time.monotonic()
        elif not _alive(owner) or (
            idle_seconds is not None and time.monotonic() - idle_since > idle_seconds
        ):
            os._exit(0)


@dataclass
class _Running:
    """A forked process still running: where its result goes, and whose it is."""

    sock: socket.socket
    owner: int | None
    stopped_at: float | None = None


def _stop_orphaned(running: dict[int, _Running]) -> None:
    """Stop what runs for an owner that died (killed without a chance to stop it): SIGTERM to the
    process group, SIGKILL after a grace period."""
    for pid, job in running.items():
        if _alive(job.owner):
            continue
        if job.stopped_at is None:
            job.stopped_at = time.monotonic()
            groups.kill(pid, signal.SIGTERM)
        elif time.monotonic() - job.stopped_at > TERM_GRACE_SECONDS:
            groups.kill(pid, signal.SIGKILL)


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


def _reap(running: dict[int, _Running]) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        job = running.pop(pid, None)
        if job is not None:
            _send(job.sock, {"done": pid, "status": os.waitstatus_to_exitcode(status)})
            job.sock.close()


def _send(sock: socket.socket, message: dict[str, Any]) -> None:
    with contextlib.suppress(OSError):
        sock.sendall((json.dumps(message) + "\n").encode())


class ForkClient:
    """The parent's side: ask the server to fork, stop runaway runs, shut the server down."""

    def __init__(self, workdir: Path, name: str = "forkserver") -> None:
        self.workdir = workdir
        self.address, self.pid_file = paths(workdir, name)

    @property
    def available(self) -> bool:
        return self.address.exists()

    @property
    def unavailable_reason(self) -> str:
        path = self.workdir / UNAVAILABLE
        return path.read_text() if path.exists() else "the run never reached an optimizer step"

    def run(self, request: dict[str, Any], timeout: float) -> int | None:
        """Run one forked process to its end: its exit status, or None when it had to be stopped
        at the time limit."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.connect(str(self.address))
            conn.sendall((json.dumps(request) + "\n").encode())
            replies = _Replies(conn)
            pid = int(replies.next(10.0)["pid"])
            try:
                return int(replies.next(timeout)["status"])
            except TimeoutError:
                _stop_group(pid, replies)
                return None
            except BaseException:  # diagnose interrupted: the run (its own session) must go too
                groups.kill(pid)
                raise
            finally:  # the run has ended or been killed: its DataLoader workers go too
                groups.stop(pid)

    def close(self) -> None:
        """Stop the server (and anything it still runs)."""
        if self.available:
            try:
                with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                    conn.settimeout(2.0)
                    conn.connect(str(self.address))
                    conn.sendall(b'{"quit": true}\n')
            except OSError:
                pass
        if self.pid_file.exists():
            groups.stop(int(self.pid_file.read_text()))


class _Replies:
    """The server's one-line JSON replies on a connection, each awaited with its own time limit
    (a file object made by ``makefile`` cannot be read again once a read timed out)."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn = conn
        self.buffer = b""

    def next(self, timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("no reply from the fork server in time")
            self.conn.settimeout(remaining)
            data = self.conn.recv(1 << 16)
            if not data:
                raise ConnectionError("the fork server went away")
            self.buffer += data
        line, self.buffer = self.buffer.split(b"\n", 1)
        return dict(json.loads(line))


def _stop_group(pid: int, replies: _Replies) -> None:
    """Ask the run's process group to stop (SIGTERM), and kill it if it has not ended in time."""
    groups.kill(pid, signal.SIGTERM)
    try:
        replies.next(TERM_GRACE_SECONDS)
    except TimeoutError:
        groups.kill(pid, signal.SIGKILL)
        with contextlib.suppress(TimeoutError, ConnectionError):
            replies.next(5.0)
