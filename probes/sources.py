"""Sources probe: the line of the user's script behind each key call (first occurrence)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from diagnose.probes.base import DONE, LossCall, Probe
from diagnose.probes.sections import SourcesSection


class SourcesProbe(Probe):
    name = "sources"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = SourcesSection()

    def _note(self, *keys: str) -> Any:
        """Record the caller for ``keys[0]``; DONE once every key of this event is known."""
        if keys[0] not in self.section.lines:
            line = self.state.user.caller()
            if line is not None:
                self.section.lines[keys[0]] = line
        return DONE if all(k in self.section.lines for k in keys) else None

    def on_optimizer_created(self, optimizer: torch.optim.Optimizer) -> Any:
        return self._note("optimizer")

    def on_root_forward_pre(self, model: nn.Module, args: tuple[Any, ...]) -> Any:
        return self._note(
            *(
                ("forward", "eval_forward")
                if torch.is_grad_enabled()
                else ("eval_forward", "forward")
            )
        )

    def on_loss_start(self, call: LossCall) -> Any:
        return self._note(*(("loss", "eval_loss") if call.grad_enabled else ("eval_loss", "loss")))

    def on_backward(self, root: torch.Tensor) -> Any:
        return self._note("backward")

    def on_zero_grad(self, owner: Any) -> Any:
        return self._note("zero_grad")

    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> Any:
        return self._note("step")

    def on_mode_change(self, module: nn.Module, training: bool) -> Any:
        return self._note(*(("train", "eval") if training else ("eval", "train")))

    def on_loader_iter(self, loader: Any) -> Any:
        return self._note("loader")

    def on_scheduler_step(self, scheduler: Any) -> Any:
        return self._note("scheduler")

    def finish(self) -> SourcesSection:
        return self.section
