"""Benign operators on the model, the loss, the optimizer and the script around them.

Each is a change real training scripts make and that leaves a healthy script healthy: dropout
before the head, label smoothing, AdamW, the batch size scaled with the learning rate, GELU or
SiLU for ReLU, a normalization layer, a summed loss with a matching learning rate, logging for
print, another seed, a model built by a factory. Like the mutation operators, each finds its
target by pattern and returns False when the script has none.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable

from . import sites
from .astkit import calls, dotted, expr, import_name, insert, keyword, leaf, set_keyword, source
from .ops_loss import REDUCIBLE
from .ops_optim import BATCH_NAMES, LR_NAMES

ADAPTIVE = ("Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam")
ADAM_FAMILY = ("Adam", "AdamW", "Adamax", "NAdam", "RAdam")
DEFAULT_ADAPTIVE_LR = 1e-3


def dropout_before_head(tree: ast.Module) -> bool:
    """Dropout (p=0.2) on the features the model's head reads: in `forward`'s
    `return self.head(h)`, or before the last Linear of a `Sequential`."""
    torch = import_name(tree, "torch")
    returns = sites.forward_returns(tree)
    for forward, ret in returns:
        owner = forward.args.args[0].arg
        features = source(ret.value.args[0])
        ret.value.args[0] = expr(
            f"{torch}.nn.functional.dropout({features}, p=0.2, training={owner}.training)"
        )
    if returns:
        return True
    models = sites.sequential_models(tree)
    for call in models:
        call.args.insert(len(call.args) - 1, expr(f"{torch}.nn.Dropout(0.2)"))
    return bool(models)


def label_smoothing(tree: ast.Module) -> bool:
    """`label_smoothing=0.1` on every cross-entropy."""
    found = calls(tree, "CrossEntropyLoss", "cross_entropy")
    for call in found:
        set_keyword(call, "label_smoothing", ast.Constant(0.1))
    return bool(found)


def adamw(tree: ast.Module) -> bool:
    """AdamW with weight decay 0.01 in place of the optimizer; an Adam-family optimizer keeps its
    learning rate, another one gets Adam's usual 1e-3."""
    found = [c for c in sites.optimizer_calls(tree) if leaf(c.func) != "AdamW"]
    for call in found:
        kept = leaf(call.func) in ADAM_FAMILY
        lr = keyword(call, "lr") or (
            ast.keyword("lr", call.args[1]) if len(call.args) > 1 else None
        )
        name = dotted(call.func)
        prefix = name.rsplit(".", 1)[0] if "." in name else f"{import_name(tree, 'torch')}.optim"
        call.func, call.args = expr(f"{prefix}.AdamW"), call.args[:1]
        call.keywords = [k for k in call.keywords if k.arg in ("params", "betas", "eps")]
        if kept and lr is not None:
            call.keywords.append(ast.keyword("lr", lr.value))
        elif not kept:
            call.keywords.append(ast.keyword("lr", ast.Constant(DEFAULT_ADAPTIVE_LR)))
        call.keywords.append(ast.keyword("weight_decay", ast.Constant(0.01)))
    return bool(found)


def _training_batches(tree: ast.Module) -> list[ast.Constant]:
    """Constants that set the training batch size (evaluation loaders keep theirs)."""
    shuffling = sites.shuffling_loaders(tree)
    evaluation = {
        id(k.value) for c in calls(tree, "DataLoader") if c not in shuffling for k in c.keywords
    }
    return [
        c
        for c in sites.hyper_constants(tree, lambda name: name.lower() in BATCH_NAMES)
        if id(c) not in evaluation and isinstance(c.value, int) and c.value > 1
    ]


def _adaptive(tree: ast.Module) -> bool:
    """Whether the script trains with an adaptive optimizer (explicitly, or through a trainer
    whose default is AdamW)."""
    names = {leaf(c.func) for c in sites.optimizer_calls(tree)}
    return bool(names & set(ADAPTIVE)) or (not names and bool(calls(tree, "TrainingArguments")))


def _scale_lr(tree: ast.Module, factor: float) -> bool:
    """Multiply every learning-rate constant by `factor`; an optimizer left at its default
    learning rate gets it written out, scaled."""
    found = sites.hyper_constants(tree, lambda name: name.lower() in LR_NAMES)
    for node in found:
        node.value = float(f"{node.value * factor:.3g}")
    defaults = [
        c
        for c in sites.optimizer_calls(tree)
        if keyword(c, "lr") is None and len(c.args) < 2 and leaf(c.func) in ADAM_FAMILY
    ]
    for call in defaults:
        set_keyword(call, "lr", ast.Constant(float(f"{DEFAULT_ADAPTIVE_LR * factor:.3g}")))
    return bool(found or defaults)


def scale_batch(factor: float) -> Callable[[ast.Module], bool]:
    """The training batch size times `factor`, with the learning rate scaled to match: linearly
    for SGD, by the square root for adaptive optimizers."""

    def mutate(tree: ast.Module) -> bool:
        batches = _training_batches(tree)
        if not batches:
            return False
        for node in batches:
            node.value = max(2, round(node.value * factor))
        return _scale_lr(tree, math.sqrt(factor) if _adaptive(tree) else factor)

    return mutate


