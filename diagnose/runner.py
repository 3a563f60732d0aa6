"""The runner: one fresh child interpreter per scenario, with budgets, a hard time limit and no orphans.

The child writes its result file itself; when it cannot (killed after ignoring SIGTERM, or a
crash of the interpreter) the runner still returns a result that says what happened.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TAIL_LINES = 40
TAIL_CHARS = 4000
TERM_GRACE_SECONDS = 10.0
CHILD_MARGIN_SECONDS = 5.0


@dataclass
class ScenarioSpec:
    """What one child run does: which script, its arguments, the budget, the intervention."""

    name: str
    script: Path
    args: list[str] = field(default_factory=list)
    max_steps: int = 200
    timeout: float = 60.0
    every: int = 10
    intervention: dict[str, Any] = field(default_factory=dict)


@dataclass
class ChildResult:
    name: str
    run: dict[str, Any]
    sections: dict[str, Any]
    stdout_tail: str
    stderr_tail: str
    wall_seconds: float


def run_scenario(spec: ScenarioSpec, workdir: Path) -> ChildResult:
    """Run one scenario in a child process (cwd unchanged) and collect its result."""
    workdir.mkdir(parents=True, exist_ok=True)
    result_path = workdir / f"{spec.name}.result.json"
    spec_path = workdir / f"{spec.name}.spec.json"
    result_path.unlink(missing_ok=True)
    spec_path.write_text(json.dumps({
        "script": str(spec.script), "args": spec.args, "max_steps": spec.max_steps,
        "seconds": max(spec.timeout - CHILD_MARGIN_SECONDS, 1.0), "every": spec.every,
        "intervention": spec.intervention, "result": str(result_path)}))
    out_path, err_path = workdir / f"{spec.name}.stdout", workdir / f"{spec.name}.stderr"
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        process = subprocess.Popen(
            [sys.executable, "-m", "diagnose._child", str(spec_path)], stdin=subprocess.DEVNULL,
            stdout=out, stderr=err, start_new_session=True, env=_child_env())
        timed_out = _wait(process, spec.timeout)
    wall = time.monotonic() - started
    payload = _read_result(result_path, process.returncode, timed_out, spec.timeout)
    return ChildResult(name=spec.name, run=payload["run"], sections=payload["sections"],
                       stdout_tail=tail(out_path), stderr_tail=tail(err_path), wall_seconds=round(wall, 3))


def _child_env() -> dict[str, str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
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
    _signal_group(process, signal.SIGKILL)  # DataLoader workers or threads the script left behind
    return timed_out


def _signal_group(process: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(process.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def _read_result(path: Path, returncode: int | None, timed_out: bool, timeout: float) -> dict[str, Any]:
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
    return {"run": {"status": status, "reason": reason, "exit_code": returncode, "seconds": timeout,
                    "steps": 0, "backward_calls": 0, "probe_errors": []}, "sections": {}}


def tail(path: Path) -> str:
    """The last lines of a captured output stream, decoded leniently."""
    try:
        data = path.read_bytes()[-TAIL_CHARS * 4:]
    except OSError:
        return ""
    lines = data.decode("utf-8", errors="replace").splitlines()[-TAIL_LINES:]
    return "\n".join(lines)[-TAIL_CHARS:]
