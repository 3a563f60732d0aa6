"""Plain runs: a host or mutant run as `python train.py`, no instrumentation, results cached.

The cache is keyed by a hash of the folder's files, so an unchanged mutant is never run twice
(across sessions too: the cache file is committed) and any edit to a host or an operator reruns
exactly the mutants it changes.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .generate import digest, write_folder

PROTOCOL = "plain-v1"  # part of every cache key: change it when what a plain run means changes


@dataclass(frozen=True)
class Plain:
    status: str  # "ok", "crash" or "timeout"
    metrics: dict[str, float] = field(default_factory=dict)
    seconds: float = 0.0
    error: str = ""

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in self.metrics.values())


def run_plain(files: dict[str, str], timeout: float, threads: int) -> Plain:
    """Run the folder's train.py in a scratch copy (scripts may write files), read its metrics."""
    with tempfile.TemporaryDirectory(prefix="mutant-plain-") as tmp:
        folder = write_folder(files, Path(tmp) / "run")
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(threads),
            MKL_NUM_THREADS=str(threads),
            CUDA_VISIBLE_DEVICES="",
        )
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "train.py"],
            cwd=folder,
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            return Plain(
                "timeout", seconds=round(timeout, 1), error=f"no result within {timeout:.0f} s"
            )
        seconds = round(time.monotonic() - started, 2)
    if proc.returncode != 0:
        return Plain(
            "crash", seconds=seconds, error=_last_line(err) or f"exit code {proc.returncode}"
        )
    metrics = _metrics(out)
    if metrics is None:
        return Plain("crash", seconds=seconds, error="printed no metrics line")
    return Plain("ok", metrics, seconds)


def _metrics(stdout: str) -> dict[str, float] | None:
    lines = [line for line in stdout.splitlines() if line.startswith("{")]
    try:
        data = json.loads(lines[-1]) if lines else None
    except ValueError:
        return None
    return {k: float(v) for k, v in data.items()} if isinstance(data, dict) else None


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


class PlainCache:
    """Plain-run results by folder hash, in a JSON file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.entries: dict[str, dict] = json.loads(path.read_text()) if path.exists() else {}

    def key(self, files: dict[str, str]) -> str:
        return f"{PROTOCOL}:{digest(files)}"

    def get(self, files: dict[str, str]) -> Plain | None:
        entry = self.entries.get(self.key(files))
        return Plain(**entry) if entry else None

    def put(self, files: dict[str, str], result: Plain) -> None:
        self.entries[self.key(files)] = asdict(result)

    def save(self) -> None:
        """Write the cache, merged with what is on disk (another bench run may be adding to it),
        through a temporary file so a reader never sees half of it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self.entries = json.loads(self.path.read_text()) | self.entries
        partial = self.path.with_suffix(f".{os.getpid()}.tmp")
        partial.write_text(json.dumps(self.entries, indent=0, sort_keys=True) + "\n")
        partial.replace(self.path)
