"""Edits of the training loop's bookkeeping: ``zero_grad``, ``step``, ``train()`` and ``eval()``.

Each starts from the calls the run recorded (``backward``, ``step``, the forwards) and adds or
moves one line beside them, indented like its neighbours, naming the optimizer and the model the
way the code there names them.
"""

from __future__ import annotations

import ast

from diagnose.patch.context import Change, Context, model_name
from diagnose.patch.source import NoEdit, SourceFile

LOOPS = (ast.For, ast.AsyncFor, ast.While)
BLOCKS = ("body", "orelse", "finalbody", "handlers")


def insert_zero_grad(ctx: Context) -> list[Change]:
    """Clear the gradients once per step: above ``backward()`` when it sits beside ``step()`` in one
    block, else right after ``step()`` (which also keeps an accumulation loop accumulating)."""
    source, step = ctx.call("step")
    optimizer = stepped_optimizer(ctx, source, step)
    step_stmt = source.statement(step)
    code = f"{optimizer}.zero_grad()"
    back_source, backward = ctx.statement("backward")
    if (
        back_source is source
        and siblings(source, backward, step_stmt)
        and backward.lineno < step_stmt.lineno
    ):
        return [
            Change(
                source,
                source.insert_before(backward, code),
                f"`{code}` added before line {backward.lineno}",
            )
        ]
    return [
        Change(
            source,
            source.insert_after(step_stmt, code),
            f"`{code}` added after line {step_stmt.end_lineno}",
        )
    ]


def move_zero_grad(ctx: Context) -> list[Change]:
    """``zero_grad()`` moved from between ``backward()`` and ``step()`` to above ``backward()``."""
    source, clear = ctx.statement("zero_grad")
    back_source, backward = ctx.statement("backward")
    if (
        back_source is not source
        or source.scope(clear) is not source.scope(backward)
        or clear.lineno != clear.end_lineno
    ):
        raise NoEdit("zero_grad() and backward() are not in one function")
    text = source.statement_text(clear)
    return [
        Change(source, source.delete(clear), f"`{text}` removed from line {clear.lineno}"),
        Change(
            source,
            source.insert_before(backward, text),
            f"`{text}` added before line {backward.lineno}",
        ),
    ]


def insert_step(ctx: Context) -> list[Change]:
    """``optimizer.step()`` right after ``backward()``."""
    source, backward = ctx.statement("backward")
    code = f"{visible_optimizer(ctx, source, backward)}.step()"
    return [
        Change(
            source,
            source.insert_after(backward, code),
            f"`{code}` added after line {backward.end_lineno}",
        )
    ]


def restore_train_mode(ctx: Context) -> list[Change]:
    """``model.train()`` before the training batches, named as the training forward names it."""
    return [train_mode_change(ctx)]


def eval_for_validation(ctx: Context) -> list[Change]:
    """``model.eval()`` before the validation block (the outermost block around the validation
    forward that holds no training), and ``model.train()`` back before the training batches when
    the loop does not call it already."""
    source, call = ctx.call("eval_forward")
    model = model_name(source, call)
    target = source.statement(call)
    training = _training_statement(ctx, source)
    for node in source.ancestors(target):
        if not isinstance(node, ast.stmt) or isinstance(
            node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
        ):
            break
        if training is not None and source.contains(node, training):
            break
        target = node
    changes = [
        Change(
            source,
            source.insert_before(target, f"{model}.eval()"),
            f"`{model}.eval()` added before line {target.lineno}",
        )
    ]
    train_source, forward = ctx.statement("forward")
    if not _calls_train(train_source, forward):
        changes.append(train_mode_change(ctx))
    return changes


