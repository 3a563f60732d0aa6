"""One rank of a multi-process run (``--nproc-per-node N``): what the cross-rank checks need.

Each rank records a fingerprint of its weights (a few values of a few of the optimizer's tensors)
before and after its first update and at the end, the epoch its ``DistributedSampler`` is at each
time it is iterated, and the collectives the script runs itself (on gradients, or on anything else:
a loss or a metric). The parent gathers the
ranks' records; rules compare them (weights that differ between ranks, a sampler stuck at epoch 0).
Installed only when the launcher set ``WORLD_SIZE`` above 1.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import torch
import torch.distributed as dist
from torch.optim import optimizer as optimizer_hooks
from torch.utils.data.distributed import DistributedSampler

from diagnose.child.patching import Patches
from diagnose.child.state import TrainingState
from diagnose.probes.sections import DistributedSection, RankRecord
from diagnose.probes.tensors import as_float

TENSORS, VALUES = 4, 16
# The collectives a script reduces or gathers its numbers with (torchmetrics and Lightning's
# sync_dist go through them too).
COLLECTIVES = (
    "all_reduce",
    "reduce",
    "all_gather",
    "all_gather_into_tensor",
    "all_gather_object",
    "gather",
)
MAX_EPOCHS = 50


def world_size() -> int:
    """The number of ranks the launcher started (1 outside a multi-process launch)."""
    value = os.environ.get("WORLD_SIZE", "1")
    return int(value) if value.isdigit() else 1


class RankWatch:
    """Install with ``install()`` before the script runs; ``section()`` after ``remove()``."""

    def __init__(self, state: TrainingState) -> None:
        self.state = state
        self.record = RankRecord(rank=int(os.environ.get("RANK", "0")))
        self.samplers = 0
        self.patches = Patches()
        self.handles: list[Any] = []

    def install(self) -> None:
        self.handles = [
            optimizer_hooks.register_optimizer_step_pre_hook(self._before_step),
            optimizer_hooks.register_optimizer_step_post_hook(self._after_step),
        ]
        self.patches.replace(DistributedSampler, "__init__", self._wrap_sampler_init)
        self.patches.replace(DistributedSampler, "__iter__", self._wrap_sampler_iter)
        self.patches.replace(DistributedSampler, "set_epoch", self._wrap_set_epoch)
        if dist.is_available():
            for name in COLLECTIVES:
                self.patches.replace(dist, name, self._wrap_collective)

    def remove(self) -> None:
        self.record.last = self._fingerprint()
        for handle in self.handles:
            handle.remove()
        self.patches.restore()

    def section(self, run: dict[str, Any]) -> DistributedSection:
        record = self.record
        record.status, record.steps = run.get("status", ""), run.get("steps", 0)
        model = self.state.model
        initialized = dist.is_available() and dist.is_initialized()
        return DistributedSection(
            world_size=dist.get_world_size() if initialized else world_size(),
            backend=str(dist.get_backend()) if initialized else "",
            ddp_wrapped=isinstance(model, torch.nn.parallel.DistributedDataParallel),
            samplers=self.samplers,
            ranks=[record],
        )

    # -- weights -----------------------------------------------------------------------------
    def _fingerprint(self) -> list[float]:
        params = [
            p for opt in self.state.optimizers for g in opt.param_groups for p in g["params"]
        ][:TENSORS]
        with torch.no_grad():
            return [float(v) for p in params for v in p.detach().reshape(-1)[:VALUES].float().cpu()]

    def _before_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self.record.start:
            self.record.start = self._fingerprint()

    def _after_step(self, optimizer: Any, args: Any, kwargs: Any) -> None:
        if not self.record.first_step:
            self.record.first_step = self._fingerprint()
        if self.state.last_loss_call is not None:
            self.record.last_loss = as_float(self.state.last_loss_call.output)

    # -- the sampler and the script's own reductions ---------------------------------------
    def _wrap_sampler_init(self, original: Callable[..., None]) -> Callable[..., None]:
        def __init__(sampler: DistributedSampler, *args: Any, **kwargs: Any) -> None:
            original(sampler, *args, **kwargs)
            self.samplers += 1

        return __init__

    def _wrap_sampler_iter(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def __iter__(sampler: DistributedSampler) -> Any:
            if len(self.record.sampler_epochs) < MAX_EPOCHS:
                self.record.sampler_epochs.append(int(sampler.epoch))
            return original(sampler)

        return __iter__

    def _wrap_set_epoch(self, original: Callable[..., None]) -> Callable[..., None]:
        def set_epoch(sampler: DistributedSampler, epoch: int) -> None:
            self.record.set_epoch_calls += 1
            return original(sampler, epoch)

        return set_epoch

    def _wrap_collective(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def collective(tensor: Any, *args: Any, **kwargs: Any) -> Any:
            if self._is_gradient(tensor):
                self.record.gradient_reductions += 1
            else:
                self.record.metric_reductions += 1
            return original(tensor, *args, **kwargs)

        return collective

    def _is_gradient(self, tensor: Any) -> bool:
        return isinstance(tensor, torch.Tensor) and any(
            p.grad is tensor
            for opt in self.state.optimizers
            for g in opt.param_groups
            for p in g["params"]
        )
