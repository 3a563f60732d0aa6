"""Optimisation operators: learning rate, schedule, weight decay, batch size and initialisation."""

from __future__ import annotations

import ast
from collections.abc import Callable

from . import sites
from .astkit import calls, import_name, insert, keyword, leaf, set_keyword, source
from .operators import Operator

LR_NAMES = {"lr", "learning_rate"}
DECAY_NAMES = {"weight_decay", "wd"}
BATCH_NAMES = {"batch_size", "per_device_train_batch_size", "micro_batch", "bs"}


def _scale(found: list[ast.Constant], factor: float) -> bool:
    for node in found:
        node.value = float(f"{node.value * factor:.3g}")
    return bool(found)


def scale_lr(factor: float) -> Callable[[ast.Module], bool]:
    def mutate(tree: ast.Module) -> bool:
        return _scale(sites.hyper_constants(tree, lambda name: name.lower() in LR_NAMES), factor)

    return mutate


def huge_weight_decay(tree: ast.Module) -> bool:
    """Weight decay x1000; where the optimizer sets none, 1.0 (x1000 a typical 1e-3)."""
    if _scale(sites.hyper_constants(tree, lambda name: name.lower() in DECAY_NAMES), 1000):
        return True
    found = [c for c in sites.optimizer_calls(tree) if keyword(c, "weight_decay") is None]
    for call in found:
        set_keyword(call, "weight_decay", ast.Constant(1.0))
    return bool(found)


def tiny_batches(tree: ast.Module) -> bool:
    """Training batches of 2 (validation loaders, which do not shuffle, keep theirs)."""
    shuffling = sites.shuffling_loaders(tree)
    evaluation = {
        id(k.value) for c in calls(tree, "DataLoader") if c not in shuffling for k in c.keywords
    }
    found = [
        c
        for c in sites.hyper_constants(tree, lambda name: name.lower() in BATCH_NAMES)
        if id(c) not in evaluation
    ]
    for node in found:
        node.value = 2
    return bool(found)


def per_step_decay(tree: ast.Module) -> bool:
    """An exponential LR schedule (gamma 0.9) stepped every batch: the LR is ~0 within 100 steps."""
    step = sites.step_after_backward(tree)
    owner = sites.assigned_optimizer(tree, step)
    if owner is None:
        return False
    torch, target = import_name(tree, "torch"), source(owner.targets[0])
    holder = target.rsplit(".", 1)[0] + "." if "." in target else ""
    name = holder + (
        "scheduler" if "scheduler" not in {leaf(n) for n in ast.walk(tree)} else "sched"
    )
    insert(
        tree,
        owner,
        f"{name} = {torch}.optim.lr_scheduler.ExponentialLR({target}, gamma=0.9)",
        after=True,
    )
    insert(tree, step, f"{name}.step()", after=True)
    return True


def initialise(template: str) -> Callable[[ast.Module], bool]:
    """Re-initialise the model's parameters with `template` just before the optimizer is built."""

    def mutate(tree: ast.Module) -> bool:
        found = sites.model_sites(tree)
        torch = import_name(tree, "torch") if found else "torch"
        for call, model in found:
            insert(tree, call, template.format(model=source(model), torch=torch))
        return bool(found)

    return mutate


ZEROS = "for p in {model}.parameters():\n    {torch}.nn.init.zeros_(p)"
CONSTANT = "for p in {model}.parameters():\n    {torch}.nn.init.constant_(p, 0.05)"
SCALED = (
    "with {torch}.no_grad():\n    for p in {model}.parameters():\n        if p.dim() > 1:\n"
    "            p.mul_(%s)"
)

OPERATORS = [
    Operator(
        "lr_x100",
        "lr_too_high",
        "learning rate x100",
        scale_lr(100),
        also_ok=("exploding_gradients",),
    ),
    Operator("lr_div1000", "lr_too_low", "learning rate /1000", scale_lr(1e-3)),
    Operator(
        "per_step_decay",
        "lr_schedule_too_aggressive",
        "an exponential LR schedule (gamma 0.9) stepped every batch",
        per_step_decay,
        also_ok=("lr_too_low",),
    ),
    Operator(
        "weight_decay_x1000",
        "weight_decay_too_high",
        "weight decay x1000 (1.0 where none was set)",
        huge_weight_decay,
    ),
    Operator("batch_size_2", "batch_too_small", "training batches of 2 samples", tiny_batches),
    Operator(
        "zero_init",
        "symmetric_init",
        "every parameter initialised to zero",
        initialise(ZEROS),
        also_ok=("dead_relu", "vanishing_gradients"),
    ),
    Operator(
        "constant_init",
        "symmetric_init",
        "every parameter initialised to the same constant",
        initialise(CONSTANT),
        also_ok=("bad_init_scale",),
    ),
    Operator(
        "init_x10",
        "bad_init_scale",
        "weights initialised 10x too large",
        initialise(SCALED % "10.0"),
        also_ok=("exploding_gradients", "lr_too_high"),
    ),
    Operator(
        "init_div100",
        "bad_init_scale",
        "weights initialised 100x too small",
        initialise(SCALED % "0.01"),
        also_ok=("vanishing_gradients",),
    ),
]
