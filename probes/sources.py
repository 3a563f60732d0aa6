"""Sources probe: the line of the user's script behind each key call (first occurrence)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from diagnose.probes.base import LossCall, Probe
from diagnose.probes.sections import SourcesSection


class SourcesProbe(Probe):
    name = "sources"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = SourcesSection()

    def _note(self, key: str) -> None:
        if key not in self.section.lines:
            line = self.state.user.caller()
            if line is not None:
                self.section.lines[key] = line

    def on_optimizer_created(self, optimizer: torch.optim.Optimizer) -> None:
        self._note("optimizer")

    def on_root_forward_pre(self, model: nn.Module, args: tuple[Any, ...]) -> None:
        self._note("forward" if torch.is_grad_enabled() else "eval_forward")

    def on_loss_start(self, call: LossCall) -> None:
        self._note("loss" if call.grad_enabled else "eval_loss")

    def on_backward(self, root: torch.Tensor) -> None:
        self._note("backward")

    def on_zero_grad(self, owner: Any) -> None:
        self._note("zero_grad")

    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> None:
        self._note("step")

    def on_mode_change(self, module: nn.Module, training: bool) -> None:
        self._note("train" if training else "eval")

    def on_loader_iter(self, loader: Any) -> None:
        self._note("loader")

    def finish(self) -> SourcesSection:
        return self.section
