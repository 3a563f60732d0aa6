"""Interventions: what a replay changes in the user's run, from the fork point on.

A replay runs the user's own loop; an intervention changes one thing in it (a fixed batch, the
learning rate, a zero_grad, the train/eval mode, the init, the inputs, the loss's input...). The
tap calls the hooks below only once the intervention is active: from the first optimizer step
(the fork point, so the replay shares the observed run's prefix) or, for ``from_start``
interventions, from the beginning (to repair a crash that happens before any step).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from diagnose.probes.sections import InterventionSection

if TYPE_CHECKING:
    import torch
    from torch import nn

    from diagnose.child.state import TrainingState
    from diagnose.probes.base import LossCall


class Intervention:
    """Base class: every hook leaves the run unchanged."""

    name: ClassVar[str] = "none"
    from_start: ClassVar[bool] = False
    # Whether the fix changes what the loss computes: the fit probe, which measures the script's
    # own loss on its outputs, then measures something the replay no longer trains on.
    changes_loss: ClassVar[bool] = False

    def __init__(self, state: TrainingState, **params: Any) -> None:
        self.state = state
        self.params = params
        self.active = False
        self.activated_at: int | None = None
        self.note = ""

    def start(self) -> None:
        """Become active: at the fork point, or at once for ``from_start`` interventions."""
        self.active = True
        self.activated_at = self.state.steps
        self.activate()

    def activate(self) -> None: ...
    def replace_batch(self, loader: Any, batch: Any) -> Any:
        return batch

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        return None

    def after_forward(self, model: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        return None

    def transform_loss(self, call: LossCall) -> None: ...
    def before_backward(self, root: torch.Tensor) -> None: ...
    def after_backward(self, root: torch.Tensor) -> None: ...
    def before_step(self, optimizer: torch.optim.Optimizer) -> None: ...
    def before_closure_again(self) -> None: ...
    def after_step(self, optimizer: torch.optim.Optimizer) -> None: ...

    def allow_zero_grad(self, owner: Any) -> bool:
        return True

    def probe_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        """A probe batch's inputs as this replay's fix changes the model's inputs: the fit probe
        measures the fixed model on the observed run's batches (unchanged by default)."""
        return args

    def sections(self) -> dict[str, Any]:
        """What the replay measured beyond the observe probes; always says what was changed."""
        return {
            "intervention": InterventionSection(
                name=self.name,
                params={k: v for k, v in self.params.items() if _plain(v)},
                activated_at_step=self.activated_at,
                note=self.note,
            )
        }


def _plain(value: Any) -> bool:
    return isinstance(value, (int, float, str, bool)) or (
        isinstance(value, list) and all(isinstance(v, (int, float)) for v in value)
    )


def build(name: str, state: TrainingState, params: dict[str, Any]) -> Intervention:
    """The registered intervention ``name``."""
    from diagnose.child.experiments import EXPERIMENTS
    from diagnose.child.fixes import FIXES

    registry: dict[str, type[Intervention]] = {**EXPERIMENTS, **FIXES, "none": Intervention}
    if name not in registry:
        raise KeyError(f"unknown intervention {name!r}")
    return registry[name](state, **params)
