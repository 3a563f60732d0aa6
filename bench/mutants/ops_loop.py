"""Loop-bookkeeping operators: the faults that only a hand-written PyTorch loop can have."""

from __future__ import annotations

import ast
import copy

from . import sites
from .astkit import call_statements, calls, import_name, insert, leaf, locate, remove, source
from .operators import Operator


def _remove_all(tree: ast.Module, found: list[ast.Expr]) -> bool:
    for stmt in found:
        remove(tree, stmt)
    return bool(found)


def remove_zero_grad(tree: ast.Module) -> bool:
    return _remove_all(tree, call_statements(tree, "zero_grad"))


def zero_grad_before_step(tree: ast.Module) -> bool:
    """Move `zero_grad()` from before the forward pass to between `backward()` and `step()`."""
    step, found = sites.step_after_backward(tree), call_statements(tree, "zero_grad")
    if step is None or not found:
        return False
    moved = copy.deepcopy(found[0])
    for stmt in found:
        remove(tree, stmt)
    block, index = locate(tree, step)
    block.insert(index, moved)
    return True


def remove_step(tree: ast.Module) -> bool:
    step = sites.step_after_backward(tree)
    if step is not None:
        remove(tree, step)
    return step is not None


def _mode_calls(tree: ast.Module, mode: str) -> list[ast.Expr]:
    """`x.train()` / `x.eval()` statements (`train(True)` too), on receivers that call both."""
    other = "eval" if mode == "train" else "train"
    receivers = {source(s.value.func.value) for s in call_statements(tree, other)}
    return [
        s
        for s in call_statements(tree, mode)
        if source(s.value.func.value) in receivers
        and all(isinstance(a, ast.Constant) and a.value is True for a in s.value.args)
    ]


def remove_train(tree: ast.Module) -> bool:
    return _remove_all(tree, _mode_calls(tree, "train"))


def remove_eval(tree: ast.Module) -> bool:
    return _remove_all(tree, _mode_calls(tree, "eval"))


def detach_features(tree: ast.Module) -> bool:
    """`return self.head(features)` -> `return self.head(features.detach())` in `forward`."""
    found = sites.forward_returns(tree)
    for _, ret in found:
        ret.value.args[0] = ast.Call(ast.Attribute(ret.value.args[0], "detach", ast.Load()), [], [])
    return bool(found)


def no_grad_features(tree: ast.Module) -> bool:
    """Run everything before the head of the model's forward under `torch.no_grad()`."""
    found = [
        f
        for f, _ in sites.forward_returns(tree)
        if [s for s in f.body[:-1] if not _is_docstring(s)]
    ]
    if not found:
        return False
    torch = import_name(tree, "torch")
    for forward in found:
        start = 1 if _is_docstring(forward.body[0]) else 0
        wrapped = ast.parse(f"with {torch}.no_grad():\n    pass").body[0]
        wrapped.body = forward.body[start:-1]
        forward.body[start:-1] = [wrapped]
    return True


def _is_docstring(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Constant)
        and isinstance(stmt.value.value, str)
    )


def freeze_layers(tree: ast.Module) -> bool:
    """`requires_grad_(False)` on every layer but the last, before the optimizer is built."""
    found = sites.model_sites(tree)
    for call, model in found:
        insert(
            tree,
            call,
            f"for p in list({source(model)}.parameters())[:-2]:\n    p.requires_grad_(False)",
        )
    return bool(found)


def plain_list_layers(tree: ast.Module) -> bool:
    """`nn.ModuleList([...])` -> `list([...])`: the layers are no longer registered."""
    found = calls(tree, "ModuleList", "ModuleDict")
    for call in found:
        call.func = ast.Name("list" if leaf(call.func) == "ModuleList" else "dict", ast.Load())
    return bool(found)


OPERATORS = [
    Operator(
        "remove_zero_grad", "missing_zero_grad", "delete every zero_grad() call", remove_zero_grad
    ),
    Operator(
        "zero_grad_after_backward",
        "zero_grad_before_step",
        "move zero_grad() between backward() and step()",
        zero_grad_before_step,
    ),
    Operator(
        "remove_step", "optimizer_step_missing", "delete the optimizer's step() call", remove_step
    ),
    Operator(
        "remove_train_mode",
        "train_mode_not_restored",
        "delete model.train(), so training continues in eval mode after the first evaluation",
        remove_train,
    ),
    Operator(
        "remove_eval_mode",
        "eval_mode_missing",
        "delete model.eval() before validation",
        remove_eval,
    ),
    Operator(
        "detach_features",
        "detached_graph",
        "detach the features before the model's head",
        detach_features,
        also_ok=("frozen_parameters",),
    ),
    Operator(
        "no_grad_features",
        "detached_graph",
        "compute the features before the head under torch.no_grad()",
        no_grad_features,
        also_ok=("frozen_parameters",),
    ),
    Operator(
        "freeze_layers",
        "frozen_parameters",
        "requires_grad_(False) on every layer but the last",
        freeze_layers,
        also_ok=("detached_graph",),
    ),
    Operator(
        "plain_list_layers",
        "unregistered_submodules",
        "keep sub-modules in a plain list, not nn.ModuleList",
        plain_list_layers,
        also_ok=("frozen_parameters",),
    ),
]
