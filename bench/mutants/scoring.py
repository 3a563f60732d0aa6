"""Diagnose a folder with the real `diagnose` command and judge its report as the zoo does.

Judging reuses `judge` from ../shared/zoo/score.py, so a mutant counts exactly as a zoo case
would: top-1 only when the verdict is not healthy and the first cause is the planted one, top-3
when the planted cause or an also_ok id is in the first three, confirmed-wrong when the first
cause is confirmed but is neither. A healthy variant counts as a healthy zoo case: healthy, with
no cause at confidence 0.5 or more.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import time
from functools import cache
from pathlib import Path
from types import ModuleType

ZOO_SCORE = Path(__file__).resolve().parents[3] / "shared" / "zoo" / "score.py"
RUN_FILE = "bench-run.json"  # beside report.json: the exit code and seconds, for --reuse


@cache
def zoo_score() -> ModuleType:
    spec = importlib.util.spec_from_file_location("zoo_score", ZOO_SCORE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def diagnose(folder: Path, out: Path, timeout: float, threads: int, reuse: bool = False) -> dict:
    """Run `diagnose train.py -o OUT --format json` in `folder`: {exit, seconds, report, error}."""
    if reuse and (out / "report.json").exists() and (out / RUN_FILE).exists():
        return json.loads((out / RUN_FILE).read_text()) | {"report": _read(out)}
    exe = shutil.which("diagnose") or "diagnose"
    env = dict(
        os.environ,
        OMP_NUM_THREADS=str(threads),
        MKL_NUM_THREADS=str(threads),
        CUDA_VISIBLE_DEVICES="",
    )
    if out.exists():
        shutil.rmtree(out)
    started = time.monotonic()
    try:
        proc = subprocess.run(
            [exe, "train.py", "-o", str(out.resolve()), "--format", "json"],
            cwd=folder,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
        )
        code, error = proc.returncode, (proc.stderr or "").strip()[-400:]
    except subprocess.TimeoutExpired:
        code, error = "timeout", f"diagnose did not finish within {timeout:.0f} s"
    run = {
        "exit": code,
        "seconds": round(time.monotonic() - started, 1),
        "error": error if code not in (0, 1) else "",
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / RUN_FILE).write_text(json.dumps(run))
    return run | {"report": _read(out)}


def _read(out: Path) -> dict | None:
    try:
        return json.loads((out / "report.json").read_text())
    except (OSError, ValueError):
        return None


CONFIDENT = 0.5  # a cause listed at this confidence or more is a claim, right or wrong


def top_cause(report: dict | None) -> str:
    """What a diagnosis names first: "healthy", the first cause's id, or "none" (no report or no
    cause)."""
    if report and report.get("healthy"):
        return "healthy"
    causes = (report or {}).get("causes", [])
    return causes[0].get("id", "none") if causes else "none"


def score(report: dict | None, cause: str, also_ok: tuple[str, ...]) -> dict:
    """How a mutant's (or a pair's) report fares against its label. `extra`: the wrong causes it
    lists at confidence 0.5 or more."""
    case = {"expected": cause, "also_ok": list(also_ok), "healthy": False}
    top1, top3, ids, wrong = zoo_score().judge(case, report)
    causes = (report or {}).get("causes", [])
    right = {cause, *also_ok}
    return {
        "top1": top1,
        "top3": top3,
        "got": ids,
        "verdict": (report or {}).get("verdict"),
        "healthy": bool(report and report.get("healthy")),
        "confirmed": bool(causes and causes[0].get("confirmed")),
        "confirmed_wrong": wrong,
        "top": [
            [c.get("id"), round(c.get("confidence", 0), 2), bool(c.get("confirmed"))]
            for c in causes[:3]
        ],
        "fired": _fired(report),
        "extra": [
            c.get("id")
            for c in causes
            if c.get("confidence", 0) >= CONFIDENT and c.get("id") not in right
        ],
        "top_cause": top_cause(report),
    }


def score_host(report: dict | None) -> dict:
    """A host (or a healthy variant) must come out healthy with no cause at confidence 0.5 or
    more; `confirmed`: a cause was confirmed by its fix, which must never happen on one."""
    ok, _, ids, _ = zoo_score().judge({"healthy": True}, report)
    causes = (report or {}).get("causes", [])
    return {
        "healthy_ok": ok,
        "healthy": bool(report and report.get("healthy")),
        "got": ids,
        "verdict": (report or {}).get("verdict"),
        "confirmed": any(c.get("confirmed") for c in causes),
        "top": [
            [c.get("id"), round(c.get("confidence", 0), 2), bool(c.get("confirmed"))]
            for c in causes[:3]
        ],
        "fired": _fired(report),
        "top_cause": top_cause(report),
    }


def _fired(report: dict | None) -> list[str]:
    """The symptoms that fired: what a reader of a miss looks at first."""
    return [s["id"] for s in (report or {}).get("symptoms", []) if s.get("status") == "fired"]
