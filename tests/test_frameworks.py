"""Scripts written for the frameworks people train with — Lightning, Hugging Face ``Trainer``,
``accelerate``, a nanoGPT-style flat script — and DDP scripts launched torchrun-style: diagnosed
unmodified, healthy when healthy, each planted bug found, the user's folder left byte-identical.

The frameworks are the optional extra ``frameworks`` (``pip install -e ".[frameworks]"``); a test
whose framework is not installed skips and says so. Each run is the observed run judged alone
(``quick``) except the few that check a confirmation by replay.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import live_runs, two_at_a_time

from diagnose.facade import run

FRAMEWORKS = Path(__file__).resolve().parent.parent / "examples" / "frameworks"
NANOGPT = FRAMEWORKS / "nanogpt"
STEPS = 150  # a healthy run needs them to show it learns
BUG_STEPS = 100  # a planted bug (other than the LR) shows from the first steps


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def needs(module: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(
        not installed(module), reason=f"{module} is not installed (pip install -e '.[frameworks]')"
    )


# (framework module, example, planted bug, script arguments, expected top cause; None: healthy).
# Each example has a fourth bug too (see its docstring), left out here to keep this file's time.
CASES = [
    ("lightning", "lightning_train.py", "none", [], None),
    ("lightning", "lightning_train.py", "lr", ["--bug", "lr"], "lr_too_high"),
    ("lightning", "lightning_train.py", "zero_grad", ["--bug", "zero_grad"], "missing_zero_grad"),
    ("lightning", "lightning_train.py", "frozen", ["--bug", "frozen"], "frozen_parameters"),
    ("transformers", "hf_trainer_train.py", "none", [], None),
    ("transformers", "hf_trainer_train.py", "frozen", ["--bug", "frozen"], "frozen_parameters"),
    ("transformers", "hf_trainer_train.py", "detach", ["--bug", "detach"], "detached_graph"),
    ("transformers", "hf_trainer_train.py", "loss", ["--bug", "loss"], "wrong_loss_for_task"),
    ("accelerate", "accelerate_train.py", "none", [], None),
    ("accelerate", "accelerate_train.py", "lr", ["--bug", "lr"], "lr_too_high"),
    ("accelerate", "accelerate_train.py", "zero_grad", ["--bug", "zero_grad"], "missing_zero_grad"),
    (
        "accelerate",
        "accelerate_train.py",
        "loss",
        ["--bug", "loss"],
        "softmax_before_cross_entropy",
    ),
    ("numpy", "nanogpt/train.py", "none", [], None),
    ("numpy", "nanogpt/train.py", "lr", ["--learning_rate=1.0"], "lr_too_high"),
    ("numpy", "nanogpt/train.py", "zero_grad", ["--zero_grad=False"], "missing_zero_grad"),
    ("numpy", "nanogpt/train.py", "detach", ["--detach_head=True"], "detached_graph"),
]
# A too-high LR shows in the observed run as its consequences (dead ReLUs, a stuck or climbing
# loss); the LR range test and the lower-LR replay establish it, so those cases run with replays:
# forked (accelerate, nanoGPT) or cold (Lightning's TensorBoard logger runs a thread), through the
# optimizer the framework built.
REPLAYED = {"lr": ["--budget", "45"]}
CONFIRMED = {
    "accelerate-lr",
    "nanogpt-lr",
}  # forked replays: the lower-LR fix runs within the budget


# Scripts that write into the working folder: Lightning's lightning_logs/, Trainer's output_dir with
# its checkpoints, nanoGPT's out_dir (the report lists each redirected write).
WRITES = {"lightning_train.py", "hf_trainer_train.py", "nanogpt/train.py"}


def case_id(script: str, bug: str) -> str:
    return f"{script.split('/')[0].removesuffix('_train.py')}-{bug}"


def tree_hash(folder: Path) -> str:
    """Names and bytes of every file under ``folder``: equal hashes, byte-identical folders."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        digest.update(str(path.relative_to(folder)).encode())
        if path.is_file():
            digest.update(path.read_bytes())
    return digest.hexdigest()


def diagnose_command(script: str, args: list[str], out: Path, *options: str) -> list[str]:
    if script.startswith("nanogpt/"):  # nanoGPT's config file comes first, then its overrides
        args = [str(NANOGPT / "config" / "tiny.py"), *args]
    return [
        sys.executable,
        "-m",
        "diagnose",
        str(FRAMEWORKS / script),
        "-o",
        str(out),
        "--format",
        "json",
        "-q",
        *options,
        "--",
        *args,
    ]


