"""MLflow tracking stores, read and written through MLflow's own client (``MlflowClient``).

A store is named by a URI: ``sqlite:///path.db`` (MLflow's default backend), ``http(s)://host``
(a tracking server), or a legacy ``mlruns/`` folder (``file://`` or a plain path). MLflow 3 keeps
its file store in maintenance mode and refuses to open one unless ``MLFLOW_ALLOW_FILE_STORE`` is
true, its documented opt-out: for a folder the user names, we set it in our own process only,
while the client opens the store (migrating the user's data with ``mlflow migrate-filestore`` is
theirs to decide). Nothing is ever created: a database or folder that does not exist is an error,
not a new empty store. MLflow is the optional extra ``nn-diagnose[mlflow]``.
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.errors import UsageError
from diagnose.evidence import Evidence
from diagnose.logs.metrics import LoggedMetrics, Series, assign_roles

EXTRA = 'pip install "nn-diagnose[mlflow]"'
STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
PAGE = 1000
ARTIFACT_PATH = "diagnose"
ALLOW_FILE_STORE = "MLFLOW_ALLOW_FILE_STORE"
NOT_USER_TAGS = ("mlflow.", "diagnose.")  # MLflow's own, and an earlier diagnosis's
CLOCK_SLACK = (
    2.0  # seconds: the run's start time and ours come from clocks that may differ a little
)
# A tracking server that does not answer should cost seconds, not MLflow's minutes of retries.
HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@dataclass
class TrackedRun:
    """One MLflow run: who it is, how it ended, what it was given, and the curves it logged. Its
    tags are the user's own: not MLflow's (``mlflow.*``), nor an earlier diagnosis's
    (``diagnose.*``, which this one replaces)."""

    run_id: str
    name: str
    experiment: str
    status: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: LoggedMetrics | None = None
    problem: str = ""  # why the run cannot be diagnosed (no loss logged)


def require_mlflow() -> None:
    if importlib.util.find_spec("mlflow") is None:
        raise UsageError(f"MLflow runs need the mlflow package: {EXTRA}")


def client(uri: str, base: Path | None = None) -> Any:
    """An ``MlflowClient`` on the store ``uri`` names (relative paths from ``base``), checked to
    exist before MLflow opens it."""
    require_mlflow()
    from mlflow.tracking import MlflowClient

    resolved = store_uri(uri, base or Path.cwd())
    if not resolved.startswith("file:"):
        return MlflowClient(tracking_uri=resolved)
    # MLflow builds a store once per URI (then cached): the opt-out is needed only while it does,
    # and must not reach the runs diagnose starts later (their scripts see MLflow as it is).
    saved = os.environ.get(ALLOW_FILE_STORE)
    os.environ[ALLOW_FILE_STORE] = "true"
    try:
        return MlflowClient(tracking_uri=resolved)
    finally:
        if saved is None:
            os.environ.pop(ALLOW_FILE_STORE, None)
        else:
            os.environ[ALLOW_FILE_STORE] = saved


def store_uri(uri: str, base: Path) -> str:
    """The URI MLflow's client gets: a plain path becomes ``sqlite:///`` (a file) or ``file://``
    (a folder); a store that does not exist is refused."""
    if uri.startswith(("http://", "https://")):
        for key, value in HTTP_DEFAULTS.items():
            os.environ.setdefault(key, value)
        return uri
    if uri.startswith("sqlite:///"):
        database = base / uri.removeprefix("sqlite:///")
        if not database.is_file():
            raise UsageError(f"{uri}: no such MLflow database ({database})")
        return f"sqlite:///{database.resolve()}"
    folder = base / (uri.removeprefix("file://") if uri.startswith("file://") else uri)
    if folder.is_file():
        return f"sqlite:///{folder.resolve()}"
    if not folder.is_dir():
        raise UsageError(
            f"{uri}: no such MLflow store (a sqlite:/// database, a server, or mlruns/)"
        )
    if not any(folder.glob("*/meta.yaml")):
        raise UsageError(
            f"{folder}: not an MLflow mlruns/ folder (no experiment's meta.yaml in it)"
        )
    return folder.resolve().as_uri()


def read_runs(
    uri: str, experiment: str | None = None, status: str | None = None
) -> list[TrackedRun]:
    """Every run of the store (of one experiment, of one status), oldest first, with the metric
    history of each; a store MLflow cannot read is bad input."""
    tracking = client(uri)  # first: without MLflow, it says which extra to install
    from mlflow.exceptions import MlflowException

    try:
        experiments = _experiments(tracking, uri, experiment)
        runs = _search(tracking, list(experiments), status)
        return [_tracked(tracking, run, experiments[run.info.experiment_id]) for run in runs]
    except MlflowException as error:
        raise UsageError(f"{uri}: MLflow cannot read it ({_first_line(error)})") from None


def _experiments(tracking: Any, uri: str, name: str | None) -> dict[str, str]:
    if name is None:
        return {e.experiment_id: e.name for e in tracking.search_experiments()}
    found = tracking.get_experiment_by_name(name)
    if found is None:
        names = ", ".join(sorted(e.name for e in tracking.search_experiments())) or "none"
        raise UsageError(f"{uri}: no experiment named {name!r} (experiments: {names})")
    return {found.experiment_id: found.name}


def _search(tracking: Any, experiment_ids: list[str], status: str | None) -> list[Any]:
    if status is not None and status.upper() not in STATUSES:
        raise UsageError(f"--status must be one of {', '.join(STATUSES)}")
    query = f"attributes.status = '{status.upper()}'" if status else ""
    runs, token = [], None
    while True:
        page = tracking.search_runs(
            experiment_ids,
            filter_string=query,
            max_results=PAGE,
            order_by=["attributes.start_time ASC"],
            page_token=token,
        )
        runs += list(page)
        token = page.token
        if not token:
            return runs


def _tracked(tracking: Any, run: Any, experiment: str) -> TrackedRun:
    info, data = run.info, run.data
    named: dict[str, Series] = {}
    for key in data.metrics:
        series = named.setdefault(key, Series())
        for point in sorted(tracking.get_metric_history(info.run_id, key), key=_order):
            series.add(int(point.step), float(point.value))
    tracked = TrackedRun(
        run_id=info.run_id,
        name=info.run_name or info.run_id,
        experiment=experiment,
        status=info.status,
        params=dict(data.params),
        tags={k: v for k, v in sorted(data.tags.items()) if not k.startswith(NOT_USER_TAGS)},
    )
    metrics = assign_roles(Path(f"runs:/{info.run_id}"), named)
    if metrics.loss.values or metrics.val_loss.values:
        tracked.metrics = metrics
    else:
        tracked.problem = f"no loss metric logged (metrics: {', '.join(sorted(named)) or 'none'})"
    return tracked


def _order(point: Any) -> tuple[int, int]:
    return int(point.step), int(point.timestamp)


def attach(uri: str, run_id: str, folder: Path, tags: dict[str, str]) -> list[str]:
    """The reports in ``folder`` attached to the run as artifacts (under ``diagnose/``) and the
    tags set, so the tracker's UI can filter runs by diagnosed cause; the names attached."""
    from mlflow.exceptions import MlflowException

    tracking = client(uri)
    attached = []
    try:
        for name in ("report.html", "report.md", "report.json"):
            if (folder / name).is_file():
                tracking.log_artifact(run_id, str(folder / name), artifact_path=ARTIFACT_PATH)
                attached.append(f"{ARTIFACT_PATH}/{name}")
        for key, value in tags.items():
            tracking.set_tag(run_id, key, value)
    except MlflowException as error:
        raise UsageError(f"MLflow run {run_id}: cannot attach ({_first_line(error)})") from None
    return attached


