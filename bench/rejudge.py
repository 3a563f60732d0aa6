"""Re-judge saved diagnoses with the current rules and compare: a refactor must change nothing.

    python bench/rejudge.py FOLDER [--symptoms]

FOLDER holds diagnoses written by an earlier version (``diagnose`` or ``diagnose batch`` output:
``evidence.json`` beside ``report.json``, at any depth). Each evidence is judged again with the
rules of this checkout, and the verdict and the ranked causes (id, confidence, confirmed, status)
are compared with the saved report; with ``--symptoms`` every symptom's status, strength and
detail too. Judging is deterministic given the evidence, so any difference is a change of
behaviour. Exit 0 when every diagnosis is identical, 1 otherwise (each difference printed).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from diagnose.evidence import Evidence
from diagnose.rules.judge import judge
from diagnose.rules.loader import load_rules


def summary(report: dict[str, Any], symptoms: bool) -> dict[str, Any]:
    """What must stay the same: the verdict, the ranked causes and (optionally) every symptom."""
    shown: dict[str, Any] = {
        "verdict": report["verdict"],
        "healthy": report["healthy"],
        "causes": [
            (c["id"], c["confidence"], c["confirmed"], c["status"]) for c in report["causes"]
        ],
    }
    if symptoms:
        shown["symptoms"] = sorted(
            (s["id"], s["status"], s["strength"], s["detail"])
            for s in report["symptoms"] + report["not_evaluated"]
        )
    return shown


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--symptoms", action="store_true", help="compare every symptom too")
    options = parser.parse_args(argv)
    book = load_rules()
    compared = differ = 0
    for evidence_path in sorted(options.folder.rglob("evidence.json")):
        report_path = evidence_path.with_name("report.json")
        if not report_path.exists():
            continue
        saved = summary(json.loads(report_path.read_text()), options.symptoms)
        diagnosis = judge(Evidence.load(evidence_path), book)
        now = summary(json.loads(diagnosis.model_dump_json()), options.symptoms)
        compared += 1
        if now != saved:
            differ += 1
            print(f"{evidence_path.parent}:")
            for key in saved:
                if saved[key] != now[key]:
                    print(f"  {key}: {saved[key]}\n  now: {now[key]}")
    print(f"{compared} diagnoses re-judged, {differ} differ", file=sys.stderr)
    return 1 if differ or not compared else 0


if __name__ == "__main__":
    sys.exit(main())
