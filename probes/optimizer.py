"""Optimizer probe: the optimizers, their settings, the LR each step, whose parameters they hold."""

from __future__ import annotations

from typing import Any

import torch

from diagnose.probes.base import Probe
from diagnose.probes.sections import OptimizerInfo, OptimizerSection
from diagnose.probes.standin import HandUpdate


class OptimizerProbe(Probe):
    name = "optimizer"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = OptimizerSection()
        self.primary: int | None = None

    def on_optimizer_created(self, optimizer: torch.optim.Optimizer) -> None:
        group = optimizer.param_groups[0] if optimizer.param_groups else {}
        self.section.optimizers.append(
            OptimizerInfo(
                cls=type(optimizer).__name__,
                lr=number(group.get("lr")),
                momentum=number(group.get("momentum")),
                weight_decay=number(group.get("weight_decay")),
                params=sum(p.numel() for g in optimizer.param_groups for p in g["params"]),
                created_at=self.state.user.caller(),
            )
        )

    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> None:
        self.state.lr_curve = self.section.lr_values  # read by the pacing: is a warm-up still on?
        if self.primary is None:
            self.primary = id(optimizer)
        if isinstance(optimizer, HandUpdate) and optimizer.defaults.get("lr") is None:
            return  # a hand-written update's LR is known once its first updates were measured
        if id(optimizer) == self.primary and optimizer.param_groups:
            lr = number(optimizer.param_groups[0].get("lr"))
            if lr is not None:
                self.section.lr_steps.append(self.state.steps)
                self.section.lr_values.append(lr)

    def finish(self) -> OptimizerSection:
        section, model = self.section, self.state.model
        for info, optimizer in zip(section.optimizers, self.state.optimizers):
            if isinstance(
                optimizer, HandUpdate
            ):  # its LR is known once the first updates were measured
                info.lr = number(optimizer.defaults.get("lr"))
        optimized = self.state.optimized_param_ids()
        section.optimized_params = sum(
            p.numel() for o in self.state.optimizers for g in o.param_groups for p in g["params"]
        )
        if model is not None:
            params = list(model.parameters())
            in_model = {id(p) for p in params}
            section.model_params = sum(p.numel() for p in params)
            section.model_params_trainable = sum(p.numel() for p in params if p.requires_grad)
            section.model_params_optimized = sum(
                p.numel() for p in params if p.requires_grad and id(p) in optimized
            )
            section.optimized_params_in_model = sum(
                p.numel()
                for o in self.state.optimizers
                for g in o.param_groups
                for p in g["params"]
                if id(p) in in_model
            )
        return section


def number(value: Any) -> float | None:
    """A plain float from a number or a one-element tensor (an LR may be either); None otherwise."""
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return float(value)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
