"""A run that the tool's own code broke is run again, once, without the piece that broke it.

The child tells a crash of the script from a fault of ours (``diagnose.child.faults``) and names
the component at fault. Such an ending is never the script's crash: the observed run is repeated
with that component turned off, and the diagnosis says what was not observed, and why. A fault
in a component that cannot be turned off (the sandbox), or a second fault, ends the run as a tool
error with the same note: the verdict then rests on what was observed, never on a crash.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from diagnose.child.faults import switchable
from diagnose.child.forkserver import ForkClient
from diagnose.driver.runner import ChildResult, ScenarioSpec, run_scenario


def run_observed(spec: ScenarioSpec, workdir: Path) -> ChildResult:
    """The observed run; run again without the failing component if our code failed in it."""
    result = run_scenario(spec, workdir)
    fault = result.run.get("fault")
    if not fault:
        return result
    if not switchable(fault["component"]):
        _note(result, fault, rerun=False)
        return result
    ForkClient(workdir).close()  # a fork server the failed run started must not serve the rerun
    again = dataclasses.replace(spec, disabled=[*spec.disabled, fault["component"]])
    rerun = run_scenario(again, workdir)
    _note(rerun, fault, rerun=True)
    if rerun.run.get("fault"):
        _note(rerun, rerun.run["fault"], rerun=False)
    return rerun


def _note(result: ChildResult, fault: dict[str, Any], rerun: bool) -> None:
    what = (
        f"diagnose's own code failed while observing the script ({fault['error']}, at "
        f"{fault['where']}); this is not a problem of the script"
    )
    if rerun:
        note = f"{what}. The run was repeated without that part; not observed: {fault['lost']}."
    else:
        note = f"{what}. It could not be turned off, so the run ended there."
    result.run.setdefault("notes", []).insert(0, note)
