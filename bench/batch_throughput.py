"""Benchmark: batch throughput (runs per minute) of ``diagnose batch`` with 1 job versus 2.

    python bench/batch_throughput.py [--zoo ../shared/zoo] [--runs 8] [--jobs 1,2]

Each measurement is the real command on a fresh output folder (full diagnosis per run: observed
run plus the agent's replays), over the first ``--runs`` zoo scripts of the manifest. Prints a
table and writes bench/results/batch_throughput.json. Run it alone on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

HERE = Path(__file__).parent


def measure(scripts: list[Path], jobs: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        listing = Path(tmp) / "runs.jsonl"
        listing.write_text("".join(json.dumps({"script": str(s)}) + "\n" for s in scripts))
        started = time.monotonic()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "diagnose",
                "batch",
                str(listing),
                "-o",
                str(Path(tmp) / "out"),
                "--jobs",
                str(jobs),
                "-q",
            ],
            check=False,
        )
        seconds = time.monotonic() - started
        rows = json.loads((Path(tmp) / "out" / "summary.json").read_text())["rows"]
    return {
        "jobs": jobs,
        "runs": len(rows),
        "seconds": round(seconds, 1),
        "runs_per_minute": round(60 * len(rows) / seconds, 2),
        "finished": sum(r["status"] == "done" for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", type=Path, default=HERE.parent.parent / "shared" / "zoo")
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--jobs", default="1,2")
    options = parser.parse_args()
    cases = yaml.safe_load((options.zoo / "manifest.yaml").read_text())
    scripts = [options.zoo / case["script"] for case in cases if not case.get("args")][
        : options.runs
    ]
    results = [measure(scripts, int(jobs)) for jobs in options.jobs.split(",")]
    print(f"{'jobs':>4} {'runs':>5} {'seconds':>8} {'runs/min':>9}")
    for row in results:
        print(f"{row['jobs']:>4} {row['runs']:>5} {row['seconds']:>8} {row['runs_per_minute']:>9}")
    (HERE / "results").mkdir(exist_ok=True)
    (HERE / "results" / "batch_throughput.json").write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
