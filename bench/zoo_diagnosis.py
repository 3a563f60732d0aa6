"""Benchmark: wall time and rightness of a full diagnosis (observed run + the agent's replays) per
script of the zoo and of the generalization corpus (tests/cases), and what each replay costs when
forked from the observed run versus started cold.

    python bench/zoo_diagnosis.py [--zoo ../shared/zoo] [--sets zoo,cases] [--only id,id] [--cold 5]

Per set it counts, as ../shared/zoo/score.py does: top-1 (a buggy case is right only when the
verdict is not healthy and the expected cause ranks first), ``called_healthy`` (buggy runs called
healthy), ``confirmed_wrong`` (a top cause marked confirmed that is not a right one) and the healthy
scripts kept healthy. Prints a table and writes bench/results/zoo_diagnosis.json. Run it alone:
two torch processes on two cores distort each other's timings.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import tempfile
import time
from pathlib import Path

import yaml

from diagnose.driver.runner import ScenarioSpec, run_scenario
from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge
from diagnose.rules.loader import load_rules

HERE = Path(__file__).parent
CASES = HERE.parent / "tests" / "cases"


def zoo_cases(zoo: Path) -> list[dict]:
    return [
        {**case, "script": zoo / case["script"], "set": "zoo"}
        for case in yaml.safe_load((zoo / "manifest.yaml").read_text())
    ]


def corpus_cases() -> list[dict]:
    """tests/cases in the zoo manifest's shape (labels live only in cases.yaml)."""
    labels = yaml.safe_load((CASES / "cases.yaml").read_text())
    return [
        {
            "id": Path(name).stem,
            "script": CASES / name,
            "set": "cases",
            "healthy": label["expected"] == "healthy",
            "expected": None if label["expected"] == "healthy" else label["expected"],
            "also_ok": label.get("also_ok", []),
        }
        for name, label in labels.items()
    ]


def judged(case: dict, diagnosis) -> dict:
    """Right or wrong, as score.py counts it."""
    ids = [c.id for c in diagnosis.causes]
    if case["healthy"]:
        return {
            "right": diagnosis.healthy and all(c.confidence < 0.5 for c in diagnosis.causes),
            "called_healthy": False,
            "confirmed_wrong": bool(diagnosis.causes and diagnosis.causes[0].confirmed),
        }
    acceptable = {case["expected"], *case.get("also_ok", [])}
    top = diagnosis.causes[0] if diagnosis.causes else None
    return {
        "right": not diagnosis.healthy and bool(ids) and ids[0] == case["expected"],
        "called_healthy": diagnosis.healthy,
        "confirmed_wrong": bool(top and top.confirmed and top.id not in acceptable),
    }


def diagnose_case(case: dict, book) -> dict:
    target = resolve(Path(case["script"]), case.get("args", []))
    started = time.monotonic()
    evidence = investigate(target, book)
    total = time.monotonic() - started
    diagnosis = judge(evidence, book)
    top = diagnosis.causes[0] if diagnosis.causes else None
    return {
        "id": case["id"],
        "set": case["set"],
        "seconds": round(total, 2),
        "observe": evidence.observe.run.wall_seconds,
        "verdict": diagnosis.verdict,
        "expected": case.get("expected") or "healthy",
        **judged(case, diagnosis),
        "top": top.id if top else None,
        "confirmed": bool(top and top.confirmed),
        "replays": [
            {
                "name": n,
                "mode": r.mode,
                "seconds": r.run.wall_seconds,
                "steps": r.run.steps,
                "intervention": dataclasses.asdict(r.intervention) if r.intervention else None,
            }
            for n, r in evidence.scenarios.items()
        ],
        "target": target,
    }


def cold_cost(row: dict) -> list[dict]:
    """The same replays again, each in a fresh interpreter from the start of the script."""
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        for replay in row["replays"]:
            if replay["mode"] != "fork" or not replay["intervention"]:
                continue
            spec = ScenarioSpec(
                replay["name"],
                row["target"].script,
                row["target"].args,
                max_steps=max(replay["steps"], 1),
                intervention={
                    "name": replay["intervention"]["name"],
                    "params": replay["intervention"]["params"],
                },
            )
            result = run_scenario(spec, Path(tmp))
            out.append(
                {"name": replay["name"], "fork": replay["seconds"], "cold": result.wall_seconds}
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--zoo", type=Path, default=HERE.parent.parent / "shared" / "zoo")
    parser.add_argument("--sets", default="zoo,cases", help="zoo, cases (tests/cases), or both")
    parser.add_argument("--only", default="")
    parser.add_argument(
        "--cold", type=int, default=5, help="cases whose replays are also timed cold"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results" / "zoo_diagnosis.json")
    options = parser.parse_args()
    sets = options.sets.split(",")
    cases = (zoo_cases(options.zoo) if "zoo" in sets else []) + (
        corpus_cases() if "cases" in sets else []
    )
    if options.only:
        cases = [c for c in cases if c["id"] in options.only.split(",")]
    book = load_rules()
    rows = []
    for case in cases:
        row = diagnose_case(case, book)
        rows.append(row)
        replays = " ".join(f"{r['name']}:{r['mode']}:{r['seconds']:.2f}s" for r in row["replays"])
        print(
            f"{'ok ' if row['right'] else 'BAD'} {row['set']:5} {row['id']:28} "
            f"{row['seconds']:6.1f}s  {row['verdict']:12} {row['top'] or '-':28} "
            f"{'confirmed' if row['confirmed'] else '         '}  {replays}",
            flush=True,
        )
    compared = [
        c for row in [r for r in rows if r["replays"]][: options.cold] for c in cold_cost(row)
    ]
    summary = {
        name: summarize([r for r in rows if r["set"] == name], compared if name == "zoo" else [])
        for name in sets
        if any(r["set"] == name for r in rows)
    }
    print(json.dumps(summary, indent=1))
    for row in rows:
        row.pop("target")
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(
        json.dumps({"summary": summary, "cases": rows, "fork_vs_cold": compared}, indent=1)
    )


def summarize(rows: list[dict], compared: list[dict]) -> dict:
    totals = [r["seconds"] for r in rows]
    replays = [p for r in rows for p in r["replays"]]
    by_mode = {
        mode: [p["seconds"] for p in replays if p["mode"] == mode] for mode in ("fork", "cold")
    }
    buggy = [r for r in rows if r["expected"] != "healthy"]
    return {
        "cases": len(rows),
        "buggy": len(buggy),
        "top1": round(sum(r["right"] for r in buggy) / max(len(buggy), 1), 3),
        "healthy_ok": (
            f"{sum(r['right'] for r in rows if r['expected'] == 'healthy')}"
            f"/{len(rows) - len(buggy)}"
        ),
        "called_healthy": sum(r["called_healthy"] for r in buggy),
        "confirmed_wrong": sum(r["confirmed_wrong"] for r in rows),
        "median_seconds": round(statistics.median(totals), 2),
        "max_seconds": max(totals),
        "median_observe_seconds": round(statistics.median(r["observe"] for r in rows), 2),
        "replays": len(replays),
        "median_replay_seconds": {
            m: round(statistics.median(v), 2) for m, v in by_mode.items() if v
        },
        "same_replay_fork_vs_cold_median": {
            "fork": round(statistics.median(c["fork"] for c in compared), 2),
            "cold": round(statistics.median(c["cold"] for c in compared), 2),
        }
        if compared
        else None,
    }


if __name__ == "__main__":
    main()
