"""Regularisation and capacity operators: dropout that erases the signal, a model too small to
fit, a stack of linear layers with nothing nonlinear between them."""

from __future__ import annotations

import ast

from . import sites
from .astkit import calls, dotted, expr, import_name, is_number, leaf, replace
from .operators import Operator

ACTIVATIONS = ("ReLU", "GELU", "Tanh", "SiLU", "LeakyReLU", "ELU", "Mish")
ACTIVATION_FUNCTIONS = ("relu", "gelu", "tanh", "silu", "leaky_relu", "elu", "mish")
WIDTH_NAMES = {
    "hidden",
    "hidden_size",
    "hidden_dim",
    "width",
    "channels",
    "n_hidden",
    "units",
    "d_model",
}
# (positions of in-features, positions of out-features) in a layer constructor's arguments
LAYER_DIMS = {
    "Linear": ((0,), (1,)),
    "Conv1d": ((0,), (1,)),
    "Conv2d": ((0,), (1,)),
    "GRU": ((0,), (1,)),
    "LSTM": ((0,), (1,)),
    "RNN": ((0,), (1,)),
    "Embedding": ((), (1,)),
    "BatchNorm1d": ((0,), ()),
    "BatchNorm2d": ((0,), ()),
    "LayerNorm": ((0,), ()),
}


def heavy_dropout(tree: ast.Module) -> bool:
    """Every dropout probability set to 0.9."""
    found = sites.hyper_constants(tree, lambda name: "dropout" in name.lower() or name == "p")
    found += [
        c.args[0] for c in calls(tree, "Dropout", "Dropout2d") if c.args and is_number(c.args[0])
    ]
    found = [c for c in found if isinstance(c.value, float) and 0 < c.value < 0.9]
    for node in found:
        node.value = 0.9
    return bool(found)


def shrink_model(tree: ast.Module) -> bool:
    """Hidden widths cut to 2: named width settings and literal widths shared by adjacent layers."""
    found = [
        c
        for c in sites.hyper_constants(tree, lambda name: name.lower() in WIDTH_NAMES)
        if isinstance(c.value, int) and c.value > 2
    ]
    found += _literal_widths(tree)
    for node in found:
        node.value = 2
    return bool(found)


def _literal_widths(tree: ast.Module) -> list[ast.Constant]:
    """Integer widths that one layer outputs and another takes in, except the model's own input
    and output sizes (the first layer's input, the last layer's output)."""
    layers = [c for c in calls(tree, *LAYER_DIMS) if c.args]
    ins = [
        a
        for c in layers
        for i in LAYER_DIMS[leaf(c.func)][0]
        if i < len(c.args) and is_number(a := c.args[i])
    ]
    outs = [
        a
        for c in layers
        for i in LAYER_DIMS[leaf(c.func)][1]
        if i < len(c.args) and is_number(a := c.args[i])
    ]
    fixed = {_dim(layers[0], 0), _dim(layers[-1], 1)} if layers else set()
    widths = {a.value for a in ins} & {a.value for a in outs} - fixed
    return [a for a in ins + outs if a.value in widths and a.value > 2]


def _dim(layer: ast.Call, side: int) -> object:
    positions = LAYER_DIMS[leaf(layer.func)][side]
    arg = layer.args[positions[0]] if positions and positions[0] < len(layer.args) else None
    return arg.value if arg is not None and is_number(arg) else None


def remove_nonlinearity(tree: ast.Module) -> bool:
    """Activations deleted from layer lists, replaced by identity elsewhere."""
    torch, changed = import_name(tree, "torch"), False
    for seq in calls(tree, "Sequential"):
        kept = [
            a for a in seq.args if not (isinstance(a, ast.Call) and leaf(a.func) in ACTIVATIONS)
        ]
        changed |= len(kept) < len(seq.args)
        seq.args = kept
    modules = calls(tree, *ACTIVATIONS)
    functions = [
        c
        for c in calls(tree, *ACTIVATION_FUNCTIONS)
        if c.args and dotted(c.func).split(".")[0] not in ("np", "numpy", "math")
    ]
    replace(
        tree,
        {id(c): expr(f"{torch}.nn.Identity()") for c in modules}
        | {id(c): c.args[0] for c in functions},
    )
    changed |= _linear_activation_settings(tree, torch)
    return changed or bool(modules or functions)


def _linear_activation_settings(tree: ast.Module, torch: str) -> bool:
    """`hidden_act="gelu"` -> "linear"; `activation="relu"` -> an identity module."""
    found = [
        k
        for c in ast.walk(tree)
        if isinstance(c, ast.Call)
        for k in c.keywords
        if k.arg in ("hidden_act", "activation")
        and isinstance(k.value, ast.Constant)
        and isinstance(k.value.value, str)
    ]
    for kw in found:
        kw.value = (
            ast.Constant("linear") if kw.arg == "hidden_act" else expr(f"{torch}.nn.Identity()")
        )
    return bool(found)


OPERATORS = [
    Operator(
        "dropout_0.9", "dropout_too_high", "every dropout probability set to 0.9", heavy_dropout
    ),
    Operator("tiny_model", "model_too_small", "hidden widths cut to 2", shrink_model),
    Operator(
        "no_nonlinearity",
        "missing_nonlinearity",
        "every activation function removed",
        remove_nonlinearity,
        also_ok=("model_too_small",),
    ),
]
