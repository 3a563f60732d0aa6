"""``diagnose batch``: triage many runs in parallel; a row per run, grouped by top cause.

Each run is the single-run ``diagnose`` command in its own process (its own child processes and
budgets below it), writing into a staging folder that is renamed into ``OUT/<run>`` only once
complete: an interrupted batch loses no finished run and leaves no half-written one, and a
second call skips finished runs (unless ``force``). A run that crashes or hangs is a row with
its reason, never a failed batch; neither is a temporary folder of ours that cannot be removed
(a ``Workspace``: left in place with a note, on the run's row or on the batch).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from diagnose.batch.runlist import Run
from diagnose.batch.summary import BatchRow, write_summaries
from diagnose.child import atomic
from diagnose.child.lifeline import TIED_ENV
from diagnose.driver import zygote
from diagnose.driver.interpreter import module_command
from diagnose.driver.runner import child_env
from diagnose.driver.workspace import Workspace

STAGING = ".staging"
ROW_FILE = "batch-row.json"
STOP_GRACE_SECONDS = 5.0
EXTRA_SECONDS = 120.0  # beyond the run's own budgets before the batch stops waiting for it
Files = dict[str, bytes]
Progress = Callable[[BatchRow, int, int], None]


@dataclass
class BatchOptions:
    out: Path
    jobs: int = os.cpu_count() or 1
    force: bool = False
    formats: list[str] = field(default_factory=lambda: ["md", "html", "json"])
    diagnose_args: list[str] = field(default_factory=list)
    run_seconds: float = 60.0 + 60.0 + EXTRA_SECONDS
    threads: int = 1
    cold: bool = False  # every run's interpreters start from scratch: no zygote


_running: set[subprocess.Popen[bytes]] = set()
_lock = threading.Lock()


def execute(run: Run, options: BatchOptions) -> tuple[BatchRow, Files]:
    """Diagnose one run in a fresh process, into a temp folder; its row and the files written."""
    space = Workspace(prefix="diagnose-batch-")
    with space as tmp:
        command = module_command(
            "diagnose",
            str(run.script),
            "-o",
            str(tmp),
            "--format",
            ",".join(options.formats),
            "-q",
            "--no-color",
            *options.diagnose_args,
            *run.launch_args(),
            "--",
            *run.args,
        )
        env = dict(
            os.environ,
            OMP_NUM_THREADS=str(options.threads),
            MKL_NUM_THREADS=str(options.threads),
            **{TIED_ENV: str(os.getpid())},
        )
        if options.cold:
            env.pop(zygote.ENV, None)
        started = time.monotonic()
        returncode, stderr = _call(command, run.cwd, env, options.run_seconds)
        row = BatchRow.from_report(
            run, tmp / "report.json", returncode, stderr, time.monotonic() - started
        )
        files = {
            p.relative_to(tmp).as_posix(): p.read_bytes()
            for p in sorted(tmp.rglob("*"))
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(tmp).parts)
        }
    if space.leftover:
        row.notes.append(space.leftover)
    return row, files


def _call(
    command: list[str], cwd: Path, env: dict[str, str], seconds: float
) -> tuple[int | None, str]:
    process = subprocess.Popen(
        command,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    with _lock:
        _running.add(process)
    try:
        _, err = process.communicate(timeout=seconds)
        return process.returncode, err.decode(errors="replace")
    except subprocess.TimeoutExpired:
        _kill(process)
        return None, f"stopped after {seconds:.0f} s"
    finally:
        with _lock:
            _running.discard(process)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Ask the run to stop (it then stops its own children, which live in sessions of their own),
    and kill it if it has not within a few seconds."""
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_SECONDS), (signal.SIGKILL, None)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def stop_all() -> None:
    """Kill every run still going (Ctrl-C): their staging folders are left out of OUT."""
    with _lock:
        running = list(_running)
    for process in running:
        _kill(process)


class Executor(Protocol):
    """Where runs are diagnosed: threads on this machine, or a Ray cluster (ray_executor).
    ``notes`` says what concerns the batch as a whole (a temporary folder of the executor's own
    left in place), once its results have been read."""

    notes: list[str]

    def results(
        self, runs: list[Run], options: BatchOptions
    ) -> Iterator[tuple[Run, BatchRow, Files]]: ...


class LocalExecutor:
    """Runs in a pool of ``jobs`` threads, each waiting on one diagnose process. Unless the
    options say ``cold``, the runs' child interpreters fork from one zygote that imported torch
    once (the batch's own, or one already serving this process)."""

    def __init__(self, jobs: int) -> None:
        self.jobs = max(1, jobs)
        self.notes: list[str] = []

    def results(
        self, runs: list[Run], options: BatchOptions
    ) -> Iterator[tuple[Run, BatchRow, Files]]:
        space = Workspace(prefix="diagnose-zygote-")
        with contextlib.ExitStack() as stack:
            if runs and not options.cold and zygote.client_for(child_env()) is None:
                folder = stack.enter_context(space)  # removed once the zygote below has stopped
                stack.enter_context(zygote.serving(folder, child_env()))
            yield from self._pooled(runs, options)
        if space.leftover:
            self.notes.append(space.leftover)

    def _pooled(
        self, runs: list[Run], options: BatchOptions
    ) -> Iterator[tuple[Run, BatchRow, Files]]:
        with ThreadPoolExecutor(max_workers=self.jobs) as pool:
            futures = {pool.submit(execute, run, options): run for run in runs}
            try:
                for future in as_completed(futures):
                    yield futures[future], *future.result()
            except BaseException:
                for future in futures:
                    future.cancel()
                stop_all()
                raise


def run_batch(
    runs: list[Run],
    options: BatchOptions,
    executor: Executor,
    progress: Progress | None = None,
) -> list[BatchRow]:
    """Diagnose the runs not finished yet; write every row's files, then the summaries."""
    options.out.mkdir(parents=True, exist_ok=True)
    clean_staging(options.out)  # whatever a killed batch left half written
    rows = {
        run.name: row for run in runs if (row := _finished(options.out / run.name, options.force))
    }
    pending = [run for run in runs if run.name not in rows]
    for done, (run, row, files) in enumerate(executor.results(pending, options), len(rows) + 1):
        rows[run.name] = _store(options.out, run, row, files)
        if progress:
            progress(row, done, len(runs))
    ordered = [rows[run.name] for run in runs]
    write_summaries(options.out, ordered, executor.notes)
    clean_staging(options.out)
    return ordered


def _finished(folder: Path, force: bool) -> BatchRow | None:
    path = folder / ROW_FILE
    if force or not path.is_file():
        return None
    try:
        return BatchRow.model_validate_json(path.read_text())
    except ValueError:
        return None


def _store(out: Path, run: Run, row: BatchRow, files: Files) -> BatchRow:
    staged = out / STAGING / run.name
    staged.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (staged / name).parent.mkdir(parents=True, exist_ok=True)
        (staged / name).write_bytes(data)
    row.report = (
        f"{run.name}/report.html"
        if "report.html" in files
        else (f"{run.name}/report.md" if "report.md" in files else "")
    )
    (staged / ROW_FILE).write_text(row.model_dump_json(indent=1))
    atomic.replace_folder(staged, out / run.name)
    return row


def clean_staging(out: Path) -> None:
    """Remove what interrupted runs left half written."""
    shutil.rmtree(out / STAGING, ignore_errors=True)
