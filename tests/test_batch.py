"""Batch triage: run lists, parallel runs, summaries, resuming, interruption, the Ray executor."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SCRIPTS

from diagnose.batch.executor import ROW_FILE, BatchOptions, LocalExecutor, run_batch
from diagnose.batch.runlist import collect
from diagnose.driver.interpreter import module_command
from diagnose.errors import UsageError

pytestmark = pytest.mark.heavy

LOOPS = SCRIPTS / "loops"


def runs_file(tmp_path: Path) -> Path:
    lines = [
        {
            "script": str(SCRIPTS / "replay_target.py"),
            "args": ["--bug", "high_lr"],
            "name": "high lr",
        },
        {
            "script": str(SCRIPTS / "replay_target.py"),
            "args": ["--bug", "no_zero_grad"],
            "name": "no zero grad",
        },
        {"script": str(SCRIPTS / "replay_target.py"), "name": "healthy"},
        {"script": str(SCRIPTS / "crash_after_steps.py")},
        {"script": str(SCRIPTS / "hangs_before_training.py")},
        {"script": str(LOOPS / "missing_import.py")},
    ]
    path = tmp_path / "runs.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    return path


def test_run_lists_folders_and_names(tmp_path):
    runs = collect([runs_file(tmp_path), LOOPS])
    names = [run.name for run in runs]
    assert names[:3] == ["high-lr", "no-zero-grad", "healthy"]
    assert runs[0].args == ["--bug", "high_lr"] and runs[0].cwd == tmp_path
    assert "common" not in names and "gan" in names  # helpers without torch are not runs
    toml = tmp_path / "runs.toml"
    toml.write_text(
        f'[[run]]\nscript = "{SCRIPTS / "tiny_train.py"}"\nargs = ["--steps", "5"]\n'
        f'[[run]]\nscript = "{SCRIPTS / "tiny_train.py"}"\n'
    )
    assert [r.name for r in collect([toml])] == ["tiny_train", "tiny_train-2"]
    with pytest.raises(UsageError, match="needs a 'script'"):
        (tmp_path / "bad.jsonl").write_text('{"args": []}')
        collect([tmp_path / "bad.jsonl"])


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("batch")
    options = BatchOptions(
        out=tmp / "out", jobs=2, diagnose_args=["--timeout", "10", "--budget", "20"], run_seconds=90
    )
    started = time.monotonic()
    rows = run_batch(collect([runs_file(tmp)]), options, LocalExecutor(2))
    return rows, options, time.monotonic() - started


def test_batch_writes_a_row_per_run_and_groups_them(batch):
    rows, options, _ = batch
    by_name = {row.name: row for row in rows}
    assert by_name["high-lr"].top_cause == "lr_too_high" and by_name["high-lr"].confirmed
    assert by_name["no-zero-grad"].top_cause == "missing_zero_grad"
    assert by_name["healthy"].healthy and by_name["healthy"].group == "healthy"
    assert by_name["crash_after_steps"].verdict == "crashed"
    assert by_name["hangs_before_training"].verdict == "hung"
    assert by_name["missing_import"].verdict == "crashed"
    summary = json.loads((options.out / "summary.json").read_text())
    assert (
        summary["runs"] == 6 and {g["group"]: g["count"] for g in summary["groups"]}["crashed"] == 2
    )
    with open(options.out / "summary.csv") as handle:
        assert [r["name"] for r in csv.DictReader(handle)] == [row.name for row in rows]
    index = (options.out / "index.html").read_text()
    assert "2 runs: crashed" in index and 'href="high-lr/report.html"' in index
    assert (options.out / "high-lr" / "report.html").exists() and not (
        options.out / ".staging"
    ).exists()


def test_a_second_call_redoes_nothing(batch):
    rows, options, _ = batch
    started = time.monotonic()
    again = run_batch(collect([runs_file(options.out.parent)]), options, LocalExecutor(2))
    assert time.monotonic() - started < 5
    assert [r.model_dump() for r in again] == [r.model_dump() for r in rows]


def test_interrupted_batch_keeps_finished_runs_and_completes_on_rerun(tmp_path):
    out = tmp_path / "out"
    scripts = [str(SCRIPTS / "tiny_train.py")] * 4 + [str(LOOPS / "gan.py")] * 2
    command = module_command(
        "diagnose",
        "batch",
        *scripts,
        "-o",
        str(out),
        "--jobs",
        "2",
        "-q",
    )
    process = subprocess.Popen(command)
    deadline = time.monotonic() + 120
    while len(list(out.glob(f"*/{ROW_FILE}"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=60) == 2
    finished = {p.parent.name for p in out.glob(f"*/{ROW_FILE}")}
    assert 2 <= len(finished) < 6 and not (out / ".staging").exists()
    assert all((out / name / ROW_FILE).exists() for name in finished)
    assert {p.name for p in out.iterdir() if p.is_dir()} == finished  # nothing half written
    subprocess.run(command, check=False, timeout=300)
    assert len(list(out.glob(f"*/{ROW_FILE}"))) == 6
    assert json.loads((out / "summary.json").read_text())["runs"] == 6


def test_ray_executor_gives_the_local_summary(batch, tmp_path, monkeypatch):
    ray = pytest.importorskip("ray", reason="ray is not installed (pip install 'nn-diagnose[ray]')")
    from diagnose.batch.ray_executor import RayExecutor

    monkeypatch.chdir(tmp_path)  # Ray's workers put the driver's folder on sys.path: not the repo

    rows, options, _ = batch
    environment = dict(os.environ)  # ray.init sets variables of its own in this process
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        ray_options = BatchOptions(
            out=tmp_path / "ray",
            jobs=2,
            diagnose_args=options.diagnose_args,
            run_seconds=options.run_seconds,
        )
        ray_rows = run_batch(collect([runs_file(options.out.parent)]), ray_options, RayExecutor())
    finally:
        ray.shutdown()
        os.environ.clear()
        os.environ.update(environment)
    keys = ("name", "status", "verdict", "top_cause", "confirmed")
    assert [[getattr(r, k) for k in keys] for r in ray_rows] == [
        [getattr(r, k) for k in keys] for r in rows
    ]
    assert (tmp_path / "ray" / "high-lr" / "report.json").exists()
