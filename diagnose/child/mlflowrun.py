"""The MLflow run a script opened, read at the end of a run so that ``--mlflow-log`` attaches the
diagnosis to it.

Only when the script itself imported mlflow (nothing is imported for it): the run its MLflow
session has active, or else the last one it had (``mlflow.last_active_run``: a ``with
mlflow.start_run()`` block has ended it by then), and the tracking URI it logged to. MLflow keeps
both per process, so the id is the one this script opened, never another process's.
"""

from __future__ import annotations

import os
import sys


def opened_run() -> dict[str, str] | None:
    """``{"run_id", "tracking_uri", "cwd"}`` of the script's MLflow run, or None (a relative URI,
    such as MLflow's default ``sqlite:///mlflow.db``, is relative to ``cwd``)."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is None:
        return None
    try:
        active = mlflow.active_run()
        run = active if active is not None else mlflow.last_active_run()
        if run is None:
            return None
        return {
            "run_id": str(run.info.run_id),
            "tracking_uri": str(mlflow.get_tracking_uri()),
            "cwd": os.getcwd(),
        }
    except Exception:  # the script's store may be gone or unreachable: then there is no run to name
        return None
