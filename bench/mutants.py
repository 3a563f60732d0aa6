"""Mutation bench: plant known faults in healthy training scripts and score the diagnoses.

    python bench/mutants.py [--jobs N] [--only OP,OP] [--hosts H,H] [--out DIR] [--sample N]
                            [--no-diagnose] [--reuse]

Builds every mutant (operator x host) into OUT (neutral folder names, labels in OUT/labels.json),
kill-checks them against their hosts' plain runs (cached in bench/results/plain_cache.json),
diagnoses the kept ones and the unmutated hosts with the `diagnose` command, and writes
OUT/mutants.json. A run over all hosts and operators also writes bench/results/mutants.json and
the tables in bench/README.md. Run it alone: torch processes sharing cores distort each other.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from datetime import date
from pathlib import Path

from mutants import catalog, generate, phases, readme, results, scoring
from mutants import hosts as hostlib
from mutants.plain import PlainCache

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel (each gets cores // jobs threads)"
    )
    parser.add_argument("--only", default="", help="operators, comma-separated (default: all)")
    parser.add_argument(
        "--hosts", default="", help="hosts, comma-separated (default: all installed)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "nn-diagnose-mutants"
    )
    parser.add_argument(
        "--sample", type=int, default=0, help="diagnose only this many kept mutants (0: all)"
    )
    parser.add_argument("--no-diagnose", action="store_true", help="stop after the kill check")
    parser.add_argument(
        "--reuse", action="store_true", help="re-score earlier reports in OUT instead of rerunning"
    )
    parser.add_argument("--plain-timeout", type=float, default=240.0)
    parser.add_argument("--diagnose-timeout", type=float, default=900.0)
    return parser.parse_args()


def pick(names: str, table: dict, what: str) -> list:
    if not names:
        return list(table.values())
    unknown = [n for n in names.split(",") if n not in table]
    if unknown:
        raise SystemExit(f"unknown {what}(s): {', '.join(unknown)}; known: {', '.join(table)}")
    return [table[n] for n in names.split(",")]


def log(line: str) -> None:
    print(line, flush=True)


def build(
    options: argparse.Namespace,
) -> tuple[list[hostlib.Host], list, list[generate.Mutant], list[str]]:
    """Hosts (those whose extra is missing skipped with a note), operators and mutants in OUT."""
    chosen = pick(options.hosts, hostlib.BY_NAME, "host")
    notes = [
        f"host `{h.name}` skipped: `{h.extra}` is not installed (pip install {h.extra})"
        for h in chosen
        if not h.available
    ]
    for note in notes:
        log(f"NOTE: {note}")
    hosts = [h for h in chosen if h.available]
    ops = pick(options.only, catalog.BY_NAME, "operator")
    mutants = generate.build(hosts, ops)
    if options.out.exists() and not options.reuse:
        shutil.rmtree(options.out)
    for h in hosts:
        generate.write_folder(h.sources(), options.out / "hosts" / h.name)
    for m in mutants:
        generate.write_folder(m.files, options.out / m.id)
    log(
        f"built {len(mutants)} mutants of {len(hosts)} hosts x {len(ops)} operators "
        f"into {options.out}"
    )
    return hosts, ops, mutants, notes


def drop_equivalents(rows: list[dict], mutants: list[generate.Mutant], out: Path) -> None:
    """Only kept mutants stay in OUT and get a label; the dropped ones are listed in the results."""
    kept = {r["id"] for r in rows if r["kept"]}
    for m in mutants:
        if m.id not in kept:
            shutil.rmtree(out / m.id, ignore_errors=True)
    generate.write_labels([m for m in mutants if m.id in kept], out)


def diagnose(
    options: argparse.Namespace, hosts: list[hostlib.Host], rows: list[dict]
) -> list[dict]:
    """Diagnose the hosts and the (sampled) kept mutants; fill in the mutant rows; host rows out."""
    chosen = phases.sample(rows, options.sample)
    targets = {f"host-{h.name}": options.out / "hosts" / h.name for h in hosts}
    targets |= {r["id"]: options.out / r["id"] for r in chosen}
    runs = phases.diagnose(
        targets, options.out / "reports", options.jobs, options.diagnose_timeout, options.reuse, log
    )
    for r in chosen:
        run = runs[r["id"]]
        r.update(
            diagnosed=True,
            exit=run["exit"],
            seconds=run["seconds"],
            error=run["error"],
            **scoring.score(run["report"], r["cause"], tuple(r["also_ok"])),
        )
    return [
        {
            "host": h.name,
            "diagnosed": True,
            "exit": runs[f"host-{h.name}"]["exit"],
            "seconds": runs[f"host-{h.name}"]["seconds"],
            **scoring.score_host(runs[f"host-{h.name}"]["report"]),
        }
        for h in hosts
    ]


def assemble(
    rows: list[dict],
    host_rows: list[dict],
    hosts: list[hostlib.Host],
    plains: dict,
    ops: list,
    notes: list[str],
    timings: dict,
    jobs: int,
) -> dict:
    by_host = {h["host"]: h for h in host_rows}
    host_info = [
        {
            "host": h.name,
            "style": h.style,
            "task": h.task,
            "inputs": h.inputs,
            "plain": plains[h.name].metrics,
            "plain_s": plains[h.name].seconds,
            **by_host.get(h.name, {}),
        }
        for h in hosts
    ]
    causes = {op.name: op.cause for op in ops}
    return {
        "summary": results.summary(rows, host_info, len(ops), notes),
        "mutants": rows,
        "operators": results.table(rows, "operator", lambda name: {"cause": causes[name]}),
        "host_table": results.table(
            rows,
            "host",
            lambda name: {
                "plain_s": plains[name].seconds,
                "healthy": by_host.get(name, {}).get("healthy_ok"),
            },
        ),
        "hosts": host_info,
        "wrong_answers": results.wrong_answers(rows),
        "timings": timings,
        "date": date.today().isoformat(),
        "jobs": jobs,
        "machine": (
            f"{os.cpu_count()} cores, "
            f"{platform.python_implementation()} {platform.python_version()}"
        ),
    }


def main() -> None:
    options = parse_args()
    started = time.monotonic()
    hosts, ops, mutants, notes = build(options)
    timings = {"build_s": round(time.monotonic() - started, 1)}
    cache = PlainCache(RESULTS / "plain_cache.json")
    folders = {f"host:{h.name}": h.sources() for h in hosts} | {m.id: m.files for m in mutants}
    cached = sum(cache.get(files) is not None for files in folders.values())
    plains = phases.plain_runs(folders, cache, options.jobs, options.plain_timeout, log)
    timings |= {
        "plain_s": round(time.monotonic() - started - timings["build_s"], 1),
        "plain_runs": len(folders) - cached,
        "plain_total_s": round(sum(p.seconds for p in plains.values()), 1),
    }
    host_plain = {h.name: plains[f"host:{h.name}"] for h in hosts}
    rows = phases.kill_rows(mutants, host_plain, plains)
    drop_equivalents(rows, mutants, options.out)
    log(
        f"kill check: {sum(r['kept'] for r in rows)} kept, "
        f"{sum(not r['kept'] for r in rows)} dropped"
    )
    host_rows = [] if options.no_diagnose else diagnose(options, hosts, rows)
    timings["diagnose_s"] = round(
        time.monotonic() - started - timings["build_s"] - timings["plain_s"], 1
    )
    data = assemble(rows, host_rows, hosts, host_plain, ops, notes, timings, options.jobs)
    (options.out / "mutants.json").write_text(json.dumps(data, indent=1))
    if not (options.only or options.hosts or options.no_diagnose):
        (RESULTS / "mutants.json").write_text(json.dumps(data, indent=1) + "\n")
        readme.update(HERE / "README.md", "catalogue", readme.catalogue(ops, hosts))
        readme.update(HERE / "README.md", "results", readme.render(data))
    log(json.dumps(data["summary"]))


if __name__ == "__main__":
    main()
