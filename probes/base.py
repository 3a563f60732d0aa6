"""The probe protocol: a small class with no-op hooks it may override, like a Lightning Callback.

The tap calls only the hooks a probe overrides, so an idle hook costs nothing. ``finish`` returns
the probe's Evidence section (a dataclass from ``sections``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import torch
    from torch import nn

    from diagnose.child.state import TrainingState

EVENTS = (
    "on_optimizer_created",
    "on_root_forward_pre",
    "on_root_forward",
    "on_sampled_forward_start",
    "on_sampled_forward_end",
    "on_module_pre",
    "on_module_forward",
    "on_loss_start",
    "on_loss",
    "on_backward",
    "after_backward",
    "on_zero_grad",
    "on_step_pre",
    "on_step",
    "on_mode_change",
    "on_loader_iter",
    "on_batch",
    "on_normalize",
    "on_scaler",
    "on_warning",
    "on_exception",
    "on_scheduler_step",
)


DONE = object()  # a hook returning this is not called for that event again (it has what it needs)


@dataclass
class LossCall:
    """One call of a functional loss (loss modules call these too)."""

    name: str
    input: Any
    target: Any
    kwargs: dict[str, Any]
    grad_enabled: bool
    output: Any = None
    args: tuple[Any, ...] = ()

    @property
    def ignore_index(self) -> int:
        return ignored_target(self.kwargs)


def ignored_target(kwargs: dict[str, Any]) -> int:
    """The target value a loss given these options skips (padding), torch's default where none is
    given."""
    value = kwargs.get("ignore_index", -100)
    return value if isinstance(value, int) else -100


class Probe:
    """Base class of all probes. Override the ``on_*`` hooks you need and ``finish``."""

    name: ClassVar[str] = "probe"

    def __init__(self, state: TrainingState) -> None:
        self.state = state
        self.disabled = False

    def handles(self, event: str) -> bool:
        """True when this probe overrides ``event`` (the tap skips the others)."""
        return getattr(type(self), event) is not getattr(Probe, event)

    def on_optimizer_created(self, optimizer: torch.optim.Optimizer) -> None: ...
    def on_root_forward_pre(self, model: nn.Module, args: tuple[Any, ...]) -> None: ...
    def on_root_forward(self, model: nn.Module, args: tuple[Any, ...], output: Any) -> None: ...
    def on_sampled_forward_start(self, model: nn.Module) -> None: ...
    def on_sampled_forward_end(self, model: nn.Module) -> None: ...
    def on_module_pre(self, module: nn.Module, args: tuple[Any, ...]) -> None: ...
    def on_module_forward(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None: ...
    def on_loss_start(self, call: LossCall) -> None: ...
    def on_loss(self, call: LossCall) -> None: ...
    def on_backward(self, root: torch.Tensor) -> None: ...
    def after_backward(self, root: torch.Tensor) -> None: ...
    def on_zero_grad(self, owner: Any) -> None: ...
    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> None: ...
    def on_step(self, optimizer: torch.optim.Optimizer) -> None: ...
    def on_mode_change(self, module: nn.Module, training: bool) -> None: ...
    def on_loader_iter(self, loader: Any) -> None: ...
    def on_batch(self, loader: Any, batch: Any) -> None: ...
    def on_normalize(self, given: torch.Tensor, mean: Any, std: Any) -> None: ...
    def on_scaler(self, given: Any, center: Any, scale: Any) -> None: ...
    def on_warning(self, message: str, category: str, filename: str, lineno: int) -> None: ...
    def on_exception(self, error: BaseException) -> None: ...
    def on_scheduler_step(self, scheduler: Any) -> None: ...

    def finish(self) -> Any:
        raise NotImplementedError
