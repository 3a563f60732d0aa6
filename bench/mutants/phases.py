"""The bench's phases after generation: plain runs and the kill check, then diagnosis.

Each phase turns folders into rows; the entry script (`bench/mutants.py`) only wires them up,
prints progress and writes the results. Rows of all three kinds (mutants, healthy variants,
pairs) share one shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from . import kill, scoring
from .catalog import BENIGN_BY_NAME, BY_NAME
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


def learning_hosts(hosts: dict[str, Plain], log: Log) -> dict[str, Plain]:
    """The hosts' plain results, a host that does not learn past its constant baseline marked
    so (status "no_learning"): its variants are dropped, never labelled."""
    marked = dict(hosts)
    for name, plain in hosts.items():
        if plain.status == "ok" and (why := kill.not_learning(plain)) is not None:
            marked[name] = replace(plain, status="no_learning", error=why)
            log(f"NOTE: host `{name}`: {why}; its variants are dropped")
    return marked


def kill_rows(
    mutants: list[Mutant], hosts: dict[str, Plain], plains: dict[str, Plain]
) -> list[dict]:
    """One row per variant: its label, what its plain run showed against its host, kept or not."""
    rows = []
    for m in mutants:
        host = hosts[m.host]
        op = BENIGN_BY_NAME[m.benign[0]] if m.kind == "healthy" else BY_NAME[m.operator]
        loss_changed = m.kind == "pair" and any(BENIGN_BY_NAME[b].touches_loss for b in m.benign)
        if host.status != "ok":
            result, reason = "host_failed", f"the host itself {host.status}: {host.error}"
        else:
            result, reason = kill.outcome(host, plains[m.id], op, loss_changed)
        rows.append(
            {
                "id": m.id,
                "kind": m.kind,
                "origin": m.origin,
                "host": m.host,
                "operator": m.operator,
                "benign": list(m.benign),
                "cause": m.cause,
                "also_ok": list(m.also_ok),
                "kept": kill.kept(op, result),
                "outcome": result,
                "kill": reason,
                "plain_s": plains[m.id].seconds if m.id in plains else None,
                "changed": list(m.changed),
                "diagnosed": False,
            }
        )
    return rows


def group(row: dict) -> str:
    """What a row is spread by: its mutation operator, or a healthy variant's benign operator."""
    return row["operator"] or row["benign"][0]


def sample(rows: list[dict], size: int, kept_only: bool = True) -> list[dict]:
    """Up to `size` rows (kept ones, unless `kept_only` is off) spread over operators first, then
    hosts: round r takes each operator's r-th row, the operators' lists rotated so that hosts
    vary too."""
    by_op: dict[str, list[dict]] = {}
    for r in rows:
        if r.get("kept") or not kept_only:
            by_op.setdefault(group(r), []).append(r)
    lists = [
        members[i % len(members) :] + members[: i % len(members)]
        for i, members in enumerate(by_op.values())
    ]
    picked = [
        members[k]
        for k in range(max(map(len, lists), default=0))
        for members in lists
        if k < len(members)
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
