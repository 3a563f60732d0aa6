"""Benchmark: the observed run's time per training iteration and peak memory versus the same script
run plainly.

    python bench/overhead.py [--repeats 5] [--steps 150] [--scripts a.py,b.py]

Plain runs carry one optimizer step hook that only reads the clock (so both sides measure the
same interval: from one optimizer step to the next); a script with no optimizer (weights updated
by hand) is clocked at each backward pass instead, as the observed run counts its hand-written
updates. The default scripts span small zoo models (MLP, CNN), a recurrent model unrolled per time
step and trained with LBFGS, an LSTM language model updated by hand, and a small GPT. Prints
min/median/max of the ratio per script, for default sampling (every 20th step) and for --detail
full (every step), and writes bench/results/overhead.json. Run it alone on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from diagnose import defaults
from diagnose.driver.targets import resolve
from diagnose.facade import observe

HERE = Path(__file__).parent
ZOO = HERE.parent.parent / "shared" / "zoo"
REALISTIC = HERE.parent / "tests" / "scripts" / "realistic"
DEFAULT_SCRIPTS = (
    ZOO / "healthy_regression.py",
    ZOO / "healthy_cnn_digits.py",
    ZOO / "lr_too_low.py",
    REALISTIC / "sequence_lbfgs.py",
    REALISTIC / "lstm_lm.py",
    REALISTIC / "char_gpt.py",
)

PLAIN = r"""
import json, resource, runpy, sys, time
import torch
from torch.optim.optimizer import register_optimizer_step_post_hook
stamps, backward_stamps, limit = [], [], int(sys.argv[2])
class Done(BaseException):
    pass
def hook(optimizer, args, kwargs):
    stamps.append(time.perf_counter())
    if len(stamps) >= limit:
        raise Done()
register_optimizer_step_post_hook(hook)
original_backward = torch.Tensor.backward
def backward(tensor, *args, **kwargs):
    if not stamps and len(backward_stamps) >= limit:
        raise Done()
    backward_stamps.append(time.perf_counter())
    return original_backward(tensor, *args, **kwargs)
torch.Tensor.backward = backward
script = sys.argv[1]
sys.argv = [script]
sys.path[0] = __import__("os").path.dirname(script)
try:
    runpy.run_path(script, run_name="__main__")
except Done:
    pass
stamps = stamps if len(stamps) >= 10 else backward_stamps
gaps = sorted(b - a for a, b in zip(stamps, stamps[1:]))
print(json.dumps({"median_step_seconds": gaps[len(gaps) // 2],
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def plain(script: Path, steps: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", PLAIN, str(script), str(steps)],
        capture_output=True,
        text=True,
        check=True,
        cwd=script.parent,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def observed(script: Path, steps: int, every: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        run = observe(
            resolve(script, []), steps=steps, every=every, workdir=Path(tmp), adaptive=False
        ).observe.run
    return {"median_step_seconds": run.median_step_seconds, "peak_rss_mb": run.peak_rss_mb}


def measure(script: Path, steps: int, repeats: int) -> dict:
    rows = {"plain": [], "default": [], "full": []}
    for _ in range(repeats):
        rows["plain"].append(plain(script, steps))
        rows["default"].append(observed(script, steps, every=defaults.EVERY))
        rows["full"].append(observed(script, steps, every=1))
    base = statistics.median(r["median_step_seconds"] for r in rows["plain"])
    result = {
        "plain_step_ms": round(base * 1000, 3),
        "plain_peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in rows["plain"]), 1),
    }
    for mode in ("default", "full"):
        ratios = sorted(
            r["median_step_seconds"] / p["median_step_seconds"]
            for r, p in zip(rows[mode], rows["plain"])
        )
        result[mode] = {
            "ratio_min": round(ratios[0], 3),
            "ratio_median": round(statistics.median(ratios), 3),
            "ratio_max": round(ratios[-1], 3),
            "peak_rss_mb": round(statistics.median(r["peak_rss_mb"] for r in rows[mode]), 1),
        }
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--scripts", default=",".join(str(s) for s in DEFAULT_SCRIPTS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "overhead.json")
    options = parser.parse_args()
    results = {}
    for name in options.scripts.split(","):
        script = Path(name).resolve()
        results[script.name] = measure(script, options.steps, options.repeats)
        print(script.name, json.dumps(results[script.name]), flush=True)
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
