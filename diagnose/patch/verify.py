"""Run the patched copy of the script as the observed run ran the original: same arguments, same
current directory, same step budget and sampling, the same sandbox for its writes.

The copy lives in a mirror of the script's folder in a temporary folder: the patched files as
files, the other Python files copied (so the run counts them as the user's code), everything else
linked (data, checkpoints, packages). The mirror is outside the run's work folder, so any write
there (also through a link) is redirected to the scratch folder like every other write: the
user's folder is never touched. The temporary folder is a ``Workspace``: one that cannot be
removed is left with a note, never a lost patch.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from diagnose import defaults
from diagnose.driver.progress import Progress
from diagnose.driver.results import scenario_run
from diagnose.driver.runner import ScenarioSpec, run_scenario
from diagnose.driver.targets import Target
from diagnose.driver.workspace import Workspace
from diagnose.evidence import PatchAttempt, ScenarioRun
from diagnose.notebooks.program import read_program

SKIPPED = {"__pycache__", ".git"}


@dataclass(frozen=True)
class RunSettings:
    """The observed run's budget, which the patched run gets too."""

    steps: int = defaults.STEPS
    timeout: float = defaults.TIMEOUT
    every: int = defaults.EVERY
    adaptive: bool = True
    probes: Path | None = None  # the observed run's probe batches, which the patched run measures


def run_patched(
    target: Target, attempt: PatchAttempt, settings: RunSettings, progress: Progress | None = None
) -> tuple[ScenarioRun, str | None]:
    """The patched copy's run, and a note when its temporary folder could not be removed."""
    root = Path(attempt.root)
    progress = progress or Progress()
    space = Workspace(prefix="diagnose-patched-")
    with space as tmp:
        mirror, work = tmp / "code" / root.name, tmp / "work"
        build_mirror(root, mirror, {f.path: f.text for f in attempt.files})
        script = mirror / target.script.relative_to(root)
        notebook = read_program(script).child_spec() if target.notebook is not None else None
        spec = ScenarioSpec(
            "patched",
            script,
            target.args,
            max_steps=settings.steps,
            timeout=settings.timeout,
            every=settings.every,
            adaptive=settings.adaptive,
            nproc=target.nproc,
            notebook=notebook,
            probes={"load": str(settings.probes)} if settings.probes else {},
        )
        progress.scenario(
            spec.name,
            f"{target.script.name} with the patch applied, observed",
            settings.steps,
            spec.paths(work)["progress"],
        )
        try:
            run = scenario_run(
                run_scenario(spec, work), "cold", "the script with the patch applied"
            )
        finally:
            progress.finished()
    return run, space.leftover


def build_mirror(source: Path, mirror: Path, patched: dict[str, str], prefix: str = "") -> None:
    """``mirror`` made like ``source`` with the ``patched`` files (relative paths) replaced."""
    mirror.mkdir(parents=True)
    for entry in sorted(source.iterdir()):
        relative = f"{prefix}{entry.name}"
        target = mirror / entry.name
        if entry.name in SKIPPED:
            continue
        if relative in patched:
            target.write_text(patched[relative], encoding="utf-8", newline="")
        elif entry.is_dir() and any(path.startswith(relative + "/") for path in patched):
            build_mirror(entry, target, patched, relative + "/")
        elif entry.is_file() and entry.suffix == ".py":
            shutil.copyfile(entry, target)
        else:
            target.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
