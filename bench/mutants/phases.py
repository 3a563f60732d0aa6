"""The bench's phases after generation: plain runs and the kill check, then diagnosis.

Each phase turns folders into rows; the entry script (`bench/mutants.py`) only wires them up,
prints progress and writes the results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from . import kill, scoring
from .catalog import BY_NAME
from .generate import Mutant
from .plain import Plain, PlainCache, run_plain
from .pool import parallel, threads_per_job

Log = Callable[[str], None]


def plain_runs(
    folders: dict[str, dict[str, str]], cache: PlainCache, jobs: int, timeout: float, log: Log
) -> dict[str, Plain]:
    """Plain result per folder name, from the cache or a fresh run (saved as each one ends)."""
    results = {
        name: hit for name, files in folders.items() if (hit := cache.get(files)) is not None
    }
    todo = [name for name in folders if name not in results]
    log(f"plain runs: {len(results)} cached, {len(todo)} to run")
    threads = threads_per_job(jobs)
    started = time.monotonic()
    for done, (name, result) in enumerate(
        parallel(lambda n: run_plain(folders[n], timeout, threads), todo, jobs), 1
    ):
        results[name] = result
        cache.put(folders[name], result)
        cache.save()
        eta = (time.monotonic() - started) / done * (len(todo) - done)
        log(
            f"[plain {done}/{len(todo)}] {name}: {result.status} {result.metrics or result.error} "
            f"{result.seconds:.1f}s (about {eta / 60:.0f} min left)"
        )
    return results


def kill_rows(
    mutants: list[Mutant], hosts: dict[str, Plain], plains: dict[str, Plain]
) -> list[dict]:
    """One row per mutant: its label, what its plain run showed against its host, kept or not."""
    rows = []
    for m in mutants:
        op, host = BY_NAME[m.operator], hosts[m.host]
        if host.status != "ok":
            result, reason = "host_failed", f"the host itself {host.status}: {host.error}"
        else:
            result, reason = kill.outcome(host, plains[m.id], op)
        rows.append(
            {
                "id": m.id,
                "host": m.host,
                "operator": m.operator,
                "cause": m.cause,
                "also_ok": list(m.also_ok),
                "kept": kill.kept(op, result),
                "outcome": result,
                "kill": reason,
                "plain_s": plains[m.id].seconds,
                "changed": list(m.changed),
                "diagnosed": False,
            }
        )
    return rows


def sample(rows: list[dict], size: int) -> list[dict]:
    """Up to `size` kept rows spread over operators first, then hosts: round r takes each
    operator's r-th kept mutant, the operators' lists rotated so that hosts vary too."""
    by_op: dict[str, list[dict]] = {}
    for r in rows:
        if r["kept"]:
            by_op.setdefault(r["operator"], []).append(r)
    lists = [
        group[i % len(group) :] + group[: i % len(group)] for i, group in enumerate(by_op.values())
    ]
    picked = [
        group[k]
        for k in range(max(map(len, lists), default=0))
        for group in lists
        if k < len(group)
    ]
    return picked[:size] if size else picked


def diagnose(
    targets: dict[str, Path], out: Path, jobs: int, timeout: float, reuse: bool, log: Log
) -> dict[str, dict]:
    """Diagnose each folder; the run facts and report per name."""
    threads, found = threads_per_job(jobs), {}
    started = time.monotonic()
    for done, (name, run) in enumerate(
        parallel(
            lambda n: scoring.diagnose(targets[n], out / n, timeout, threads, reuse),
            list(targets),
            jobs,
        ),
        1,
    ):
        found[name] = run
        eta = (time.monotonic() - started) / done * (len(targets) - done)
        causes = [c["id"] for c in (run["report"] or {}).get("causes", [])[:3]]
        log(
            f"[diagnose {done}/{len(targets)}] {name}: exit {run['exit']} {run['seconds']:.0f}s "
            f"{causes} {run['error'][-120:]} (about {eta / 60:.0f} min left)"
        )
    return found