def opened_run(record: dict[str, str] | None, not_before: float) -> tuple[str, str]:
    """The store and id of the MLflow run the diagnosed script opened (as its observed run recorded
    it), checked in that store: it exists and started during this diagnosis (``not_before``, a
    ``time.time()``), so a diagnosis is never attached to an older run."""
    if not record:
        raise UsageError(
            "--mlflow-log: the script opened no MLflow run, so there is none to attach to"
        )
    from mlflow.exceptions import MlflowException

    base = Path(record.get("cwd") or Path.cwd())
    uri, run_id = store_uri(record["tracking_uri"], base), record["run_id"]
    if uri.startswith("file:"):
        raise UsageError(
            "--mlflow-log: the script logs to a file store (mlruns/), whose writes diagnose keeps "
            "out of your folder; log to sqlite:/// or a tracking server to attach the diagnosis"
        )
    try:
        run = client(uri).get_run(run_id)
    except MlflowException as error:
        raise UsageError(f"--mlflow-log: run {run_id} ({_first_line(error)})") from None
    if run.info.start_time < (not_before - CLOCK_SLACK) * 1000:
        raise UsageError(f"--mlflow-log: run {run_id} started before this diagnosis; not attached")
    return uri, run_id


def discard_replay_runs(evidence: Evidence, not_before: float) -> str:
    """Delete (MLflow's soft delete, which ``mlflow runs restore`` undoes) the runs that replays and
    the patched run of a script that logs to MLflow opened in the user's store: they are ours,
    not the user's. Only runs each replay recorded as its own, started during this diagnosis, and
    never the observed run's. Returns a note for the report ("" when there were none)."""
    records = _replay_records(evidence)
    if not records or importlib.util.find_spec("mlflow") is None:
        return ""
    deleted, kept = [], []
    for run_id, record in records.items():
        try:
            if _delete_ours(run_id, record, not_before):
                deleted.append(run_id)
        except Exception:  # a store that went away must not cost the diagnosis
            kept.append(run_id)
    notes = []
    if deleted:
        notes.append(
            f"The replays opened {len(deleted)} MLflow run(s) of their own in the script's store; "
            f"they were deleted (`mlflow runs restore` brings one back): {', '.join(deleted)}."
        )
    if kept:
        notes.append(
            f"MLflow runs the replays opened that could not be deleted: {', '.join(kept)}."
        )
    return " ".join(notes)


