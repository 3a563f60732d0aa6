"""Gradient probe: gradient norm per layer and per step, and the size of each update."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from diagnose.probes.base import Probe
from diagnose.probes.sections import GradientSection, GradSample

NORMS_FIRST = 20  # then on sampled steps


class GradientProbe(Probe):
    name = "gradients"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = GradientSection()
        self.order: list[str] = []
        self.sampled_step: int | None = None
        self.before: list[torch.Tensor | None] = []
        self._params: list[torch.Tensor | None] = []
        self.pending: GradSample | None = None

    def on_module_forward(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        """Learn the execution order of parameter layers during the first sampled forward."""
        if self.section.samples or not any(True for _ in module.parameters(recurse=False)):
            return
        name = self.state.name_of(module)
        if name not in self.order:
            self.order.append(name)

    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> None:
        steps = self.state.steps
        if steps >= NORMS_FIRST and not self.state.sampled:
            return
        grads = [
            p.grad
            for group in optimizer.param_groups
            for p in group["params"]
            if p.grad is not None
        ]
        if grads:
            norm = _total_norm(grads)
            self.section.total_norm_steps.append(self.state.steps)
            self.section.total_norms.append(norm)
            if self.section.first_nonfinite_grad_step is None and not math.isfinite(norm):
                self.section.first_nonfinite_grad_step = self.state.steps
        if self.state.sampled and self.sampled_step != self.state.steps:
            self._sample_layers()

    def _sample_layers(self) -> None:
        self.sampled_step = self.state.steps
        weights = self._weights()
        if not self.section.layers:
            self.section.layers = [name for name, _ in weights]
        by_name = dict(weights)
        params = [by_name.get(name) for name in self.section.layers]
        norms = [_norm(p.grad) if p is not None and p.grad is not None else None for p in params]
        self.before = [p.detach().clone() if p is not None else None for p in params]
        weight_norms = [_norm(w) if w is not None else None for w in self.before]
        self.pending = GradSample(
            step=self.state.steps, norms=norms, weight_norms=weight_norms, update_ratios=[]
        )
        self._params = params

    def on_step(self, optimizer: torch.optim.Optimizer) -> None:
        if self.pending is None:
            return
        ratios: list[float | None] = []
        for p, before in zip(self._params, self.before):
            if p is None or before is None:
                ratios.append(None)
                continue
            weight_norm = _norm(before)
            ratios.append(_norm(p.detach() - before) / weight_norm if weight_norm else None)
        self.pending.update_ratios = ratios
        self.section.samples.append(self.pending)
        self.pending, self.before, self._params = None, [], []

    def _weights(self) -> list[tuple[str, torch.Tensor]]:
        """Trainable weight matrices (not biases or norms), in forward execution order."""
        model = self.state.model
        if model is None:
            return []
        rank = {name: i for i, name in enumerate(self.order)}
        named = [
            (name, p) for name, p in model.named_parameters() if p.requires_grad and p.dim() >= 2
        ]
        return sorted(named, key=lambda item: rank.get(item[0].rsplit(".", 1)[0], len(rank)))

    def finish(self) -> GradientSection:
        return self.section


def _total_norm(grads: list[torch.Tensor]) -> float:
    """The 2-norm of all gradients together, with one fused kernel where torch has it."""
    if hasattr(torch, "_foreach_norm") and len({(g.device, g.dtype) for g in grads}) == 1:
        return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))
    return float(
        torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g.float()) for g in grads]))
    )


def _norm(t: torch.Tensor) -> float:
    return float(torch.linalg.vector_norm(t.detach().float()))
