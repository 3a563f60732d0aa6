"""Run a batch on a Ray cluster: one task per run, each with its own resource request, results
streamed back into the local output folder as they finish. Ray is optional
(``pip install 'nn-diagnose[ray]'``); scripts must be readable at the same path on the workers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from diagnose.batch.executor import BatchOptions, Files, execute
from diagnose.batch.runlist import Run
from diagnose.batch.summary import BatchRow
from diagnose.errors import UsageError


class RayExecutor:
    def __init__(
        self, address: str | None = None, gpus_per_run: float = 0.0, cpus_per_run: float = 1.0
    ) -> None:
        try:
            import ray
        except ImportError:
            raise UsageError("--executor ray needs ray: pip install 'nn-diagnose[ray]'") from None
        self.ray = ray
        self.started_here = not ray.is_initialized()
        if self.started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False)
        self.resources: dict[str, Any] = {"num_cpus": cpus_per_run, "num_gpus": gpus_per_run}
        self.notes: list[str] = []  # the runs' own temporary folders are noted on their rows

    def results(
        self, runs: list[Run], options: BatchOptions
    ) -> Iterator[tuple[Run, BatchRow, Files]]:
        task = self.ray.remote(**self.resources)(execute)
        pending = {task.remote(run, options): run for run in runs}
        try:
            while pending:
                finished, _ = self.ray.wait(list(pending), num_returns=1)
                for ref in finished:
                    run = pending.pop(ref)
                    yield run, *self.ray.get(ref)
        except BaseException:
            for ref in pending:
                self.ray.cancel(ref, force=True)
            raise
        finally:
            if self.started_here:
                self.ray.shutdown()
