"""Model probe: the trained model's layers, mode-dependent layers, and linear maps stacked with no
nonlinearity between them (seen in the autograd graph of a sampled forward pass)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from diagnose.probes.base import Probe
from diagnose.probes.sections import LayerInfo, ModelSection

LINEAR_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Bilinear)
MODE_DEPENDENT = (nn.modules.dropout._DropoutNd, nn.modules.batchnorm._BatchNorm)
# Autograd nodes that only move values around or map each feature affinely: they keep a map linear.
# Batch norm is a per-feature affine map (batch statistics in training, running ones in eval): a
# stack of Linear and BatchNorm without an activation is one linear map.
LINEAR_PRESERVING = {
    "ViewBackward0",
    "ReshapeAliasBackward0",
    "UnsafeViewBackward0",
    "TBackward0",
    "TransposeBackward0",
    "PermuteBackward0",
    "CloneBackward0",
    "SqueezeBackward0",
    "SqueezeBackward1",
    "UnsqueezeBackward0",
    "FlattenBackward0",
    "NativeDropoutBackward0",
    "SelectBackward0",
    "SliceBackward0",
    "ExpandBackward0",
    "NativeBatchNormBackward0",
    "CudnnBatchNormBackward0",
    "MiopenBatchNormBackward0",
}
# Products and quotients are linear in one input when every other input is a constant (a dropout
# mask, a scale): then only their first input is in the graph.
SCALING = {"MulBackward0", "MulBackward1", "DivBackward0", "DivBackward1"}
MAX_LAYERS = 200
CHAIN_CHECKS = 3


class ModelProbe(Probe):
    name = "model"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.outputs: dict[int, tuple[str, nn.Module, Any]] = {}
        self.chains: list[list[str]] = []
        self.linear_layers: set[str] = set()
        self.members: set[int] = set()
        self.unregistered: list[str] = []
        self.checks = 0

    def on_sampled_forward_start(self, model: nn.Module) -> None:
        self.outputs = {}
        self.members = {id(m) for m in model.modules()}

    def on_module_pre(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if self.checks >= CHAIN_CHECKS or not isinstance(module, LINEAR_LAYERS) or not args:
            return
        given = args[0]
        if not isinstance(given, torch.Tensor):
            return
        producer = _producing_layer(given.grad_fn, self.outputs)
        if producer is None or _low_rank(producer[1], module):
            return
        pair = [producer[0], self.state.name_of(module)]
        if pair not in self.chains:
            self.chains.append(pair)

    def on_module_forward(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if id(module) not in self.members and any(True for _ in module.parameters(recurse=False)):
            label = f"{type(module).__name__}({sum(p.numel() for p in module.parameters())} params)"
            if label not in self.unregistered:
                self.unregistered.append(label)
        if (
            self.checks < CHAIN_CHECKS
            and isinstance(module, LINEAR_LAYERS)
            and isinstance(output, torch.Tensor)
        ):
            self.linear_layers.add(self.state.name_of(module))
            node = output.grad_fn
            if node is not None:  # the node is kept so that its id is not reused during the pass
                self.outputs[id(node)] = (self.state.name_of(module), module, node)

    def on_sampled_forward_end(self, model: nn.Module) -> None:
        self.checks += 1
        self.outputs = {}

    def finish(self) -> ModelSection:
        model = self.state.model
        section = ModelSection(
            roots=[type(m).__name__ for m in self.state.roots],
            linear_chains=self.chains,
            linear_layers=len(self.linear_layers),
            unregistered=self.unregistered,
        )
        if model is None:
            return section
        section.cls = type(model).__name__
        section.compiled = section.cls == "OptimizedModule"
        section.params = sum(p.numel() for p in model.parameters())
        section.trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
        # Beside the init probe's values at the start, these tell a frozen layer never trained from
        # one trained before it was frozen.
        section.frozen_stds = {
            name: float(p.detach().float().std())
            for name, p in model.named_parameters()
            if not p.requires_grad and p.dim() >= 2 and p.numel() > 1
        }
        for name, module in list(model.named_modules())[:MAX_LAYERS]:
            own = list(module.parameters(recurse=False))
            if own:
                section.layers.append(
                    LayerInfo(
                        name=name or type(module).__name__,
                        type=type(module).__name__,
                        params=sum(p.numel() for p in own),
                        trainable=sum(p.numel() for p in own if p.requires_grad),
                    )
                )
            if isinstance(module, MODE_DEPENDENT) and getattr(module, "p", 1.0) > 0:
                section.mode_dependent.append(name or type(module).__name__)
            if isinstance(module, nn.modules.dropout._DropoutNd):
                section.dropout.append(float(module.p))
        return section


def _producing_layer(
    node: Any, outputs: dict[int, tuple[str, nn.Module, Any]], depth: int = 8
) -> tuple[str, nn.Module] | None:
    """The linear layer (name, module) whose output reaches this node through linear ops only."""
    while node is not None and depth > 0:
        if id(node) in outputs:
            return outputs[id(node)][:2]
        if not _passes_linearly(node):
            return None
        inputs = [n for n, _ in node.next_functions if n is not None]
        node = inputs[0] if inputs else None
        depth -= 1
    return None


def _passes_linearly(node: Any) -> bool:
    """The node maps its (first) input linearly: reshape, per-feature affine map, constant scale."""
    name = type(node).__name__
    if name in SCALING:
        first, *others = [n for n, _ in node.next_functions]
        return first is not None and all(other is None for other in others)
    return name in LINEAR_PRESERVING


def _low_rank(first: nn.Module, second: nn.Module) -> bool:
    """A deliberate low-rank factorization (a LoRA adapter, a bottleneck projection): the map
    between the two layers is narrower than both what comes in and what goes out."""
    middle, given, produced = _width(first, "out"), _width(first, "in"), _width(second, "out")
    return (
        middle is not None
        and given is not None
        and produced is not None
        and middle < given
        and middle < produced
    )


def _width(layer: nn.Module, side: str) -> int | None:
    """A linear layer's input or output width (features, or channels of a convolution)."""
    for attribute in (f"{side}_features", f"{side}_channels"):
        if isinstance(getattr(layer, attribute, None), int):
            return getattr(layer, attribute)
    return None
