"""Benign operators on the training loop: what people add around the step that must not change a
diagnosis.

Augmentation of the training batch, gradient clipping, gradient accumulation, a learning-rate
schedule with warm-up, an EMA of the weights for evaluation, early stopping on the validation
loss, a checkpoint every epoch, a progress bar, validation under `torch.inference_mode()`. Loops
run by a framework (Lightning, the Hugging Face Trainer) get the framework's own switch where it
has one.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from . import loops, sites
from .astkit import (
    calls,
    enclosing_function,
    expr,
    import_name,
    insert,
    leaf,
    locate,
    remove,
    set_keyword,
    source,
)

EMA_DECAY = 0.95  # the runs are short (hundreds of steps): a longer average would lag behind
PATIENCE = 3


def fresh(tree: ast.AST, base: str) -> str:
    """`base`, or `base_2`, ... : a name the module does not use yet."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    return name


def _framework_setting(tree: ast.Module, settings: dict[str, tuple[str, object]]) -> bool:
    """Set a keyword on a framework's trainer call: {callee: (keyword, value)}."""
    changed = False
    for callee, (name, value) in settings.items():
        for call in calls(tree, callee):
            if callee == "Trainer" and not any(k.arg == "max_epochs" for k in call.keywords):
                continue  # the Hugging Face Trainer takes its settings from TrainingArguments
            set_keyword(call, name, ast.Constant(value))
            changed = True
    return changed


def augment(template: str) -> Callable[[ast.Module], bool]:
    """Insert an augmentation of the training inputs (`{x}`, torch as `{torch}`) at the top of
    the batch loop, so validation inputs stay as they are."""

    def mutate(tree: ast.Module) -> bool:
        loop = loops.training_loop(tree)
        inputs = loops.loop_inputs(loop) if loop else None
        if inputs is None:
            return False
        code = template.format(x=inputs, torch=import_name(tree, "torch"))
        first = loop.body[0]
        drawn = isinstance(first, ast.Assign) and isinstance(first.value, ast.Call)
        at = 1 if drawn and leaf(first.value.func) == "next" else 0
        loop.body[at:at] = ast.parse(code).body
        return True

    return mutate


NOISE = "{x} = {x} + 0.05 * {torch}.randn_like({x})"
FLIP = "if {torch}.rand(()) < 0.5:\n    {x} = {torch}.flip({x}, dims=[-1])"


def grad_clip(tree: ast.Module) -> bool:
    """`clip_grad_norm_(..., 1.0)` between `backward()` and `step()` (Lightning:
    `gradient_clip_val=1.0`)."""
    if calls(tree, "clip_grad_norm_", "clip_grad_value_"):
        return False
    step = sites.step_after_backward(tree)
    if step is None:
        return _framework_setting(tree, {"Trainer": ("gradient_clip_val", 1.0)})
    torch = import_name(tree, "torch")
    scope = enclosing_function(tree, step) or tree
    model = loops.trained_model(tree, scope)
    optimizer = source(step.value.func.value)
    params = (
        f"{model}.parameters()"
        if model
        else f"[p for group in {optimizer}.param_groups for p in group['params']]"
    )
    insert(tree, step, f"{torch}.nn.utils.clip_grad_norm_({params}, 1.0)")
    return True


def grad_accumulation(tree: ast.Module) -> bool:
    """Gradients accumulated over 2 batches: the loss halved, the step and `zero_grad()` every
    second batch (Lightning: `accumulate_grad_batches=2`; Hugging Face:
    `gradient_accumulation_steps=2`)."""
    step, loop = sites.step_after_backward(tree), loops.training_loop(tree)
    if step is None or loop is None:
        return _framework_setting(
            tree,
            {
                "Trainer": ("accumulate_grad_batches", 2),
                "TrainingArguments": ("gradient_accumulation_steps", 2),
            },
        )
    backs = sites.backward_statements(loop)
    zeros = [
        s
        for s in ast.walk(loop)
        if isinstance(s, ast.Expr)
        and isinstance(s.value, ast.Call)
        and leaf(s.value.func) == "zero_grad"
    ]
    if len(backs) != 1 or not zeros or step not in loop.body:
        return False
    back = backs[0].value
    back.func.value = ast.BinOp(back.func.value, ast.Div(), ast.Constant(2))
    for stmt in zeros:
        remove(tree, stmt)
    index = fresh(tree, "micro_step")
    loop.target = ast.Tuple([ast.Name(index, ast.Store()), loop.target], ast.Store())
    loop.iter = ast.Call(ast.Name("enumerate", ast.Load()), [loop.iter], [])
    block, at = locate(tree, step)
    gated = ast.parse(f"if ({index} + 1) % 2 == 0:\n    pass").body[0]
    gated.body = [step, copy.deepcopy(zeros[0])]
    block[at] = gated
    return True


WARMUP_COSINE = (
    "{name} = {torch}.optim.lr_scheduler.LambdaLR({opt}, lambda step: min(1.0, (step + 1) / 10)"
    " * (0.55 + 0.45 * {math}.cos({math}.pi * min(step, 500) / 500)))"
)


def warmup_cosine(tree: ast.Module) -> bool:
    """A schedule stepped every batch: linear warm-up over 10 steps, then a cosine decay to 10 %
    of the learning rate over 500 steps."""
    step = sites.step_after_backward(tree)
    owner = sites.assigned_optimizer(tree, step)
    if owner is None:
        return False
    name = _scheduler_name(tree, owner)
    code = WARMUP_COSINE.format(
        name=name,
        torch=import_name(tree, "torch"),
        math=import_name(tree, "math"),
        opt=source(owner.targets[0]),
    )
    insert(tree, owner, code, after=True)
    insert(tree, step, f"{name}.step()", after=True)
    return True


def step_schedule(tree: ast.Module) -> bool:
    """`StepLR(step_size=3, gamma=0.5)` stepped once per epoch, after the batch loop."""
    step, loop = sites.step_after_backward(tree), loops.training_loop(tree)
    owner = sites.assigned_optimizer(tree, step)
    if owner is None or loop is None or loops.epoch_loop(tree, loop) is None:
        return False
    name = _scheduler_name(tree, owner)
    torch = import_name(tree, "torch")
    optimizer = source(owner.targets[0])
    code = f"{name} = {torch}.optim.lr_scheduler.StepLR({optimizer}, step_size=3, gamma=0.5)"
    insert(tree, owner, code, after=True)
    insert(tree, loop, f"{name}.step()", after=True)
    return True


def _scheduler_name(tree: ast.Module, owner: ast.Assign) -> str:
    target = source(owner.targets[0])
    holder = target.rsplit(".", 1)[0] + "." if "." in target else ""
    return holder + fresh(tree, "scheduler")


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
        return _framework_setting(
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
