"""A run forked from the zygote is the run a cold interpreter would have made.

The zygote (``diagnose.child.zygote``) imports torch and our probes once and forks a child per run;
the test session itself runs its children that way. These tests hold it to the cold child's
behaviour: the same numbers for a seeded script, fresh random streams for an unseeded one, the
run's own environment and thread count, a cold start where the environment differs in what an
interpreter reads as it starts, and no run left behind when the diagnose process that asked for
it is killed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import SCRIPTS, ZYGOTE, cold_env, live_runs

from diagnose.child import zygote as child_zygote
from diagnose.driver import zygote
from diagnose.driver.interpreter import module_command
from diagnose.driver.runner import ChildResult, ScenarioSpec, child_env, run_scenario

REPORT = """
import json, os, random, sys
import numpy as np
import torch
print(json.dumps({"ppid": os.getppid(), "threads": torch.get_num_threads(),
                  "marker": os.environ.get("ZYGOTE_TEST_MARKER"), "cwd": os.getcwd(),
                  "random": [random.random(), float(np.random.rand()), float(torch.rand(1))]}))
"""


def run(script: Path, workdir: Path, steps: int = 30) -> ChildResult:
    return run_scenario(ScenarioSpec("observe", script, max_steps=steps, timeout=60), workdir)


def printed(result: ChildResult) -> dict:
    return json.loads(result.stdout_tail.strip().splitlines()[-1])


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session's zygote, and this process's environment as it was when the zygote started in
    what an interpreter reads as it starts (an earlier test's library may have left a variable
    behind: Ray sets PYTHONBREAKPOINT), so that runs fork from it."""
    if not ZYGOTE.pid:
        pytest.skip("this session runs its children cold (DIAGNOSE_TEST_COLD=1)")
    started = json.loads((ZYGOTE.folder / child_zygote.STARTUP_FILE).read_text())
    for key in child_zygote.startup_environment(dict(os.environ)):
        monkeypatch.delenv(key)
    for key, value in started.items():
        monkeypatch.setenv(key, value)


@pytest.fixture
def reporter(tmp_path: Path) -> Path:
    script = tmp_path / "report_env.py"
    script.write_text(REPORT)
    return script


@pytest.mark.usefixtures("served")
def test_a_forked_run_is_the_zygotes_child_with_the_runs_environment(
    reporter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ZYGOTE_TEST_MARKER", "this run's")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.chdir(tmp_path)
    seen = printed(run(reporter, tmp_path / "work"))
    assert seen["ppid"] == ZYGOTE.pid
    assert seen["marker"] == "this run's" and seen["cwd"] == str(tmp_path)
    assert seen["threads"] == 1


@pytest.mark.usefixtures("served")
def test_unseeded_random_streams_differ_between_forked_runs(reporter: Path, tmp_path: Path) -> None:
    first, second = (printed(run(reporter, tmp_path / name))["random"] for name in ("a", "b"))
    assert all(a != b for a, b in zip(first, second, strict=True))


@pytest.mark.usefixtures("served")
def test_a_different_startup_environment_starts_cold(
    reporter: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTHONWARNINGS", "ignore")
    assert zygote.client_for(child_env()) is None
    assert printed(run(reporter, tmp_path / "work"))["ppid"] == os.getpid()


@pytest.mark.usefixtures("served")
def test_a_seeded_run_records_the_same_losses_forked_and_cold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script = SCRIPTS / "tiny_train.py"
    forked = run(script, tmp_path / "forked", steps=40).sections["loss"]["values"]
    monkeypatch.delenv(zygote.ENV)
    cold = run(script, tmp_path / "cold", steps=40).sections["loss"]["values"]
    assert len(forked) == 40 and forked == cold


@pytest.mark.usefixtures("served")
def test_killing_the_diagnose_process_stops_its_forked_run(tmp_path: Path) -> None:
    """The zygote watches each run's owner: SIGKILL of diagnose, which cannot stop its run itself,
    still ends the run the zygote forked for it."""
    process = subprocess.Popen(
        module_command(
            "diagnose",
            str(SCRIPTS / "sleeps_forever.py"),
            "-o",
            str(tmp_path),
            "--timeout",
            "300",
            "-q",
        ),
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while not live_runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_runs(), "the run never started"
    process.send_signal(signal.SIGKILL)
    process.wait()
    deadline = time.monotonic() + 20
    while live_runs() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_runs() == []


PARENT = """
import torch
from torch import nn
with open(f"/proc/{__import__('os').getppid()}/cmdline", "rb") as parent:
    print("PARENT", parent.read().replace(b"\\0", b" ").decode())
model = nn.Linear(4, 2)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for _ in range(20):
    optimizer.zero_grad()
    model(torch.randn(8, 4)).pow(2).mean().backward()
    optimizer.step()
"""


@pytest.mark.parametrize("cold", [False, True], ids=["zygote", "cold"])
def test_a_batch_forks_its_runs_from_a_zygote_of_its_own_unless_cold(
    tmp_path: Path, cold: bool
) -> None:
    """Without a zygote in its environment, `diagnose batch` starts one for its runs (the script's
    parent process is then the zygote); `--cold` starts every run from scratch."""
    for name in ("first", "second"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "train.py").write_text(PARENT)
    out = tmp_path / "out"
    command = module_command(
        "diagnose",
        "batch",
        str(tmp_path / "first"),
        str(tmp_path / "second"),
        "-o",
        str(out),
        "--quick",
        "-q",
        "--jobs",
        "2",
    )
    subprocess.run([*command, *(["--cold"] if cold else [])], env=cold_env(), check=False)
    for name in ("first", "second"):
        evidence = json.loads((out / name / "evidence.json").read_text())
        parent = next(
            line
            for line in evidence["observe"]["run"]["stdout_tail"].splitlines()
            if line.startswith("PARENT")
        )
        assert ("diagnose.child.zygote" in parent) != cold, parent
