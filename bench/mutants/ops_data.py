"""Data operators: normalisation, ordering, labels, leakage and corrupt values in the training set.

Normalisation is found in its three common shapes (a fitted scaler's `transform`, `(x - m) / s`,
`x / 255`), also inside a helper function that returns one of them. Faults in the training set
are planted right after `train_test_split`, on its training half, the way a loading bug would
leave them.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from . import sites
from .astkit import (
    calls,
    drop_self_assignments,
    import_name,
    insert,
    is_number,
    leaf,
    rename_callee,
    replace,
)
from .operators import INFLATED, LOUD, Operator

Site = tuple[ast.expr, ast.expr]  # (the normalising expression, the data it normalises)


def _site(node: ast.AST) -> Site | None:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("transform", "fit_transform")
        and len(node.args) == 1
    ):
        return node, node.args[0]
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
        if isinstance(node.left, ast.BinOp) and isinstance(node.left.op, ast.Sub):
            return node, node.left.left
        if (
            is_number(node.right)
            and node.right.value >= 10
            and isinstance(node.left, (ast.Name, ast.Attribute, ast.Subscript))
        ):
            return node, node.left
    return None


def input_sites(tree: ast.AST) -> list[Site]:
    """Normalisation of inputs (targets are kept: their scale is the task's, not the data's)."""
    found = [_site(n) for n in ast.walk(tree)]
    return [
        s for s in found if s and not any(sites.is_target_name(n) for n in sites.names_in(s[1]))
    ]


def _normalisers(tree: ast.AST) -> set[str]:
    """Helper functions that return a normalised argument, e.g. `def standardize(x, m, s)`."""
    return {
        f.name
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef)
        and isinstance(f.body[-1], ast.Return)
        and f.body[-1].value is not None
        and _site(f.body[-1].value)
    }


def val_sites(tree: ast.AST) -> list[Site]:
    """Normalisations (or normalising helper calls) whose result is stored as validation data."""
    helpers, found = _normalisers(tree), []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and all(sites.is_val_name(leaf(t)) for t in node.targets):
            found += input_sites(node.value)
            found += [(c, c.args[0]) for c in calls(node.value, *helpers) if c.args]
    return found


def remove_normalisation(tree: ast.Module) -> bool:
    return _strip(tree, input_sites(tree))


def remove_val_normalisation(tree: ast.Module) -> bool:
    return _strip(tree, val_sites(tree))


def _strip(tree: ast.Module, found: list[Site]) -> bool:
    replace(tree, {id(node): data for node, data in found})
    drop_self_assignments(tree)
    return bool(found)


def normalise_twice(tree: ast.Module) -> bool:
    """Apply each input normalisation a second time to its own output."""
    doubled = {
        id(node): twice for node, _ in input_sites(tree) if (twice := _twice(node)) is not None
    }
    replace(tree, doubled)
    return bool(doubled)


def _twice(node: ast.expr) -> ast.expr | None:
    if isinstance(node, ast.Call):
        scaler = node.func.value
        if not isinstance(scaler, (ast.Name, ast.Attribute)):
            return None  # an unnamed scaler cannot be reused
        return ast.Call(ast.Attribute(copy.deepcopy(scaler), "transform", ast.Load()), [node], [])
    if isinstance(node.left, ast.BinOp):
        return ast.BinOp(
            ast.BinOp(node, ast.Sub(), copy.deepcopy(node.left.right)),
            ast.Div(),
            copy.deepcopy(node.right),
        )
    return ast.BinOp(node, ast.Div(), copy.deepcopy(node.right))


def after_split(template: str, shuffle_off: bool = False) -> Callable[[ast.Module], bool]:
    """Plant a fault in the training half right after `train_test_split`.

    The template names the four split outputs `{x}`, `{xv}`, `{y}`, `{yv}` and numpy `{np}`."""

    def mutate(tree: ast.Module) -> bool:
        split = sites.split_site(tree)
        if split is None or (shuffle_off and not _stop_shuffling(tree)):
            return False
        x, xv, y, yv = split[1]
        code = template.format(x=x, xv=xv, y=y, yv=yv, np=import_name(tree, "numpy"))
        insert(tree, split[0], code, after=True)
        return True

    return mutate


def _stop_shuffling(tree: ast.Module) -> bool:
    """`shuffle=True` -> `shuffle=False`, `torch.randperm(n)` -> `torch.arange(n)`."""
    loaders = sites.shuffling_loaders(tree)
    for call in loaders:
        next(k for k in call.keywords if k.arg == "shuffle").value = ast.Constant(False)
    perms = calls(tree, "randperm")
    for call in perms:
        rename_callee(call, "arange")
    return bool(loaders or perms)


SORT = "order = {np}.argsort({y}, kind='stable')\n{x}, {y} = {x}[order], {y}[order]"
MISALIGN = "{y} = {y}[{np}.random.RandomState(0).permutation(len({y}))]"
NOISE = (
    "flip = {np}.random.RandomState(0).rand(len({y})) < 0.4\n"
    "{y}[flip] = {y}[{np}.random.RandomState(1).permutation(len({y}))][flip]"
)
CUT = (
    "keep = ({np}.asarray({y}) != 1) | ({np}.random.RandomState(0).rand(len({y})) < 0.05)\n"
    "{x}, {y} = {x}[keep], {y}[keep]"
)
LEAK = "{x} = {np}.concatenate([{x}, {xv}])\n{y} = {np}.concatenate([{y}, {yv}])"
NAN = "{x}[:3, 0] = float('nan')"
FLOAT_LABELS = "{y} = {y}.astype({np}.float32)"
SHIFT = "{y} = {y} + 1"
CLASSIFY = frozenset({"classification"})

OPERATORS = [
    Operator(
        "remove_normalization",
        "inputs_not_normalized",
        "delete the input normalisation",
        remove_normalisation,
    ),
    Operator(
        "normalize_twice",
        "double_normalization",
        "apply the input normalisation twice",
        normalise_twice,
        also_ok=("inputs_not_normalized",),
    ),
    Operator(
        "val_unnormalized",
        "val_transform_mismatch",
        "normalise the training inputs but not the validation ones",
        remove_val_normalisation,
    ),
    Operator(
        "sorted_unshuffled",
        "data_not_shuffled",
        "training data sorted by class and never shuffled",
        after_split(SORT, shuffle_off=True),
        needs=CLASSIFY,
    ),
    Operator(
        "labels_shuffled_apart",
        "labels_misaligned",
        "training labels permuted apart from their inputs",
        after_split(MISALIGN),
        also_ok=("label_noise",),
    ),
    Operator(
        "label_noise_40",
        "label_noise",
        "40 % of training labels replaced by other rows' labels",
        after_split(NOISE),
        also_ok=("labels_misaligned",),
    ),
    Operator(
        "class_cut_5pct",
        "class_imbalance",
        "class 1 cut to 5 % of its training rows",
        after_split(CUT),
        needs=CLASSIFY,
    ),
    Operator(
        "val_rows_in_train",
        "train_val_leakage",
        "the validation rows appended to the training set",
        after_split(LEAK),
        kills=INFLATED,
    ),
    Operator(
        "nan_inputs",
        "nan_in_data",
        "NaN in one feature of three training rows",
        after_split(NAN),
        needs=frozenset({"float_inputs"}),
    ),
    Operator(
        "float_labels",
        "label_dtype",
        "class labels cast to float32",
        after_split(FLOAT_LABELS),
        needs=CLASSIFY,
        kills=LOUD,
    ),
    Operator(
        "labels_shifted",
        "label_out_of_range",
        "training labels shifted by one (1-based classes)",
        after_split(SHIFT),
        needs=CLASSIFY,
        kills=LOUD,
    ),
]
