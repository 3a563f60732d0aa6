"""Benign operators on evaluation and bookkeeping around the training loop.

An exponential moving average of the weights evaluated in place of the model, early stopping on
the validation loss, a checkpoint every epoch, a progress bar, validation under
`torch.inference_mode()`. Like the mutation operators, each finds its target by pattern and
returns False when the script has none; loops run by a framework get its own switch where it has
one.
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from . import loops, sites
from .astkit import enclosing_function, expr, import_name, insert, leaf, source
from .benign_loop import framework_setting, fresh

EMA_DECAY = 0.95  # the runs are short (hundreds of steps): a longer average would lag behind
PATIENCE = 3


def ema_for_evaluation(tree: ast.Module) -> bool:
    """An exponential moving average of the weights (`AveragedModel`), updated after every step
    and evaluated in place of the model wherever the script evaluates under `no_grad`."""
    step = sites.step_after_backward(tree)
    owner = sites.assigned_optimizer(tree, step)
    if owner is None:
        return False
    built_with = sites.model_of(owner.value)
    scope = enclosing_function(tree, step) or tree
    model = loops.trained_model(tree, scope)
    if built_with is None or model is None:
        return False
    holder = model.rsplit(".", 1)[0] + "." if model.startswith("self.") else ""
    ema = holder + fresh(tree, "ema")
    visible = tree if holder else (enclosing_function(tree, owner) or tree)
    evaluations = [
        c
        for block in _gradient_free(visible)
        for c in ast.walk(block)
        if isinstance(c, ast.Call) and source(c.func) == model
    ]
    if not evaluations:
        return False
    torch = import_name(tree, "torch")
    swa = f"{torch}.optim.swa_utils"
    insert(
        tree,
        owner,
        f"{ema} = {swa}.AveragedModel({source(built_with)}, multi_avg_fn="
        f"{swa}.get_ema_multi_avg_fn({EMA_DECAY}), use_buffers=True).eval()",
        after=True,
    )
    insert(tree, step, f"{ema}.update_parameters({model})", after=True)
    for call in evaluations:
        call.func = expr(ema)
    return True


def _gradient_free(scope: ast.AST) -> list[ast.With]:
    """`with torch.no_grad():` / `with torch.inference_mode():` blocks: where a script evaluates."""
    return [
        w
        for w in ast.walk(scope)
        if isinstance(w, ast.With)
        and any(
            isinstance(i.context_expr, ast.Call)
            and leaf(i.context_expr.func) in ("no_grad", "inference_mode")
            for i in w.items
        )
    ]


def early_stopping(tree: ast.Module) -> bool:
    """Stop when the validation loss has not improved for 3 epochs."""
    for epochs in ast.walk(tree):
        if not isinstance(epochs, ast.For):
            continue
        watched = _validation_loss(epochs)
        if watched is None:
            continue
        best, stale = fresh(tree, "best_val_loss"), fresh(tree, "stale_epochs")
        insert(tree, epochs, f"{best}, {stale} = float('inf'), 0")
        epochs.body += ast.parse(
            f"if {watched} < {best} - 0.0001:\n    {best}, {stale} = {watched}, 0\n"
            f"else:\n    {stale} += 1\n    if {stale} >= {PATIENCE}:\n        break"
        ).body
        return True
    return False


def _validation_loss(loop: ast.For) -> str | None:
    """A validation-loss variable the loop assigns in its own body (not in a nested loop or
    function), e.g. `val_loss, val_acc = evaluate(...)`."""
    stack, found = list(loop.body), None
    while stack:
        stmt = stack.pop(0)
        if isinstance(stmt, (ast.For, ast.While, ast.FunctionDef, ast.ClassDef)):
            continue
        if isinstance(stmt, (ast.Assign, ast.AugAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            for name in (n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)):
                if sites.is_val_name(name) and "loss" in sites.words(name):
                    found = name
        for field in ("body", "orelse", "finalbody"):
            stack += getattr(stmt, field, [])
    return found


def checkpoint(whole: bool) -> Callable[[ast.Module], bool]:
    """`torch.save` of the model (or of its state dict) at the end of every epoch."""

    def mutate(tree: ast.Module) -> bool:
        loop = loops.training_loop(tree)
        if loop is None:
            return False
        model = loops.trained_model(tree, enclosing_function(tree, loop) or tree)
        if model is None:
            return False
        saved = model if whole else f"{model}.state_dict()"
        code = f"{import_name(tree, 'torch')}.save({saved}, 'checkpoint.pt')"
        if loops.epoch_loop(tree, loop) is not None:
            insert(tree, loop, code, after=True)
        elif loops.full_batch(loop):
            loop.body += ast.parse(code).body
        else:
            return False
        return True

    return mutate


def progress_bar(tree: ast.Module) -> bool:
    """A tqdm progress bar over the training batches (Hugging Face: `disable_tqdm=False`;
    Lightning: `enable_progress_bar=True`)."""
    loop = loops.training_loop(tree)
    if loop is None:
        return framework_setting(
            tree,
            {
                "TrainingArguments": ("disable_tqdm", False),
                "Trainer": ("enable_progress_bar", True),
            },
        )
    if "tqdm" in source(loop.iter):
        return False
    tqdm = import_name(tree, "tqdm")
    enumerated = isinstance(loop.iter, ast.Call) and leaf(loop.iter.func) == "enumerate"
    wrapped = loop.iter.args if enumerated else None
    target = wrapped[0] if wrapped else loop.iter
    bar = expr(f"{tqdm}.tqdm(ITER, leave=False)")
    bar.args[0] = target
    if wrapped:
        wrapped[0] = bar
    else:
        loop.iter = bar
    return True


def inference_mode(tree: ast.Module) -> bool:
    """Evaluation under `torch.inference_mode()` instead of `torch.no_grad()` (blocks and
    decorators; blocks that update tensors in place, like hand-written SGD, keep no_grad)."""
    changed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.With):
            for item in node.items:
                ctx = item.context_expr
                if isinstance(ctx, ast.Call) and leaf(ctx.func) == "no_grad" and not _updates(node):
                    ctx.func = _renamed(ctx.func)
                    changed = True
        if isinstance(node, ast.FunctionDef):
            for k, deco in enumerate(node.decorator_list):
                no_grad = isinstance(deco, ast.Call) and leaf(deco.func) == "no_grad"
                if no_grad and not _updates(node):
                    node.decorator_list[k] = ast.Call(_renamed(deco.func), [], [])
                    changed = True
    return changed


def _renamed(func: ast.expr) -> ast.expr:
    return expr(source(func).rsplit("no_grad", 1)[0] + "inference_mode")


def _updates(node: ast.AST) -> bool:
    """Whether a block changes tensors in place: `p.data -= ...`, `w[...] += ...`, `p.mul_(...)`."""
    return any(
        (isinstance(n, ast.AugAssign) and not isinstance(n.target, ast.Name))
        or (isinstance(n, ast.Call) and leaf(n.func).endswith("_") and leaf(n.func)[:1] != "_")
        for n in ast.walk(node)
    )
