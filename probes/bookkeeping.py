"""Bookkeeping probe: is the loop's order of zero_grad / backward / step and train/eval mode right?

Stale gradients are tracked per optimizer (a GAN clears its two optimizers at different times):
after an optimizer steps its gradients are "dirty" until a zero_grad covers its parameters or a
backward finds them already cleared (``p.grad = None`` by hand); still dirty at its next step
means the step applies accumulated gradients.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from diagnose.probes.base import Probe
from diagnose.probes.sections import BookkeepingSection

SEQUENCE_STEPS = 8
PARAMS_WATCHED = 4


class BookkeepingProbe(Probe):
    name = "bookkeeping"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = BookkeepingSection()
        self.backward_since_step = False
        self.zero_after_backward = False
        self.events: list[str] = []
        self.snapshot: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.dirty: dict[int, torch.optim.Optimizer] = {}
        self.known: set[int] = set()  # optimizers that stepped once (only later steps can be stale)
        self.last_stepped: int | None = None

    def on_zero_grad(self, owner: Any) -> None:
        self.section.zero_grad_calls += 1
        self._log("Z")
        if self.backward_since_step:
            self.zero_after_backward = True
        if isinstance(owner, torch.optim.Optimizer):
            self.dirty.pop(id(owner), None)
        elif isinstance(owner, nn.Module) and self.dirty:
            owned = {id(p) for p in owner.parameters()}
            for key, optimizer in list(self.dirty.items()):
                if any(id(p) in owned for p in _params(optimizer)):
                    del self.dirty[key]

    def on_backward(self, root: torch.Tensor) -> None:
        section = self.section
        section.backward_calls += 1
        self._log("B")
        self.zero_after_backward = False
        model = self.state.model
        if model is not None:
            section.backward_mode_checked += 1
            section.backward_in_eval_mode += not model.training
        for key, optimizer in list(self.dirty.items()):
            if not _holds_gradient(_params(optimizer)):
                del self.dirty[key]  # cleared by hand (p.grad = None or zero_())
        self.backward_since_step = True

    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> None:
        section = self.section
        self._log("S")
        section.zero_grad_between_backward_and_step += self.zero_after_backward
        section.stale_checks += id(optimizer) in self.known  # every step: two set lookups
        section.stale_steps += id(optimizer) in self.dirty
        if self.state.sampled:
            params = _params(optimizer)
            section.steps_checked_for_grads += 1
            section.steps_without_grads += not _holds_gradient(params)
            watched = params if len(params) <= PARAMS_WATCHED else params[:2] + params[-2:]
            self.snapshot = [(p, p.detach().clone()) for p in watched]

    def on_step(self, optimizer: torch.optim.Optimizer) -> None:
        section = self.section
        section.steps += 1
        section.optimizer_switches += self.last_stepped not in (None, id(optimizer))
        self.last_stepped = id(optimizer)
        if self.snapshot:
            section.steps_checked_for_change += 1
            section.steps_params_unchanged += all(
                torch.equal(p.detach(), before) for p, before in self.snapshot
            )
            self.snapshot = []
        self.dirty[id(optimizer)] = optimizer
        self.known.add(id(optimizer))
        self.backward_since_step = False
        self.zero_after_backward = False
        self._log("|")

    def on_mode_change(self, module: nn.Module, training: bool) -> None:
        if training:
            self.section.train_calls += 1
        else:
            self.section.eval_calls += 1

    def _log(self, event: str) -> None:
        if self.section.steps < SEQUENCE_STEPS and len(self.events) < 200:
            self.events.append(event)

    def finish(self) -> BookkeepingSection:
        self.section.sequence = "".join(self.events)
        return self.section


def _params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def _holds_gradient(params: list[torch.Tensor]) -> bool:
    """True when some parameter holds a non-zero gradient (usually the first one looked at)."""
    return any(p.grad is not None and bool(p.grad.detach().ne(0).any()) for p in params)
