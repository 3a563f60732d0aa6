"""Where a script's training loop is: the batch loop, its inputs, the model it calls, its epochs.

The benign operators edit the loop the way people do (augment the batch, accumulate gradients,
checkpoint after each epoch), so they need to find it by pattern, as the mutation operators find
theirs in `sites.py`. Each finder returns None when the loop does not have the expected shape, and
the operator then makes no variant.
"""

from __future__ import annotations

import ast

from .astkit import enclosing_function, leaf, source
from .sites import backward_statements, model_sites


def training_loop(tree: ast.AST) -> ast.For | None:
    """The innermost `for` loop around the training step's `backward()`: the batch loop (or, in a
    full-batch script, the loop over epochs)."""
    for back in backward_statements(tree):
        loops = [
            n
            for n in ast.walk(tree)
            if isinstance(n, ast.For) and any(inner is back for inner in ast.walk(n))
        ]
        if loops:
            return min(loops, key=lambda n: sum(1 for _ in ast.walk(n)))
    return None


def loop_inputs(loop: ast.For) -> str | None:
    """The name the batch loop binds to its inputs: `xb` in `for xb, yb in loader`, in `for i, (xb,
    yb) in enumerate(loader)`, or in `xb, yb = next(batches)` at the top of the loop."""
    target = loop.target
    if isinstance(loop.iter, ast.Call) and leaf(loop.iter.func) == "enumerate":
        target = target.elts[1] if isinstance(target, ast.Tuple) and len(target.elts) == 2 else None
    elif not isinstance(target, ast.Tuple):
        first = loop.body[0]
        if not (
            isinstance(first, ast.Assign)
            and isinstance(first.value, ast.Call)
            and leaf(first.value.func) == "next"
        ):
            return None
        target = first.targets[0]
    if isinstance(target, ast.Tuple) and isinstance(target.elts[0], ast.Name):
        return target.elts[0].id
    return None


def trained_model(tree: ast.AST, scope: ast.AST) -> str | None:
    """The source of the model the optimizer trains, as it is called within `scope` (so a name
    that is in scope there): `model`, `self.net`, ..."""
    called = {source(c.func) for c in ast.walk(scope) if isinstance(c, ast.Call)}
    for _, model in model_sites(tree):
        if source(model) in called:
            return source(model)
    return None


def epoch_loop(tree: ast.AST, loop: ast.For) -> ast.AST | None:
    """What runs once per epoch around the batch loop: an enclosing loop in the same function, or
    the function itself when the batch loop is its own (`def train_one_epoch(...)`)."""
    function = enclosing_function(tree, loop)
    outer = [
        n
        for n in ast.walk(function or tree)
        if isinstance(n, (ast.For, ast.While))
        and n is not loop
        and any(inner is loop for inner in ast.walk(n))
        and enclosing_function(tree, n) is function
    ]
    if outer:
        return min(outer, key=lambda n: sum(1 for _ in ast.walk(n)))
    return function


def full_batch(loop: ast.For) -> bool:
    """A loop over `range(...)` whose iterations each see all the data: each is an epoch. (Not
    when it draws batches with `next()` or slices the data with its own variable.)"""
    if not (isinstance(loop.iter, ast.Call) and leaf(loop.iter.func) == "range"):
        return False
    var = loop.target.id if isinstance(loop.target, ast.Name) else None
    for node in ast.walk(loop):
        if isinstance(node, ast.Call) and leaf(node.func) == "next":
            return False
        if isinstance(node, ast.Subscript) and any(
            isinstance(n, ast.Name) and n.id == var for n in ast.walk(node.slice)
        ):
            return False
    return True
