"""The public entry points: ``run`` diagnoses a script, ``rerender`` rebuilds reports from evidence.

The CLI and batch mode are thin layers over these two functions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path

from diagnose import defaults
from diagnose.child.forkserver import ForkClient
from diagnose.diagnosis import Diagnosis
from diagnose.driver.agent import Agent, Replays
from diagnose.driver.progress import Progress
from diagnose.driver.recovery import run_observed
from diagnose.driver.results import observed_run
from diagnose.driver.runner import ChildResult, ScenarioSpec
from diagnose.driver.targets import Target, resolve
from diagnose.driver.workspace import Workspace
from diagnose.errors import UsageError
from diagnose.evidence import Evidence, EvidenceError
from diagnose.logs.mlflow_store import (
    attach,
    diagnosis_tags,
    discard_replay_runs,
    opened_run,
    require_mlflow,
)
from diagnose.patch import attempt_patch
from diagnose.patch.files import check_patch_output, write_patch
from diagnose.patch.verify import RunSettings
from diagnose.reports.writer import check_formats, check_output, write_reports
from diagnose.rules.judge import judge
from diagnose.rules.loader import RuleBook, RuleError, load_rules

DEFAULT_FORMATS = ("md", "html", "json")
PROBE_FILE = "probes.pt"


def run(
    script: str | Path,
    args: Sequence[str] = (),
    *,
    out: str | Path | None = None,
    formats: Sequence[str] = DEFAULT_FORMATS,
    steps: int = defaults.STEPS,
    timeout: float = defaults.TIMEOUT,
    every: int = defaults.EVERY,
    budget: float = defaults.BUDGET,
    quick: bool = False,
    adaptive: bool = True,
    rules: Sequence[Path] = (),
    templates: Path | None = None,
    progress: Progress | None = None,
    nproc_per_node: int = 1,
    patch: bool = False,
    mlflow_log: bool = False,
) -> Diagnosis:
    """Run ``script`` under instrumentation (as ``nproc_per_node`` ranks, launched as torchrun
    would), test the likely causes with replays (unless ``quick``), rank them, and write the reports
    to ``out``. With ``patch``, the top cause's fix is also made on a copy of the script, run the
    same way, and offered as ``out/fix.patch`` when it holds. With ``mlflow_log``, the reports are
    attached to the MLflow run the script opened, with ``diagnose.*`` tags."""
    check_formats(formats)
    if mlflow_log:
        if out is None:
            raise UsageError("mlflow_log needs an output folder for the reports it attaches")
        require_mlflow()
    launched = time.time()
    book = rule_book(rules)
    target = resolve(Path(script), list(args), nproc_per_node)
    if out is not None:
        check_output(Path(out), formats)
        if patch:
            check_patch_output(Path(out))
    kept = Workspace()  # the probe batches, for the replays and the patched run alike
    with kept as folder:
        probes = folder / PROBE_FILE
        evidence = investigate(
            target,
            book,
            steps=steps,
            timeout=timeout,
            every=every,
            budget=0.0 if quick else budget,
            adaptive=adaptive,
            progress=progress,
            probes=probes,
        )
        diagnosis = judge(evidence, book)
        if patch:
            evidence.patch = attempt_patch(
                diagnosis,
                evidence,
                book,
                target,
                RunSettings(steps, timeout, every, adaptive, probes),
                progress,
            )
            diagnosis = judge(evidence, book)
    discarded = discard_replay_runs(evidence, launched)
    if discarded:
        diagnosis.notes.append(discarded)
    tracked = opened_run(evidence.observe.run.mlflow_run, launched) if mlflow_log else None
    if tracked is not None:
        diagnosis.mlflow_run = tracked[1]
        diagnosis.notes.append(f"Attached to MLflow run {tracked[1]} ({tracked[0]}).")
    if out is not None:
        write_reports(diagnosis, evidence, Path(out), formats, templates)
        if patch:
            write_patch(Path(out), diagnosis.patch, evidence.patch)
    if tracked is not None:
        attach(*tracked, Path(out), diagnosis_tags(diagnosis.model_dump(mode="json")))  # type: ignore[arg-type]
    return diagnosis


def investigate(
    target: Target,
    book: RuleBook,
    *,
    steps: int = defaults.STEPS,
    timeout: float = defaults.TIMEOUT,
    every: int = defaults.EVERY,
    budget: float = defaults.BUDGET,
    adaptive: bool = True,
    progress: Progress | None = None,
    probes: Path | None = None,
) -> Evidence:
    """The observed run, then (with a budget) the agent's replays, forked from its first step.
    The observed run's probe batches are written to ``probes`` (by default in the work folder),
    where every replay reads them."""
    space = Workspace()
    with space as workdir:
        client = ForkClient(workdir)
        probe_file = probes or workdir / PROBE_FILE
        try:
            evidence = observe(
                target,
                steps=steps,
                timeout=timeout,
                every=every,
                progress=progress,
                workdir=workdir,
                serve=budget > 0 and target.nproc == 1,
                adaptive=adaptive,
                probes=probe_file,
            )
            if budget > 0:
                replays = Replays(target, workdir, client, evidence, timeout, every, probe_file)
                evidence.replays = replay_mode(target, client)
                evidence = Agent(book, replays, budget, progress).investigate(evidence)
        finally:
            client.close()
            if progress is not None:
                progress.finished()  # while the scenarios' heartbeat files still exist
    if space.leftover:
        evidence.observe.run.notes.append(space.leftover)
    return evidence


def replay_mode(target: Target, client: ForkClient) -> str:
    """How the replays start, as the report says it."""
    if target.nproc > 1:
        return f"run from scratch with all {target.nproc} ranks: forking a process group is unsafe"
    if client.available:
        return "forked from the observed run's first optimizer step"
    return f"run from scratch: {client.unavailable_reason}"


def observe(
    target: Target,
    *,
    steps: int = defaults.STEPS,
    timeout: float = defaults.TIMEOUT,
    every: int = defaults.EVERY,
    progress: Progress | None = None,
    workdir: Path | None = None,
    serve: bool = False,
    adaptive: bool = True,
    probes: Path | None = None,
) -> Evidence:
    """The observed run: the script as written, under the tap (serving replays if asked; writing
    its probe batches to ``probes`` if given)."""
    spec = ScenarioSpec(
        "observe",
        target.script,
        target.args,
        max_steps=steps,
        timeout=timeout,
        every=every,
        serve=serve,
        adaptive=adaptive,
        nproc=target.nproc,
        notebook=target.notebook_spec(),
        probes={"save": str(probes)} if probes is not None else {},
    )
    space = Workspace()
    with space as own:
        folder = workdir or own
        (progress or Progress()).scenario(
            spec.name,
            f"{target.script.name} as written, observed",
            steps,
            spec.paths(folder)["progress"],
        )
        evidence = evidence_from(target, run_observed(spec, folder))
    if space.leftover:
        evidence.observe.run.notes.append(space.leftover)
    return evidence


def evidence_from(target: Target, result: ChildResult) -> Evidence:
    return Evidence(
        script=str(target.script),
        args=target.args,
        torch=str(result.run.get("torch_version", "")),
        observe=observed_run(result),
        notebook=target.notebook.map if target.notebook is not None else None,
    )


def rerender(
    evidence_path: str | Path,
    *,
    out: str | Path,
    formats: Sequence[str] = DEFAULT_FORMATS,
    rules: Sequence[Path] = (),
    templates: Path | None = None,
) -> Diagnosis:
    """Re-judge saved evidence with the current rules and write the reports (and the patch, when the
    evidence holds one), without rerunning."""
    check_formats(formats)
    book = rule_book(rules)
    try:
        evidence = Evidence.load(Path(evidence_path))
    except EvidenceError as error:
        raise UsageError(str(error)) from None
    if evidence.patch is not None:
        check_patch_output(Path(out))
    diagnosis = judge(evidence, book)
    write_reports(diagnosis, evidence, Path(out), formats, templates)
    if evidence.patch is not None:
        write_patch(Path(out), diagnosis.patch, evidence.patch)
    return diagnosis


def rule_book(extra: Sequence[Path] = ()) -> RuleBook:
    """The bundled rules plus ``extra`` files; a broken rule file is a usage error."""
    try:
        return load_rules(extra)
    except RuleError as error:
        raise UsageError(str(error)) from None