def _replay_records(evidence: Evidence) -> dict[str, dict[str, str]]:
    """The MLflow runs the replays and the patched run recorded, other than the observed run's."""
    observed = (evidence.observe.run.mlflow_run or {}).get("run_id")
    runs = list(evidence.scenarios.values())
    if evidence.patch is not None and evidence.patch.run is not None:
        runs.append(evidence.patch.run)
    records = (run.run.mlflow_run for run in runs)
    return {r["run_id"]: r for r in records if r and r["run_id"] != observed}


def _delete_ours(run_id: str, record: dict[str, str], not_before: float) -> bool:
    uri = store_uri(record["tracking_uri"], Path(record.get("cwd") or Path.cwd()))
    if uri.startswith("file:"):  # a file store's writes went to the scratch folder
        return False
    tracking = client(uri)
    if tracking.get_run(run_id).info.start_time < (not_before - CLOCK_SLACK) * 1000:
        return False
    tracking.delete_run(run_id)
    return True


def diagnosis_tags(report: dict[str, Any]) -> dict[str, str]:
    """The tags a diagnosis sets on its run (``report`` is report.json's content)."""
    top = report["causes"][0] if report.get("causes") else None
    return {
        "diagnose.verdict": str(report["verdict"]),
        "diagnose.cause": top["id"] if top else "none",
        "diagnose.confidence": f"{top['confidence']:.2f}" if top else "0",
    }


def _first_line(error: Exception) -> str:
    text = str(getattr(error, "message", "") or error).strip()
    return text.splitlines()[0][:200] if text else type(error).__name__
