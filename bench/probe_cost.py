"""What the fit probe costs: its share of each observed run's and each replay's wall time.

    python bench/probe_cost.py FOLDER [--json OUT]

FOLDER holds diagnoses (``evidence.json`` at any depth, e.g. the zoo scored with
``../shared/zoo/score.py --out FOLDER``). The probe records the time it spent drawing, measuring
and saving its batches (``fit.seconds``); this sums it per diagnosis, beside the runs' wall time,
and prints the medians and the largest share.
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from diagnose.evidence import Evidence


def cost(evidence: Evidence) -> dict[str, float]:
    """The probe's seconds and the wall seconds of the observed run and of the replays."""
    observed = evidence.observe
    replays = list(evidence.scenarios.values())
    return {
        "observed_probe_s": observed.fit.seconds if observed.fit else 0.0,
        "observed_wall_s": observed.run.wall_seconds,
        "replays_probe_s": sum(r.fit.seconds for r in replays if r.fit),
        "replays_wall_s": sum(r.run.wall_seconds for r in replays),
    }


def share(rows: list[dict[str, float]], part: str, whole: str) -> list[float]:
    return [row[part] / row[whole] for row in rows if row[whole] > 0]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--json", type=Path, help="write the rows and the summary here")
    options = parser.parse_args(argv)
    rows = {
        str(path.parent.relative_to(options.folder)): cost(Evidence.load(path))
        for path in sorted(options.folder.rglob("evidence.json"))
    }
    if not rows:
        raise SystemExit(f"{options.folder}: no evidence.json found")
    values = list(rows.values())
    observed = share(values, "observed_probe_s", "observed_wall_s")
    replays = share(values, "replays_probe_s", "replays_wall_s")
    summary = {
        "diagnoses": len(values),
        "observed_probe_s_median": round(
            statistics.median(r["observed_probe_s"] for r in values), 3
        ),
        "observed_share_median": round(statistics.median(observed), 4) if observed else None,
        "observed_share_max": round(max(observed), 4) if observed else None,
        "replays_share_median": round(statistics.median(replays), 4) if replays else None,
        "replays_share_max": round(max(replays), 4) if replays else None,
    }
    print(json.dumps(summary, indent=1))
    if options.json:
        options.json.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
