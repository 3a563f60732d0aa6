"""The runner: a fresh child interpreter per scenario, with budgets, a hard time limit, no orphans.

The child writes its result file itself; when it cannot (killed after ignoring SIGTERM, or a
crash of the interpreter) the runner still returns a result that says what happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose import defaults
from diagnose.child import groups
from diagnose.child.forkserver import ForkClient
from diagnose.driver import zygote
from diagnose.driver.interpreter import module_command

TAIL_LINES = 40
TAIL_CHARS = 4000
TERM_GRACE_SECONDS = 10.0
CHILD_MARGIN_SECONDS = 5.0


@dataclass
class ScenarioSpec:
    """What one run does: which script, its arguments, the budget, the intervention."""

    name: str
    script: Path
    args: list[str] = field(default_factory=list)
    max_steps: int = defaults.STEPS
    timeout: float = defaults.TIMEOUT
    every: int = defaults.EVERY
    intervention: dict[str, Any] = field(default_factory=dict)
    serve: bool = False
    adaptive: bool = False  # the observed run may stop once its loss trend is settled
    nproc: int = (
        1  # processes per node: more than one launches the script torchrun-style (launch.py)
    )
    # A notebook's program and cell map (Target.notebook_spec); None for a script.
    notebook: dict[str, Any] | None = None
    disabled: list[str] = field(default_factory=list)  # components left out (child/faults.py)
    # The fit probe's batches: {"save": path} for the observed run, {"load": path} for a replay.
    probes: dict[str, str] = field(default_factory=dict)

    def paths(self, workdir: Path) -> dict[str, Path]:
        return {
            key: workdir / f"{self.name}.{key}"
            for key in ("spec", "result", "stdout", "stderr", "progress")
        }

    def for_child(self, workdir: Path) -> dict[str, Any]:
        paths = self.paths(workdir)
        return {
            "name": self.name,
            "script": str(self.script),
            "args": self.args,
            "max_steps": self.max_steps,
            "seconds": max(self.timeout - CHILD_MARGIN_SECONDS, 1.0),
            "every": self.every,
            "intervention": self.intervention,
            "serve": self.serve,
            "adaptive": self.adaptive,
            "extendable": self.adaptive and self.max_steps == defaults.STEPS,
            "notebook": self.notebook,
            "workdir": str(workdir),
            "result": str(paths["result"]),
            "stdout": str(paths["stdout"]),
            "stderr": str(paths["stderr"]),
            "progress": str(paths["progress"]),
            "owner": os.getpid(),
            "disabled": self.disabled,
            "probes": self.probes,
        }


@dataclass
class ChildResult:
    name: str
    run: dict[str, Any]
    sections: dict[str, Any]
    stdout_tail: str
    stderr_tail: str
    wall_seconds: float


def run_scenario(spec: ScenarioSpec, workdir: Path) -> ChildResult:
    """Run one scenario in a fresh child (cwd unchanged) and collect its result: forked from a
    zygote when one serves this environment, else a cold interpreter."""
    if spec.nproc > 1:
        from diagnose.driver.launch import run_ranks  # launch builds on this module's helpers

        return run_ranks(spec, workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    paths = spec.paths(workdir)
    paths["result"].unlink(missing_ok=True)
    paths["spec"].write_text(json.dumps(spec.for_child(workdir)))
    env = child_env()
    started = time.monotonic()
    forked = _run_in_zygote(spec, paths, env)
    if forked is not None:
        status, timed_out = forked
        return collect(spec, workdir, status, timed_out, time.monotonic() - started)
    with open(paths["stdout"], "wb") as out, open(paths["stderr"], "wb") as err:
        process = subprocess.Popen(
            module_command("diagnose.child", str(paths["spec"])),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            start_new_session=True,
            env=env,
        )
        timed_out = _wait(process, spec.timeout)
    return collect(spec, workdir, process.returncode, timed_out, time.monotonic() - started)


def _run_in_zygote(
    spec: ScenarioSpec, paths: dict[str, Path], env: dict[str, str]
) -> tuple[int | None, bool] | None:
    """The child forked from the zygote serving ``env``: its exit status and whether it timed out;
    None when no zygote serves this environment (or it went away), so the run starts cold."""
    client = zygote.client_for(env)
    if client is None:
        return None
    request = {
        "spec": str(paths["spec"]),
        "cwd": os.getcwd(),
        "env": env,
        "stdout": str(paths["stdout"]),
        "stderr": str(paths["stderr"]),
        "owner": os.getpid(),
    }
    try:
        status = client.run(request, spec.timeout)
    except (ConnectionError, FileNotFoundError):
        return None
    return status, status is None


def run_forked(client: ForkClient, spec: ScenarioSpec, workdir: Path) -> ChildResult:
    """Run one scenario as a replay forked from the observed run's first optimizer step."""
    paths = spec.paths(workdir)
    paths["result"].unlink(missing_ok=True)
    started = time.monotonic()
    status = client.run(spec.for_child(workdir), spec.timeout)
    return collect(spec, workdir, status, status is None, time.monotonic() - started)


def collect(
    spec: ScenarioSpec, workdir: Path, returncode: int | None, timed_out: bool, wall: float
) -> ChildResult:
    paths = spec.paths(workdir)
    payload = _read_result(paths["result"], returncode, timed_out, spec.timeout)
    return ChildResult(
        name=spec.name,
        run=payload["run"],
        sections=payload["sections"],
        stdout_tail=tail(paths["stdout"]),
        stderr_tail=tail(paths["stderr"]),
        wall_seconds=round(wall, 3),
    )


def child_env() -> dict[str, str]:
    env = dict(
        os.environ, PYTHONUNBUFFERED="1", PYTHONDONTWRITEBYTECODE="1"
    )  # no __pycache__ in user folders
    env.setdefault("PYTHONHASHSEED", "0")
    return env


def _wait(process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait for the child; past the limit ask it to stop (SIGTERM), then kill its whole group."""
    timed_out = False
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_group(process, signal.SIGTERM)
        try:
            process.wait(timeout=TERM_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            _signal_group(process, signal.SIGKILL)
            process.wait()
    except BaseException:  # Ctrl-C or a kill of diagnose itself: the run (its own session) goes too
        _signal_group(process, signal.SIGKILL)
        process.wait()
        raise
    groups.stop(process.pid)  # DataLoader workers the script left behind, before their folder goes
    return timed_out


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    groups.kill(process.pid, sig)


def _read_result(
    path: Path, returncode: int | None, timed_out: bool, timeout: float
) -> dict[str, Any]:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        pass
    if timed_out:
        reason = f"killed after {timeout:.0f} s: the script did not stop when asked"
        status = "timeout"
    else:
        reason = f"the interpreter died (exit code {returncode}) before writing its evidence"
        status = "killed"
    return {
        "run": {
            "status": status,
            "reason": reason,
            "exit_code": returncode,
            "seconds": timeout,
            "steps": 0,
            "backward_calls": 0,
            "probe_errors": [],
        },
        "sections": {},
    }


def tail(path: Path) -> str:
    """The last lines of a captured output stream, decoded leniently."""
    try:
        data = path.read_bytes()[-TAIL_CHARS * 4 :]
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()[-TAIL_LINES:]
    return "\n".join(lines)[-TAIL_CHARS:]
