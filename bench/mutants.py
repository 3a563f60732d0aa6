"""Mutation bench: plant known faults in healthy training scripts and score the diagnoses.

    python bench/mutants.py [--jobs N] [--only OP,OP] [--benign OP,OP] [--hosts H,H] [--out DIR]
                            [--public-src DIR] [--sample N] [--no-diagnose] [--reuse]

Builds every mutant (operator x host), every healthy variant (benign operator x host) and, for
each kept mutant, a pair with one or two benign operators, into OUT (neutral folder names, labels
in OUT/labels.json). Public hosts are extracted from the git directories under --public-src.
Everything is kill-checked against its host's plain run (cached in bench/results/plain_cache.json),
then the kept variants and the unmutated hosts are diagnosed with the `diagnose` command, and the
results go to OUT/mutants.json. A run over all hosts and operators also writes
bench/results/mutants.json and the tables in bench/README.md. Run it alone: torch processes
sharing cores distort each other.
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

from mutants import catalog, extract, generate, pairs, phases, public, readme, results, scoring
from mutants import hosts as hostlib
from mutants.plain import PlainCache
from mutants.pool import threads_per_job

HERE = Path(__file__).parent
RESULTS = HERE / "results"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--jobs", type=int, default=1, help="runs in parallel (each gets cores // jobs threads)"
    )
    parser.add_argument("--only", default="", help="operators, comma-separated (default: all)")
    parser.add_argument(
        "--benign", default="", help="benign operators, comma-separated (default: all)"
    )
    parser.add_argument(
        "--hosts", default="", help="hosts, comma-separated (default: all installed)"
    )
    parser.add_argument(
        "--out", type=Path, default=Path(tempfile.gettempdir()) / "nn-diagnose-mutants"
    )
    parser.add_argument(
        "--public-src",
        type=Path,
        help="folder holding the public repositories' git directories (see bench/README.md)",
    )
    parser.add_argument(
        "--sample",
        type=int,
        default=0,
        help="run only a spread subset: N mutants and N healthy variants (0: everything)",
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


def choose_hosts(options: argparse.Namespace) -> tuple[list[hostlib.Host], list[str]]:
    """The own hosts (those whose extra is missing skipped with a note) and the public ones,
    extracted into OUT/public (skipped with a note when --public-src is not given)."""
    notes = []
    found = list(hostlib.HOSTS)
    if options.public_src is None:
        notes.append("public hosts skipped: no --public-src (see bench/README.md)")
    else:
        try:
            found += [
                extract.extract(r, options.public_src, options.out / "public")
                for r in public.RECIPES
            ]
        except extract.ExtractError as error:
            raise SystemExit(f"public hosts: {error}") from None
    chosen = pick(options.hosts, {h.name: h for h in found}, "host")
    notes += [
        f"host `{h.name}` skipped: `{h.extra}` is not installed (pip install {h.extra})"
        for h in chosen
        if not h.available
    ]
    for note in notes:
        log(f"NOTE: {note}")
    return [h for h in chosen if h.available], notes


def spread(variants: list[generate.Mutant], size: int) -> list[generate.Mutant]:
    """A spread subset of buildable variants for a sampled run: by operator, then by host, the
    hosts taken from each origin in turn (own, public, own, ...)."""
    if not size:
        return variants
    by_origin: dict[str, list[str]] = {}
    for v in variants:
        if v.host not in by_origin.setdefault(v.origin, []):
            by_origin[v.origin].append(v.host)
    rank = {h: (i, origin) for origin, names in by_origin.items() for i, h in enumerate(names)}
    ordered = sorted(variants, key=lambda v: rank[v.host])
    rows = [{"id": v.id, "operator": v.operator, "benign": list(v.benign)} for v in ordered]
    keep = {r["id"] for r in phases.sample(rows, size, kept_only=False)}
    return [v for v in variants if v.id in keep]


def write(variants: list[generate.Mutant], out: Path) -> None:
    for v in variants:
        generate.write_folder(v.files, out / v.id)


def kill_check(
    variants: list[generate.Mutant], host_plain: dict, cache: PlainCache, options, what: str
) -> list[dict]:
    """Plain runs (cached) of the variants, and their kill-check rows; a failed host's variants
    are not run."""
    folders = {v.id: v.files for v in variants if host_plain[v.host].status == "ok"}
    plains = phases.plain_runs(folders, cache, options.jobs, options.plain_timeout, log)
    rows = phases.kill_rows(variants, host_plain, plains)
    kept = sum(r["kept"] for r in rows)
    log(f"kill check ({what}): {kept} kept, {len(rows) - kept} dropped")
    return rows


def pair_rows(options, hosts, mutant_rows, healthy, healthy_rows, host_plain, cache) -> list[dict]:
    """Build and kill-check the pairs; in a sampled run, first run the healthy variants the pairs
    need that were not sampled. A pair whose benign variant was not kept is dropped."""
    by_name = {h.name: h for h in hosts}
    buildable = {(v.host, v.benign[0]) for v in healthy}
    built = pairs.build(by_name, mutant_rows, healthy_rows, buildable)
    known = {(r["host"], r["benign"][0]) for r in healthy_rows}
    needed = {(p.host, b) for p in built for b in p.benign} - known
    extra = [
        v
        for h, b in sorted(needed)
        if (v := generate.mutate(by_name[h], catalog.BENIGN_BY_NAME[b])) is not None
    ]
    if extra:
        write(extra, options.out)
        healthy_rows += kill_check(extra, host_plain, cache, options, "healthy variants for pairs")
    kept = {(r["host"], r["benign"][0]) for r in healthy_rows if r["kept"]}
    write(built, options.out)
    rows = kill_check(built, host_plain, cache, options, "pairs")
    for row in rows:
        lost = [b for b in row["benign"] if (row["host"], b) not in kept]
        if lost and row["kept"]:
            row.update(kept=False, outcome="benign_dropped", kill=f"{', '.join(lost)} not kept")
    return rows


def drop_equivalents(rows: list[dict], out: Path) -> None:
    """Only kept variants stay in OUT and get a label; the results list the dropped ones."""
    for r in rows:
        if not r["kept"]:
            shutil.rmtree(out / r["id"], ignore_errors=True)
    generate.write_labels([r for r in rows if r["kept"]], out)


def diagnose(
    options, hosts: list[hostlib.Host], rows: dict[str, list[dict]], learning: set[str]
) -> list[dict]:
    """Diagnose the hosts that learn and every kept variant; fill in the rows; the hosts' rows
    out (a host that does not learn as shrunk is not diagnosed: it is no healthy host)."""
    kept = [r for kind in ("mutants", "healthy", "pairs") for r in rows[kind] if r["kept"]]
    hosts = [h for h in hosts if h.name in learning]
    targets = {f"host-{h.name}": options.out / "hosts" / h.name for h in hosts}
    targets |= {r["id"]: options.out / r["id"] for r in kept}
    runs = phases.diagnose(
        targets, options.out / "reports", options.jobs, options.diagnose_timeout, options.reuse, log
    )
    for r in kept:
        run = runs[r["id"]]
        judged = (
            scoring.score_host(run["report"])
            if r["kind"] == "healthy"
            else scoring.score(run["report"], r["cause"], tuple(r["also_ok"]))
        )
        r.update(diagnosed=True, exit=run["exit"], seconds=run["seconds"], error=run["error"])
        r.update(judged)
    alone = {r["id"]: r for r in rows["mutants"] if r.get("diagnosed")}
    for r in rows["pairs"]:
        mutant = alone.get(generate.neutral_id(r["host"], r["operator"]))
        if r.get("diagnosed") and mutant:
            r.update(alone_top=mutant["top_cause"], same_top=r["top_cause"] == mutant["top_cause"])
    return [
        {
            "host": h.name,
            "origin": h.origin,
            "diagnosed": True,
            "exit": runs[f"host-{h.name}"]["exit"],
            "seconds": runs[f"host-{h.name}"]["seconds"],
            **scoring.score_host(runs[f"host-{h.name}"]["report"]),
        }
        for h in hosts
    ]


def assemble(options, rows, host_rows, hosts, host_plain, ops, benign, notes, timings) -> dict:
    by_host = {h["host"]: h for h in host_rows}
    host_info = [
        {
            "host": h.name,
            "origin": h.origin,
            "source": h.source,
            "style": h.style,
            "task": h.task,
            "inputs": h.inputs,
            "plain": host_plain[h.name].metrics,
            "plain_status": host_plain[h.name].status,
            "plain_s": host_plain[h.name].seconds,
            **by_host.get(h.name, {"origin": h.origin}),
        }
        for h in hosts
    ]
    causes = {op.name: op.cause for op in ops}
    origin = {h.name: h.origin for h in hosts}
    return {
        "summary": results.summary(rows, host_info, len(ops), len(benign), notes),
        "mutants": rows["mutants"],
        "healthy_variants": rows["healthy"],
        "pairs": rows["pairs"],
        "operators": results.table(
            rows["mutants"],
            "operator",
            lambda name: {
                "cause": causes[name],
                "invariance": results.rate(
                    results.compared([p for p in rows["pairs"] if p["operator"] == name]),
                    "same_top",
                ),
            },
        ),
        "benign_operators": results.precision_table(
            rows["healthy"], rows["pairs"], lambda r: r["benign"], [b.name for b in benign]
        ),
        "host_table": results.table(
            rows["mutants"],
            "host",
            lambda name: {
                "origin": origin[name],
                "plain_s": host_plain[name].seconds,
                "healthy": by_host.get(name, {}).get("healthy_ok"),
            },
        ),
        "host_precision": results.precision_table(
            rows["healthy"], rows["pairs"], lambda r: [r["host"]], [h.name for h in hosts]
        ),
        "hosts": host_info,
        "wrong_answers": results.wrong_answers(rows["mutants"]),
        **results.findings(rows),
        "timings": timings,
        "date": date.today().isoformat(),
        "jobs": options.jobs,
        "threads": threads_per_job(options.jobs),
        "sample": options.sample,
        "machine": f"{os.cpu_count()} cores, "
        f"{platform.python_implementation()} {platform.python_version()}",
    }


def main() -> None:
    options = parse_args()
    started = time.monotonic()
    if options.out.exists() and not options.reuse:
        shutil.rmtree(options.out)
    hosts, notes = choose_hosts(options)
    ops = pick(options.only, catalog.BY_NAME, "operator")
    benign = pick(options.benign, catalog.BENIGN_BY_NAME, "benign operator")
    mutants = spread(generate.build(hosts, ops), options.sample)
    healthy = spread(generate.build(hosts, benign), options.sample)
    for h in hosts:
        generate.write_folder(h.sources(), options.out / "hosts" / h.name)
    write(mutants + healthy, options.out)
    log(f"built {len(mutants)} mutants and {len(healthy)} healthy variants of {len(hosts)} hosts")
    timings = {"build_s": round(time.monotonic() - started, 1)}
    cache = PlainCache(RESULTS / "plain_cache.json")
    cached = len(cache.entries)
    host_plain = phases.plain_runs(
        {h.name: h.sources() for h in hosts}, cache, options.jobs, options.plain_timeout, log
    )
    host_plain = phases.learning_hosts(host_plain, log)
    notes += [
        f"host `{name}` dropped with its variants: {plain.error}"
        for name, plain in host_plain.items()
        if plain.status == "no_learning"
    ]
    rows = {"mutants": kill_check(mutants, host_plain, cache, options, "mutants")}
    rows["healthy"] = kill_check(healthy, host_plain, cache, options, "healthy variants")
    rows["pairs"] = pair_rows(
        options, hosts, rows["mutants"], healthy, rows["healthy"], host_plain, cache
    )
    drop_equivalents([r for kind in rows.values() for r in kind], options.out)
    planned = time.monotonic()
    timings |= {
        "plain_s": round(planned - started - timings["build_s"], 1),
        "plain_runs": len(cache.entries) - cached,
        "plain_total_s": round(sum(r["plain_s"] or 0.0 for kind in rows.values() for r in kind), 1),
    }
    learning = {name for name, plain in host_plain.items() if plain.status != "no_learning"}
    host_rows = [] if options.no_diagnose else diagnose(options, hosts, rows, learning)
    timings["diagnose_s"] = round(time.monotonic() - planned, 1)
    timings["total_s"] = round(time.monotonic() - started, 1)
    data = assemble(options, rows, host_rows, hosts, host_plain, ops, benign, notes, timings)
    (options.out / "mutants.json").write_text(json.dumps(data, indent=1))
    if not (options.only or options.benign or options.hosts or options.no_diagnose):
        (RESULTS / "mutants.json").write_text(json.dumps(data, indent=1) + "\n")
        readme.update(HERE / "README.md", "catalogue", readme.catalogue(ops, benign, hosts))
        readme.update(HERE / "README.md", "results", readme.render(data))
    log(json.dumps(data["summary"]))


if __name__ == "__main__":
    main()
