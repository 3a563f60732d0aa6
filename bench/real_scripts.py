"""Benchmark: how long a full diagnosis of public-style example scripts takes, with the observed
run's adaptive stop and with the whole step budget observed.

    python bench/real_scripts.py [--scripts a.py,b.py] [--repeats 1]

The scripts (tests/scripts/realistic/) are written like PyTorch's own examples: a CNN on
MNIST-sized images, an LSTM language model updated by hand, a small GPT, a recurrent sequence
model trained with LBFGS. Each is diagnosed twice (``adaptive=True``, then ``False``: the
``--observe full`` of the command line), replays included, reports not rendered. Prints a table
and writes bench/results/real_scripts.json. Run it alone on an idle machine.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge
from diagnose.rules.loader import load_rules

HERE = Path(__file__).parent
REALISTIC = HERE.parent / "tests" / "scripts" / "realistic"
DEFAULT_SCRIPTS = ("mnist_cnn.py", "lstm_lm.py", "char_gpt.py", "sequence_lbfgs.py")


def diagnose_once(script: Path, adaptive: bool, book) -> dict:
    started = time.monotonic()
    evidence = investigate(resolve(script, []), book, adaptive=adaptive)
    seconds = time.monotonic() - started
    diagnosis = judge(evidence, book)
    top = diagnosis.causes[0] if diagnosis.causes else None
    return {
        "seconds": round(seconds, 1),
        "observed_steps": evidence.observe.run.steps,
        "observe_seconds": evidence.observe.run.wall_seconds,
        "replays": len(evidence.scenarios),
        "verdict": diagnosis.verdict,
        "top": top.id if top else None,
        "notes": [note for note in diagnosis.notes if not note.startswith("Replays:")],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scripts", default=",".join(DEFAULT_SCRIPTS))
    parser.add_argument("--out", type=Path, default=HERE / "results" / "real_scripts.json")
    options = parser.parse_args()
    book = load_rules()
    rows = []
    for name in options.scripts.split(","):
        script = (REALISTIC / name) if not Path(name).is_absolute() else Path(name)
        row = {
            "script": script.name,
            "adaptive": diagnose_once(script, True, book),
            "full": diagnose_once(script, False, book),
        }
        rows.append(row)
        print(
            f"{script.name:22} adaptive {row['adaptive']['seconds']:6.1f}s "
            f"({row['adaptive']['observed_steps']} steps, {row['adaptive']['verdict']})   full "
            f"{row['full']['seconds']:6.1f}s ({row['full']['observed_steps']} steps, "
            f"{row['full']['verdict']})",
            flush=True,
        )
    summary = {
        mode: round(statistics.median(r[mode]["seconds"] for r in rows), 1)
        for mode in ("adaptive", "full")
    }
    print(json.dumps({"median_seconds": summary}))
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps({"median_seconds": summary, "scripts": rows}, indent=1))


if __name__ == "__main__":
    main()
