"""Activation probe: health of every activation function's output on sampled training forwards.

Activations are often functional (``F.relu(x)``) and invisible to module hooks, so during a
sampled forward pass a ``TorchFunctionMode`` watches the calls of activation functions themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.overrides import TorchFunctionMode

from diagnose.probes.base import Probe
from diagnose.probes.sections import ActivationSample, ActivationSection, ActivationStat
from diagnose.probes.tensors import feature_axis

MAX_PER_FORWARD = 64
SATURATION = {"sigmoid": (0.01, 0.99), "tanh": (-0.99, 0.99), "hardtanh": (-0.99, 0.99)}
RELU_LIKE = {"relu", "relu6", "leaky_relu", "elu", "gelu", "silu"}


def _activation_kinds() -> dict[Callable[..., Any], str]:
    kinds: dict[Callable[..., Any], str] = {}
    for kind, functions in {
        "relu": (F.relu, F.relu_, torch.relu, torch.relu_, torch.Tensor.relu, torch.Tensor.relu_),
        "relu6": (F.relu6,),
        "leaky_relu": (F.leaky_relu, F.leaky_relu_),
        "elu": (F.elu,),
        "gelu": (F.gelu,),
        "silu": (F.silu,),
        "hardtanh": (F.hardtanh,),
        "sigmoid": (torch.sigmoid, torch.Tensor.sigmoid, F.sigmoid),
        "tanh": (torch.tanh, torch.Tensor.tanh, F.tanh),
        "softmax": (F.softmax, torch.softmax, torch.Tensor.softmax),
    }.items():
        for function in functions:
            kinds[function] = kind
    return kinds


class ActivationProbe(Probe):
    name = "activations"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = ActivationSection()
        self.kinds = _activation_kinds()
        self.mode: _Recorder | None = None
        self.last_layer = "input"
        self.first_params: list[torch.Tensor] = []  # of the first layer a sampled forward ran
        self.to_check: list[tuple[ActivationStat, Any]] = []  # (stat, its output's grad_fn)

    def on_sampled_forward_start(self, model: nn.Module) -> None:
        self.last_layer = "input"
        self.mode = _Recorder(self)
        self.mode.__enter__()

    def on_module_forward(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        own = list(module.parameters(recurse=False))
        if own:
            self.last_layer = self.state.name_of(module)
            if not self.section.samples and not self.first_params:
                self.first_params = [p for p in own if p.requires_grad]

    def on_backward(self, root: torch.Tensor) -> None:
        """The first sampled forward's graph is whole until this backward runs: read which of its
        activations everything passes through."""
        checks, self.to_check = self.to_check, []
        if checks and root.grad_fn is not None and self.first_params:
            first = {id(p) for p in self.first_params}
            for stat, node in checks:
                stat.cut = not _reaches(root.grad_fn, first, blocked=node)

    def on_sampled_forward_end(self, model: nn.Module) -> None:
        if self.mode is None:
            return
        self.mode.__exit__(None, None, None)
        if self.mode.stats:
            if not self.section.samples:  # the first sample's graph is checked at its backward
                self.to_check = list(zip(self.mode.stats, self.mode.nodes))
            self.section.samples.append(
                ActivationSample(step=self.state.steps, stats=self.mode.stats)
            )
        self.mode = None

    def record(self, kind: str, given: Any, output: Any) -> ActivationStat | None:
        if (
            not isinstance(output, torch.Tensor)
            or output.dim() < 2
            or not output.is_floating_point()
        ):
            return None
        out = output.detach().float()
        axis = feature_axis(out)
        per_unit = out.movedim(axis, 0).reshape(out.shape[axis], -1)
        low, high = SATURATION.get(kind, (None, None))
        saturated = (
            ((out <= low) | (out >= high)).float().mean()
            if low is not None and high is not None
            else torch.zeros(())
        )
        dead = (per_unit <= 0).all(1).float().mean() if kind in RELU_LIKE else torch.zeros(())
        given_std = (
            given.detach().float().std()
            if isinstance(given, torch.Tensor) and given.numel() > 1
            else 0.0
        )
        return ActivationStat(
            name=f"{self.last_layer} → {kind}",
            kind=kind,
            units=int(out.shape[axis]),
            mean=float(out.mean()),
            std=float(out.std()) if out.numel() > 1 else 0.0,
            zero_fraction=float((out == 0).float().mean()),
            dead_fraction=float(dead),
            saturated_fraction=float(saturated),
            input_std=float(given_std),
            dims=out.dim(),
        )

    def finish(self) -> ActivationSection:
        return self.section


def _reaches(root: Any, targets: set[int], blocked: Any) -> bool:
    """Whether a path of the autograd graph leads from ``root`` to a gradient accumulator of one of
    ``targets`` (parameters, by id) without passing through the node ``blocked``."""
    seen, stack = {id(blocked)}, [root]
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if variable is not None and id(variable) in targets:
            return True
        stack.extend(next_node for next_node, _ in getattr(node, "next_functions", ()))
    return False


class _Recorder(TorchFunctionMode):
    """Sees every torch function call of one forward pass; keeps statistics of the activations,
    and the autograd node of each activation's output."""

    def __init__(self, probe: ActivationProbe) -> None:
        super().__init__()
        self.probe = probe
        self.stats: list[ActivationStat] = []
        self.nodes: list[Any] = []

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        output = func(*args, **(kwargs or {}))
        kind = self.probe.kinds.get(func)
        if kind is not None and len(self.stats) < MAX_PER_FORWARD:
            with torch.no_grad():
                stat = self.probe.record(kind, args[0] if args else None, output)
            if stat is not None:
                self.stats.append(stat)
                self.nodes.append(getattr(output, "grad_fn", None))
        return output