def train_mode_change(ctx: Context) -> Change:
    """``model.train()`` above the loop over training batches, or at the top of its body when that
    loop also runs the validation (or above the forward when no loop holds it in its function)."""
    source, call = ctx.call("forward")
    code = f"{model_name(source, call)}.train()"
    forward = source.statement(call)
    loop = innermost_loop(source, forward)
    if loop is None:
        return Change(
            source,
            source.insert_before(forward, code),
            f"`{code}` added before line {forward.lineno}",
        )
    evaluation = ctx.line("eval")
    if (
        evaluation is not None
        and ctx.project.file(evaluation.file) is source
        and loop.lineno <= evaluation.line <= loop.end_lineno
    ):  # type: ignore[operator]
        first = loop.body[0]
        return Change(
            source, source.insert_before(first, code), f"`{code}` added before line {first.lineno}"
        )
    return Change(
        source, source.insert_before(loop, code), f"`{code}` added before line {loop.lineno}"
    )


def innermost_loop(source: SourceFile, node: ast.AST) -> ast.stmt | None:
    scope = source.scope(node)
    for ancestor in source.ancestors(node):
        if ancestor is scope:
            return None
        if isinstance(ancestor, LOOPS):
            return ancestor  # type: ignore[return-value]
    return None


def _training_statement(ctx: Context, source: SourceFile) -> ast.stmt | None:
    try:
        train_source, forward = ctx.statement("forward")
    except NoEdit:
        return None
    return forward if train_source is source else None


def _calls_train(source: SourceFile, forward: ast.stmt) -> bool:
    """Does the loop around the training forward (its function when no loop) call ``.train()``?"""
    outer = [
        a
        for a in source.ancestors(forward)
        if isinstance(a, LOOPS) and source.scope(a) is source.scope(forward)
    ]
    region = outer[-1] if outer else source.scope(forward)
    return any(
        isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "train"
        for n in ast.walk(region)
    )


def siblings(source: SourceFile, first: ast.stmt, second: ast.stmt) -> bool:
    """Both in the same block (the same body list of the same statement)."""
    parent = source.parents.get(first)
    return parent is source.parents.get(second) and any(
        first in block and second in block
        for name in BLOCKS
        if isinstance(block := getattr(parent, name, None), list)
    )


def optimizer_name(ctx: Context) -> tuple[SourceFile, ast.stmt, str]:
    """The name the optimizer is assigned to where it is built (``optimizer``, ``self.opt``)."""
    if (
        ctx.run.optimizer
        and ctx.run.optimizer.optimizers
        and ctx.run.optimizer.optimizers[0].cls == "HandUpdate"
    ):
        raise NoEdit("the update is written by hand (no torch optimizer)")
    source, call = ctx.call("optimizer")
    stmt = source.statement(call)
    if (
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and stmt.value is call
        and isinstance(stmt.targets[0], (ast.Name, ast.Attribute))
    ):
        return source, stmt, source.segment(stmt.targets[0])
    raise NoEdit(
        f"the optimizer built at {source.path.name}:{call.lineno} is not assigned to a name"
    )


def stepped_optimizer(ctx: Context, source: SourceFile, step: ast.Call) -> str:
    """The optimizer ``step`` steps: its receiver, or its argument in ``scaler.step(optimizer)``."""
    if not isinstance(step.func, ast.Attribute) or step.func.attr != "step":
        raise NoEdit("the update is not an optimizer.step() call")
    if len(step.args) == 1:
        try:
            name = optimizer_name(ctx)[2]
        except NoEdit:
            name = ""
        if source.segment(step.args[0]) == name:
            return name
    return source.segment(step.func.value)


def visible_optimizer(ctx: Context, source: SourceFile, where: ast.stmt) -> str:
    """The optimizer's name, when that name means the optimizer at ``where`` too."""
    opt_source, stmt, name = optimizer_name(ctx)
    scope = opt_source.scope(stmt)
    same_class = (
        name.startswith("self.")
        and opt_source is source
        and opt_source.enclosing_class(stmt) is source.enclosing_class(where) is not None
    )
    if opt_source is source and (
        scope is source.tree or scope is source.scope(where) or same_class
    ):
        return name
    raise NoEdit(f"the optimizer ({name}) is not visible at {source.path.name}:{where.lineno}")
