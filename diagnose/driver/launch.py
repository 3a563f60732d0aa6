"""Multi-process runs, launched the way ``torchrun --standalone --nproc-per-node N`` does it.

Every rank is a child interpreter of its own (``python -m diagnose.child``) with the environment
torchrun gives it (``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``/``MASTER_PORT``, one
OpenMP thread), its own session and its own result file. Rank 0 reports progress. When one rank
ends, the others get a grace period before they are asked to stop (a rank waiting in a collective
for a peer that crashed would otherwise wait for gloo's 30-minute timeout); Ctrl-C or a kill of
diagnose stops them all. The result is rank 0's, with every rank's record gathered into its
``distributed`` section, where the cross-rank rules read them.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from diagnose.driver.runner import ChildResult, ScenarioSpec, child_env, collect

PEER_GRACE_SECONDS = 5.0
TERM_GRACE_SECONDS = 10.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rank_env(rank: int, world: int, port: int) -> dict[str, str]:
    env = child_env()
    env.update(
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world),
        LOCAL_WORLD_SIZE=str(world),
        GROUP_RANK="0",
        ROLE_RANK=str(rank),
        ROLE_WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        TORCHELASTIC_RUN_ID="diagnose",
    )
    env.setdefault("OMP_NUM_THREADS", "1")  # as torchrun sets it for more than one process
    return env


def rank_spec(spec: ScenarioSpec, rank: int) -> ScenarioSpec:
    """Rank 0 keeps the scenario's files (progress shows its heartbeat); others get their own."""
    if rank == 0:
        return spec
    return ScenarioSpec(
        f"{spec.name}.rank{rank}",
        spec.script,
        spec.args,
        spec.max_steps,
        spec.timeout,
        spec.every,
        spec.intervention,
        serve=False,
        nproc=spec.nproc,
    )


def run_ranks(spec: ScenarioSpec, workdir: Path) -> ChildResult:
    """Run one scenario with ``spec.nproc`` ranks; rank 0's result with every rank's record."""
    workdir.mkdir(parents=True, exist_ok=True)
    port, specs = free_port(), [rank_spec(spec, rank) for rank in range(spec.nproc)]
    processes = []
    started = time.monotonic()
    for rank, item in enumerate(specs):
        paths = item.paths(workdir)
        paths["result"].unlink(missing_ok=True)
        paths["spec"].write_text(json.dumps(item.for_child(workdir)))
        with open(paths["stdout"], "wb") as out, open(paths["stderr"], "wb") as err:
            processes.append(
                subprocess.Popen(
                    [sys.executable, "-m", "diagnose.child", str(paths["spec"])],
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    start_new_session=True,
                    env=rank_env(rank, spec.nproc, port),
                )
            )
    timed_out = wait_all(processes, spec.timeout)
    wall = time.monotonic() - started
    results = [
        collect(item, workdir, process.returncode, timed_out, wall)
        for item, process in zip(specs, processes)
    ]
    return gathered(results)


def wait_all(processes: list[subprocess.Popen[bytes]], timeout: float) -> bool:
    """Wait for every rank; past the limit, or a grace period after the first rank ended, ask the
    rest to stop (SIGTERM), then kill their groups. True when the time limit was reached."""
    deadline = time.monotonic() + timeout
    try:
        while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
            if any(p.poll() is not None for p in processes):
                deadline = min(deadline, time.monotonic() + PEER_GRACE_SECONDS)
            time.sleep(0.05)
    except (
        BaseException
    ):  # Ctrl-C or a kill of diagnose: every rank (each its own session) goes too
        _signal_all(processes, signal.SIGKILL)
        for process in processes:
            process.wait()
        raise
    timed_out = any(p.poll() is None for p in processes)
    if timed_out:
        _signal_all(processes, signal.SIGTERM)
        _wait_until(processes, time.monotonic() + TERM_GRACE_SECONDS)
    _signal_all(processes, signal.SIGKILL)  # workers or threads a rank left behind
    for process in processes:
        process.wait()
    return timed_out


def _wait_until(processes: list[subprocess.Popen[bytes]], deadline: float) -> None:
    while any(p.poll() is None for p in processes) and time.monotonic() < deadline:
        time.sleep(0.05)


def _signal_all(processes: list[subprocess.Popen[bytes]], sig: int) -> None:
    for process in processes:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, sig)


def gathered(results: list[ChildResult]) -> ChildResult:
    """Rank 0's result, its ``distributed`` section holding every rank's record (a rank that wrote
    none is listed with how it ended)."""
    first = results[0]
    section: dict[str, Any] = dict(
        first.sections.get("distributed") or {"world_size": len(results)}
    )
    section["ranks"] = [_record(rank, result) for rank, result in enumerate(results)]
    first.sections["distributed"] = section
    first.run.setdefault("notes", []).append(
        f"launched as {len(results)} processes (torchrun-style, one per rank)"
    )
    return first


def _record(rank: int, result: ChildResult) -> dict[str, Any]:
    records = (result.sections.get("distributed") or {}).get("ranks") or [{"rank": rank}]
    return {
        **records[0],
        "rank": rank,
        "status": result.run.get("status", ""),
        "steps": result.run.get("steps", 0),
    }