def replace_relu(name: str) -> Callable[[ast.Module], bool]:
    """ReLU replaced by `name` (GELU or SiLU): layers, functional calls, `.relu()`, `.clamp(min=0)`
    and `activation="relu"` settings."""
    function = name.lower()

    def mutate(tree: ast.Module) -> bool:
        torch = import_name(tree, "torch")
        layers = calls(tree, "ReLU")
        for call in layers:
            call.func, call.args, call.keywords = expr(f"{torch}.nn.{name}"), [], []
        functional = [c for c in calls(tree, "relu") if c.args or isinstance(c.func, ast.Attribute)]
        clamps = [
            c
            for c in calls(tree, "clamp")
            if isinstance(c.func, ast.Attribute)
            and not c.args
            and [(k.arg, getattr(k.value, "value", None)) for k in c.keywords] == [("min", 0)]
        ]
        for call in functional + clamps:
            inputs = call.args[0] if call.args else call.func.value
            call.func, call.args, call.keywords = (
                expr(f"{torch}.nn.functional.{function}"),
                [inputs],
                [],
            )
        settings = [
            k
            for c in ast.walk(tree)
            if isinstance(c, ast.Call)
            for k in c.keywords
            if k.arg == "activation"
            and isinstance(k.value, ast.Constant)
            and k.value.value == "relu"
        ]
        for kw in settings:
            kw.value = ast.Constant(function)
        return bool(layers or functional or clamps or settings)

    return mutate


def _out_features(call: ast.Call) -> ast.expr | None:
    out = keyword(call, "out_features") or keyword(call, "out_channels")
    return out.value if out else (call.args[1] if len(call.args) > 1 else None)


def add_norm(kind: str) -> Callable[[ast.Module], bool]:
    """A normalization layer after the first hidden layer: LayerNorm after the first of several
    Linear layers, or BatchNorm after the first Conv2d (else after the first hidden Linear)."""

    def mutate(tree: ast.Module) -> bool:
        torch = import_name(tree, "torch")
        linears, convs = calls(tree, "Linear"), calls(tree, "Conv2d")
        if kind == "BatchNorm" and convs:
            layer, norm = convs[0], "BatchNorm2d"
        elif len(linears) >= 2:
            layer, norm = linears[0], "LayerNorm" if kind == "LayerNorm" else "BatchNorm1d"
        else:
            return False
        width = _out_features(layer)
        if width is None:
            return False
        wrapped = expr(f"{torch}.nn.Sequential(LAYER, {torch}.nn.{norm}({source(width)}))")
        wrapped.args[0] = ast.Call(layer.func, layer.args, layer.keywords)
        layer.func, layer.args, layer.keywords = wrapped.func, wrapped.args, wrapped.keywords
        return True

    return mutate


def summed_loss(tree: ast.Module) -> bool:
    """`reduction="sum"` on the loss, the learning rate divided by the batch size for SGD
    (adaptive optimizers are invariant to the loss's scale, so theirs stays)."""
    found = sites.loss_ctor_calls(tree, REDUCIBLE) + sites.functional_loss_calls(tree, REDUCIBLE)
    found = [
        c
        for c in found
        if not (
            keyword(c, "reduction") and getattr(keyword(c, "reduction").value, "value", 0) == "sum"
        )
    ]
    if not found:
        return False
    if not _adaptive(tree):
        batches = _training_batches(tree)
        if not batches or not _scale_lr(tree, 1 / batches[0].value):
            return False
    for call in found:
        set_keyword(call, "reduction", ast.Constant("sum"))
    return True


def logging_for_print(tree: ast.Module) -> bool:
    """`logging.info(...)` for every `print(...)` but the one that prints the metrics line."""
    found = [
        s.value
        for s in ast.walk(tree)
        if isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and isinstance(s.value.func, ast.Name)
        and s.value.func.id == "print"
        and not s.value.keywords
        and s.value.args
        and not (isinstance(s.value.args[0], ast.Call) and leaf(s.value.args[0].func) == "dumps")
    ]
    if not found:
        return False
    logging = import_name(tree, "logging")
    for call in found:
        call.func = expr(f"{logging}.info")
        call.args = [ast.Constant(" ".join(["%s"] * len(call.args))), *call.args]
    imports = [i for i, s in enumerate(tree.body) if isinstance(s, (ast.Import, ast.ImportFrom))]
    tree.body.insert(
        imports[-1] + 1,
        ast.parse(f"{logging}.basicConfig(level={logging}.INFO, format='%(message)s')").body[0],
    )
    return True


SEEDING = ("manual_seed", "seed_everything", "seed")


def another_seed(tree: ast.Module) -> bool:
    """Every seed the script sets (torch, numpy, random, Lightning, a trainer's `seed=`) plus 1."""
    found = [
        c
        for c in calls(tree, *SEEDING)
        if c.args
        and (leaf(c.func) != "seed" or dotted(c.func).split(".")[0] in ("np", "numpy", "random"))
    ]
    for call in found:
        call.args[0] = ast.BinOp(call.args[0], ast.Add(), ast.Constant(1))
    settings = [
        k
        for c in calls(tree, "TrainingArguments")
        for k in c.keywords
        if k.arg == "seed" and sites.is_number(k.value)
    ]
    for kw in settings:
        kw.value = ast.Constant(kw.value.value + 1)
    return bool(found or settings)


PLACEMENT = ("to", "cuda", "cpu", "float", "double")


def _constructed(value: ast.expr) -> bool:
    """`Net(...)`, `nn.Sequential(...)`, also followed by `.to(device)`: a model built inline."""
    while (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in PLACEMENT
    ):
        value = value.func.value
    return isinstance(value, ast.Call) and leaf(value.func)[:1].isupper()


def model_factory(tree: ast.Module) -> bool:
    """The model built by a small factory function (`model = create_model()`) instead of inline."""
    for _, model in sites.model_sites(tree):
        built = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.Assign)
            and len(n.targets) == 1
            and source(n.targets[0]) == source(model)
            and _constructed(n.value)
        ]
        if built:
            name = "create_model" if "create_model" not in source(tree) else "create_network"
            insert(tree, built[0], f"def {name}():\n    return {source(built[0].value)}")
            built[0].value = expr(f"{name}()")
            return True
    return False
