"""Benign operators on the training step: what people add around it that must not change a
diagnosis.

Augmentation of the training batch, gradient clipping, gradient accumulation, a learning-rate
schedule with warm-up, a schedule stepped every epoch. Loops run by a framework (Lightning, the
Hugging Face Trainer) get the framework's own switch where it has one.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from . import loops, sites
from .astkit import (
    calls,
    enclosing_function,
    import_name,
    insert,
    leaf,
    locate,
    remove,
    set_keyword,
    source,
)


def fresh(tree: ast.AST, base: str) -> str:
    """`base`, or `base_2`, ... : a name the module does not use yet."""
    used = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    used |= {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    name, k = base, 1
    while name in used:
        k += 1
        name = f"{base}_{k}"
    return name


def framework_setting(tree: ast.Module, settings: dict[str, tuple[str, object]]) -> bool:
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
        return framework_setting(tree, {"Trainer": ("gradient_clip_val", 1.0)})
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
        return framework_setting(
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
