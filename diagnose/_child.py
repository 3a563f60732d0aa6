"""Child process entry: ``python -m diagnose._child SPEC.json``.

Installs the tap, runs the user's script as ``__main__`` (as ``coverage run`` does: its own argv,
its folder first on ``sys.path``), and always writes what it saw to the result file, whether the
script finished, crashed, exited, ran out of budget or was told to stop (SIGTERM).
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

from diagnose.budget import Budget, RunInterrupted, TimeLimitReached
from diagnose.probes.registry import observe_probes
from diagnose.state import Schedule, TrainingState
from diagnose.tap import Tap
from diagnose.userframe import UserCode


def run_script(script: Path, args: list[str]) -> None:
    sys.argv = [str(script), *args]
    sys.path[0] = str(script.parent)
    runpy.run_path(str(script), run_name="__main__")


def _on_sigterm(signum: int, frame: Any) -> None:
    raise TimeLimitReached("stopped at the time limit (the script hung or never finished a step)")


def observe(spec: dict[str, Any]) -> dict[str, Any]:
    """Run the script under the tap; return the run record and the probes' sections."""
    script = Path(spec["script"]).resolve()
    state = TrainingState(UserCode(script), Schedule(every=spec.get("every", 10)))
    tap = Tap(state, observe_probes(state), Budget(spec["max_steps"], spec["seconds"]))
    run: dict[str, Any] = {"status": "completed", "reason": "", "exit_code": None}
    started = time.monotonic()
    signal.signal(signal.SIGTERM, _on_sigterm)
    tap.install()
    try:
        run_script(script, list(spec.get("args", [])))
    except RunInterrupted as stop:
        run.update(status=stop.status, reason=str(stop))
    except SystemExit as exit_:
        code = exit_.code
        run.update(status="exited" if code not in (None, 0) else "completed",
                   exit_code=code if isinstance(code, int) else (0 if code is None else 1),
                   reason="" if code in (None, 0) else f"sys.exit({code!r})")
    except BaseException as error:  # the user's crash is evidence, not our error
        run.update(status="crashed", reason=f"{type(error).__name__}: {error}"[:500])
        tap.on_exception(error)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        tap.remove()
    run.update(seconds=round(time.monotonic() - started, 3), steps=state.steps,
               backward_calls=state.backward_calls, probe_errors=state.probe_errors,
               peak_rss_mb=round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
               torch_version=torch.__version__, python_version=platform.python_version())
    sections = {name: _plain(section) for name, section in tap.sections().items()}
    return {"run": run, "sections": sections}


def _plain(section: Any) -> Any:
    return dataclasses.asdict(section) if dataclasses.is_dataclass(section) else section


def write_atomically(path: Path, payload: dict[str, Any]) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(json.dumps(payload, default=str))
    os.replace(partial, path)


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[1]).read_text())
    result = observe(spec)
    write_atomically(Path(spec["result"]), result)
    sys.stdout.flush()
    sys.stderr.flush()
    return 0


if __name__ == "__main__":
    # os._exit: the user's atexit handlers and lingering threads must not outlive the run.
    code = main(sys.argv)
    os._exit(code)
