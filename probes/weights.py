"""Init probe: each weight's statistics before the first update, beside common init scales."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn

from diagnose.probes.base import DONE, Probe
from diagnose.probes.sections import InitLayer, InitSection

MAX_LAYERS = 200
NORMALIZATION = tuple(
    cls
    for cls in (
        nn.LayerNorm,
        nn.GroupNorm,
        nn.modules.batchnorm._NormBase,
        getattr(nn, "RMSNorm", None),
    )
    if cls is not None
)


class InitProbe(Probe):
    name = "init"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section: InitSection | None = None

    def on_root_forward_pre(self, model: nn.Module, args: tuple[Any, ...]) -> Any:
        if torch.is_grad_enabled() and self.state.steps == 0:
            self.section = InitSection(
                layers=list(_init_layers(model)),
                normalization_layers=sum(isinstance(m, NORMALIZATION) for m in model.modules()),
            )
        return DONE if self.section is not None or self.state.steps > 0 else None

    def finish(self) -> InitSection | None:
        return self.section


def _init_layers(model: nn.Module) -> Any:
    count = 0
    for module_name, module in model.named_modules():
        for param_name, w in module.named_parameters(recurse=False):
            if w.dim() < 2 or count >= MAX_LAYERS:
                continue
            count += 1
            yield _describe(
                f"{module_name}.{param_name}" if module_name else param_name, module, w.detach()
            )


def _describe(name: str, module: nn.Module, w: torch.Tensor) -> InitLayer:
    fan_in, fan_out = nn.init._calculate_fan_in_and_fan_out(w)
    rows = w.reshape(w.shape[0], -1).float()
    distinct_rows = torch.unique(rows, dim=0).shape[0] if rows.shape[0] <= 4096 else rows.shape[0]
    return InitLayer(
        name=name,
        shape=list(w.shape),
        fan_in=fan_in,
        fan_out=fan_out,
        std=float(w.float().std()) if w.numel() > 1 else 0.0,
        mean=float(w.float().mean()),
        default_std=_default_std(module, fan_in),
        he_std=math.sqrt(2.0 / fan_in),
        glorot_std=math.sqrt(2.0 / (fan_in + fan_out)),
        constant=bool(w.max() == w.min()),
        identical_rows=1.0 - distinct_rows / rows.shape[0] if rows.shape[0] > 1 else 0.0,
        zero_fraction=float((w == 0).float().mean()),
        lookup=isinstance(module, (nn.Embedding, nn.EmbeddingBag)),
    )


def _default_std(module: nn.Module, fan_in: int) -> float:
    """The std PyTorch's own default initialisation gives this module's weights."""
    if isinstance(module, nn.RNNBase):
        return 1.0 / math.sqrt(3.0 * module.hidden_size)
    if isinstance(module, nn.Embedding):
        return 1.0
    return 1.0 / math.sqrt(3.0 * fan_in)  # kaiming_uniform_(a=sqrt(5)) of Linear and Conv
