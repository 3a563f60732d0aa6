"""A run of the user's script in the child interpreter (``python -m diagnose.child SPEC.json``).

Installs the tap, runs the user's script as ``__main__`` (as ``coverage run`` does: its own argv,
its folder first on ``sys.path``), and always writes what it saw to the result file, whether the
script finished, crashed, exited, ran out of budget or was told to stop (SIGTERM).

When asked to ``serve``, the observed run starts a fork server at its first optimizer step; each
replay forked from it becomes a new ``Session`` in place (``become``) and carries on with the
user's own loop from that step, with its intervention.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import resource
import runpy
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch

from diagnose import defaults
from diagnose.child import atomic, faults, forkserver, interpreter
from diagnose.child.budget import Budget, RunInterrupted, TimeBudgetSpent, TimeLimitReached
from diagnose.child.distributed import RankWatch, world_size
from diagnose.child.heartbeat import Heartbeat
from diagnose.child.interventions import Intervention, build
from diagnose.child.lifeline import stop_with_parent
from diagnose.child.mlflowrun import opened_run
from diagnose.child.notebook import run_notebook
from diagnose.child.sandbox import Sandbox
from diagnose.child.state import Schedule, TrainingState
from diagnose.child.tap import Tap
from diagnose.child.userframe import UserCode
from diagnose.probes.registry import observe_probes

MAX_LISTED = 50
STALL_SECONDS = (
    10.0  # silence that makes a run hung rather than slow (a quarter of shorter budgets)
)


def run_script(script: Path, args: list[str]) -> None:
    sys.argv = [str(script), *args]
    sys.path.insert(0, str(script.parent))  # the launcher removed the working directory
    runpy.run_path(str(script), run_name="__main__")


def _on_sigterm(signum: int, frame: Any) -> None:
    # The group's DataLoader workers get the same signal: their deaths must not raise (torch's
    # SIGCHLD handler) into the wrap-up that writes the result.
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    raise TimeLimitReached("stopped at the time limit (the script hung or never finished a step)")


class Session:
    """One run of the user's script in this process, and where its result goes."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.script = Path(spec["script"]).resolve()
        self.args = list(spec.get("args", []))
        self.notebook: dict[str, Any] | None = spec.get("notebook")  # its program, when a notebook
        self.state = TrainingState(
            UserCode(self.script), Schedule(every=spec.get("every", defaults.EVERY))
        )
        self.disabled = list(spec.get("disabled", []))  # components turned off (faults.py)
        self.tap = Tap(
            self.state, observe_probes(self.state), Budget(1, 1.0), disabled=self.disabled
        )
        self.workdir = Path(spec.get("workdir", Path(spec["result"]).parent))
        self.sandbox = Sandbox(self.workdir / "scratch", exempt=[self.workdir])
        self.ranks = RankWatch(self.state) if world_size() > 1 else None
        if (
            self.ranks is not None
        ):  # ranks meet in collectives: none may cut an epoch or stop on its own
            self.tap.pacing.compress = False
        self.configure(spec)
        self.owner = spec.get("owner")
        if spec.get("serve") and self.tap.enabled("fork_server"):
            self.tap.fork_point.append(self.serve)

    def configure(self, spec: dict[str, Any]) -> None:
        """Budget, intervention and result file of this session (again in a forked replay)."""
        self.name = spec.get("name", "observe")
        self.result_path = Path(spec["result"])
        self.tap.budget = Budget(spec["max_steps"], spec["seconds"])
        self.tap.pacing.max_steps = spec["max_steps"]
        self.tap.pacing.adaptive = (
            bool(spec.get("adaptive")) and self.ranks is None and self.tap.enabled("pacing")
        )
        self.tap.pacing.extendable = bool(spec.get("extendable"))
        self.tap.heartbeat = Heartbeat(spec.get("progress"))
        planned = spec.get("intervention") or {}
        self.intervention: Intervention = build(
            planned.get("name", "none"), self.state, planned.get("params", {})
        )
        self.tap.intervention = self.intervention
        probes = spec.get("probes") or {}
        self.state.planned_steps = spec["max_steps"]
        self.state.replay = self.name != "observe"
        self.state.probe_sink, self.state.probe_source = probes.get("save"), probes.get("load")
        self.state.probe_transform = self.intervention.probe_inputs
        self.state.loss_changed = self.intervention.changes_loss
        if self.intervention.from_start:
            self.intervention.start()
        self.started = time.monotonic()
        self.sandbox.written = []
        self.run: dict[str, Any] = {
            "status": "completed",
            "reason": "",
            "exit_code": None,
            "mode": spec.get("mode", "cold"),
            "disabled": self.disabled,
        }

    @faults.entry("fork_server")
    def serve(self) -> None:
        """At the fork point: start the fork server; in a forked replay, become that replay."""
        spec = forkserver.start(self.workdir, self.state, self.owner)
        if spec is not None:
            _redirect_output(spec)
            self.configure({**spec, "mode": "fork"})
            if not self.intervention.active:
                self.intervention.start()

    def execute(self) -> dict[str, Any]:
        """Run the script under the tap; return the run record and the probes' sections."""
        signal.signal(signal.SIGTERM, _on_sigterm)
        self.sandbox.install()
        self.tap.install()
        if self.ranks is not None:
            self.ranks.install()
        try:
            if self.notebook is not None:
                run_notebook(self.script, self.args, self.notebook, self.state.notes, self.workdir)
            else:
                run_script(self.script, self.args)
        except TimeLimitReached as stop:
            self.run.update(**self._time_limit(stop))
        except TimeBudgetSpent as stop:
            self._note_slow()
            self.run.update(status=stop.status, reason=str(stop))
        except RunInterrupted as stop:
            self.run.update(status=stop.status, reason=str(stop))
        except SystemExit as exit_:
            self._exited(exit_.code)
            interpreter.report_exit(exit_)
        except BaseException as error:  # the user's crash is evidence, not our error
            self._ended_by(error)
        finally:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            if self.ranks is not None:
                self.ranks.remove()
            self.tap.remove()  # the sandbox stays: the script's exit handlers may still write
        return self.result()

    def _ended_by(self, error: BaseException) -> None:
        """The script's crash is evidence; an exception of the tool's own code is not the script's
        crash: it is recorded as the fault of the component that raised it (the driver runs the
        script again without it)."""
        try:
            fault = faults.locate(error, self.state.user)
        except Exception:  # telling faults apart must never cost the run its evidence
            fault = None
        if fault is None:
            self.run.update(status="crashed", reason=f"{type(error).__name__}: {error}"[:500])
            self.tap.on_exception(error)
            interpreter.report_crash(error, self.script)
            return
        self.run.update(
            status="tool_error",
            reason=f"diagnose's own code failed ({fault.error})"[:500],
            fault=fault.record(),
        )
        interpreter.print_traceback(error, error.__traceback__)

    def _time_limit(self, stop: TimeLimitReached) -> dict[str, str]:
        """Slow is not hung: a run still making progress at the time limit ends like a budget, with
        a note; only a run that stopped making progress is hung."""
        state = self.state
        if state.stalled(min(STALL_SECONDS, max(2.0, self.tap.budget.seconds / 4))):
            quiet = (
                "never started training"
                if state.last_activity is None
                else (
                    "made no progress (no forward, backward or step) for "
                    f"{time.monotonic() - state.last_activity:.0f} s"
                )
            )
            return {
                "status": stop.status,
                "reason": f"stopped at the time limit: the script {quiet}",
            }
        self._note_slow()
        return {
            "status": "budget",
            "reason": f"time budget reached after {state.steps} steps (a slow script)",
        }

    def _note_slow(self) -> None:
        seconds = time.monotonic() - self.started
        self.state.notes.append(
            f"The script is slow: the time limit ({seconds:.0f} s) came after {self.state.steps} "
            "steps while it was still training; it was diagnosed from those steps (raise "
            "--timeout to observe more)."
        )

    def _exited(self, code: Any) -> None:
        clean = code in (None, 0)
        self.run.update(
            status="completed" if clean else "exited",
            exit_code=code if isinstance(code, int) else (0 if code is None else 1),
            reason="" if clean else f"sys.exit({code!r})",
        )

    def result(self) -> dict[str, Any]:
        state = self.state
        self.tap.heartbeat.beat(state.steps, final=True)
        self.run.update(
            seconds=round(time.monotonic() - self.started, 3),
            **state.record(),
            redirected=self.sandbox.written[:MAX_LISTED],
            peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            torch_version=torch.__version__,
            python_version=platform.python_version(),
            mlflow_run=opened_run(),
        )
        sections = {**self.tap.sections(), **self.intervention.sections()}
        if self.ranks is not None:
            sections["distributed"] = self.ranks.section(self.run)
        return {"run": self.run, "sections": plain_sections(sections)}


def _redirect_output(spec: dict[str, Any]) -> None:
    """A forked replay writes the script's output to its own files."""
    for stream, key in ((1, "stdout"), (2, "stderr")):
        if spec.get(key):
            handle = os.open(spec[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(handle, stream)
            os.close(handle)


def plain_sections(sections: dict[str, Any]) -> dict[str, Any]:
    """The probes' dataclasses as plain dicts, as the parent's Evidence model reads them."""
    return {
        name: dataclasses.asdict(s)
        if dataclasses.is_dataclass(s) and not isinstance(s, type)
        else s
        for name, s in sections.items()
    }


def main(argv: list[str], watched: bool = False) -> int:
    """Run the scenario of the spec file ``argv[1]``. The run stops when its owner (the diagnose
    process) dies: tied to it here, unless the zygote that forked this process ``watched`` for
    that."""
    spec = json.loads(Path(argv[1]).read_text())
    signal.signal(signal.SIGTERM, _on_sigterm)
    if spec.get("owner") and not watched:
        stop_with_parent(spec["owner"])
    session = Session(spec)
    result = session.execute()
    atomic.write_text(
        session.result_path, json.dumps(result, default=str)
    )  # a replay has its own path by now
    interpreter.shut_down()
    return 0
