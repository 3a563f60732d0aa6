"""The runner's odd cases: crash, sys.exit, hang, stdin, no optimizer, argv, budgets, orphans."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import SCRIPTS, live_runs


def test_argv_path_and_cwd_are_the_scripts(observed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    evidence = observed(SCRIPTS / "tiny_train.py", "--steps", "40", "--tag", "a b")
    out = evidence.observe.run.stdout_tail
    assert 'ARGV=["--steps", "40", "--tag", "a b"]' in out
    assert f"PATH0={SCRIPTS}" in out
    assert f"CWD={tmp_path}" in out
    assert evidence.observe.run.status == "completed"
    assert evidence.observe.run.steps == 40


def test_step_budget_stops_the_run_at_a_step_boundary(observed):
    evidence = observed(SCRIPTS / "tiny_train.py", "--steps", "500", steps=25)
    run = evidence.observe.run
    assert run.status == "budget" and run.steps == 25
    assert "step budget" in run.reason
    assert len(evidence.observe.loss.values) == 25


def test_budget_is_not_swallowed_by_except_exception(observed):
    run = observed(SCRIPTS / "swallows_exceptions.py", steps=30).observe.run
    assert run.status == "budget" and run.steps == 30


def test_crash_is_evidence_with_the_users_line(diagnosed):
    diagnosis = diagnosed(SCRIPTS / "crash_after_steps.py")
    assert diagnosis.verdict == "crashed" and not diagnosis.healthy
    assert diagnosis.exception.type == "ValueError"
    assert diagnosis.exception.message == "boom after three steps"
    assert diagnosis.exception.user_frame.line == 12
    assert "raise ValueError" in diagnosis.exception.user_frame.code
    assert diagnosis.scenarios[0].steps == 3


def test_sys_exit_nonzero_before_training(diagnosed):
    diagnosis = diagnosed(SCRIPTS / "exits_early.py")
    assert diagnosis.verdict == "no_training"
    assert "sys.exit(3)" in diagnosis.summary


def test_sys_exit_zero_after_training_completes(observed):
    run = observed(SCRIPTS / "exits_zero_after_training.py").observe.run
    assert run.status == "completed" and run.steps == 5 and run.exit_code == 0


def test_script_without_optimizer_never_trains(diagnosed):
    diagnosis = diagnosed(SCRIPTS / "inference_only.py")
    assert diagnosis.verdict == "no_training" and not diagnosis.healthy
    assert diagnosis.causes == []


def test_stdin_read_fails_fast_instead_of_hanging(diagnosed):
    started = time.monotonic()
    diagnosis = diagnosed(SCRIPTS / "reads_stdin.py")
    assert time.monotonic() - started < 20
    assert diagnosis.verdict == "crashed" and diagnosis.exception.type == "EOFError"


def test_busy_loop_before_training_is_stopped_and_reported(diagnosed):
    started = time.monotonic()
    diagnosis = diagnosed(SCRIPTS / "hangs_before_training.py", timeout=6)
    assert time.monotonic() - started < 6 + 12
    assert diagnosis.verdict == "hung"
    assert diagnosis.scenarios[0].status == "timeout"


def test_a_slow_script_is_not_hung(diagnosed):
    """Steps of several seconds each: at the time limit the run is still training, so it ends like a
    budget (with a note) and is diagnosed from what it did, never reported hung."""
    diagnosis = diagnosed(SCRIPTS / "slow_steps.py", timeout=14)
    assert diagnosis.verdict != "hung" and diagnosis.scenarios[0].status == "budget"
    assert any("The script is slow" in note for note in diagnosis.notes)


def test_blocked_sleep_is_stopped(observed):
    run = observed(SCRIPTS / "sleeps_forever.py", timeout=5).observe.run
    assert run.status == "timeout"


def test_no_orphan_processes_after_a_hang_with_workers(observed):
    run = observed(SCRIPTS / "workers_then_hang.py", timeout=8).observe.run
    assert run.status == "timeout" and run.steps == 16
    time.sleep(0.5)
    assert live_runs() == []


def test_stopping_diagnose_stops_the_run_it_started(tmp_path):
    """`kill` (or Ctrl-C) of diagnose must not leave the script running in its own session."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "diagnose",
            str(SCRIPTS / "sleeps_forever.py"),
            "-o",
            str(tmp_path / "out"),
            "--timeout",
            "300",
            "-q",
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not live_runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_runs(), "the run never started"
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 2 and err.strip() == "diagnose: interrupted"
    time.sleep(0.5)
    assert live_runs() == []


@pytest.mark.parametrize("command", [[], ["batch"]], ids=["single", "batch"])
def test_a_killed_diagnose_leaves_no_run_behind(tmp_path, command):
    """Even a SIGKILLed diagnose, which cannot react, stops its runs (Linux parent-death signal)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "diagnose",
            *command,
            str(SCRIPTS / "sleeps_forever.py"),
            "-o",
            str(tmp_path / "out"),
            "--timeout",
            "300",
            "-q",
        ],
        stderr=subprocess.DEVNULL,
        env=dict(os.environ, TMPDIR=str(tmp_path)),
    )  # what a killed diagnose cannot remove
    deadline = time.monotonic() + 60
    while not live_runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_runs(), "the run never started"
    process.kill()
    process.wait()
    deadline = time.monotonic() + 20
    while live_runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_runs() == []