@pytest.fixture(scope="module")
def quick_reports(tmp_path_factory) -> dict[str, tuple[dict, Path]]:
    """Every installed case diagnosed two at a time, each from a working folder of its own (where
    the framework writes): the observed run judged alone (``--quick``), or with replays for the
    cases of ``REPLAYED``. Its report and that folder."""

    def diagnose(case: tuple) -> tuple[dict, Path]:
        _, script, bug, args, _ = case
        folder = tmp_path_factory.mktemp(case_id(script, bug))
        out = tmp_path_factory.mktemp("reports") / case_id(script, bug)
        options = REPLAYED.get(
            bug, ["--quick", "--steps", str(STEPS if bug == "none" else BUG_STEPS)]
        )
        subprocess.run(
            diagnose_command(script, args, out, *options),
            cwd=folder,
            stdin=subprocess.DEVNULL,
            timeout=300,
        )
        return json.loads((out / "report.json").read_text()), folder

    cases = {case_id(c[1], c[2]): c for c in CASES if installed(c[0])}
    return two_at_a_time(lambda name: diagnose(cases[name]), list(cases))


@pytest.fixture(scope="module")
def examples_before() -> str:
    return tree_hash(FRAMEWORKS)


@pytest.mark.parametrize(
    "script, bug, expected",
    [
        pytest.param(script, bug, expected, id=case_id(script, bug), marks=needs(module))
        for module, script, bug, _, expected in CASES
    ],
)
def test_framework_scripts_are_diagnosed_unmodified(
    examples_before, quick_reports, script, bug, expected
):
    report, folder = quick_reports[case_id(script, bug)]
    causes = [(c["id"], round(c["confidence"], 2)) for c in report["causes"]]
    if expected is None:
        assert report["healthy"], (report["summary"], causes)
    else:
        assert not report["healthy"] and causes and causes[0][0] == expected, (
            report["summary"],
            causes,
        )
        assert report["causes"][0]["confirmed"] or case_id(script, bug) not in CONFIRMED, report[
            "summary"
        ]
    if script in WRITES:
        assert any(path.startswith(str(folder)) for path in report["redirected"]), report[
            "redirected"
        ]
    assert list(folder.iterdir()) == [], "the framework wrote into the user's folder"
    assert tree_hash(FRAMEWORKS) == examples_before, "the run wrote beside the script"


# -- torchrun-style launches ---------------------------------------------------------------------
DDP = FRAMEWORKS / "ddp_train.py"


@pytest.mark.parametrize(
    "bug, expected",
    [
        ("none", None),
        ("set_epoch", "sampler_epoch_not_set"),
        ("unsynced", "ranks_out_of_sync"),
        ("unreduced", "metrics_not_reduced"),
    ],
)
def test_ddp_runs_are_diagnosed_from_every_rank(tmp_path, monkeypatch, bug, expected):
    monkeypatch.chdir(tmp_path)
    diagnosis = run(
        DDP, [] if bug == "none" else ["--bug", bug], steps=STEPS, quick=True, nproc_per_node=2
    )
    if expected is None:
        assert diagnosis.healthy, diagnosis.summary
    else:
        assert diagnosis.top.id == expected, [
            (c.id, round(c.confidence, 2)) for c in diagnosis.causes
        ]


def test_ctrl_c_stops_every_rank(tmp_path):
    def ranks() -> list[str]:  # this diagnosis's: its work folder is under tmp_path (TMPDIR)
        return [line for line in live_runs() if str(tmp_path) in line]

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "diagnose",
            "--nproc-per-node",
            "2",
            str(DDP),
            "-o",
            str(tmp_path / "out"),
            "--timeout",
            "300",
            "--steps",
            "100000",
            "-q",
            "--",
            "--epochs",
            "1000",
        ],
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=dict(os.environ, TMPDIR=str(tmp_path)),
    )
    deadline = time.monotonic() + 60
    while len(ranks()) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(ranks()) == 2, "the two ranks never started"
    time.sleep(3)  # both ranks in the training loop, talking to each other
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and err.strip() == "diagnose: interrupted"
    time.sleep(0.5)
    assert ranks() == []


def test_a_run_list_launches_a_run_torchrun_style(tmp_path):
    from diagnose.batch.runlist import collect

    runs = tmp_path / "runs.jsonl"
    runs.write_text(f'{{"script": "{DDP}", "nproc_per_node": 2}}\n{{"script": "{DDP}"}}\n')
    first, second = collect([runs])
    assert first.launch_args() == ["--nproc-per-node", "2"] and second.launch_args() == []
