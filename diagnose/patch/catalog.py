"""Source edits by name. A cause names its edit in the rule files (``patch: insert_zero_grad``)."""

from __future__ import annotations

from collections.abc import Callable

from diagnose.patch import data, hyper, loop, loss, params
from diagnose.patch.context import Change, Context

EditMaker = Callable[[Context], list[Change]]

EDITS: dict[str, EditMaker] = {
    "insert_zero_grad": loop.insert_zero_grad,
    "move_zero_grad": loop.move_zero_grad,
    "insert_step": loop.insert_step,
    "restore_train_mode": loop.restore_train_mode,
    "eval_for_validation": loop.eval_for_validation,
    "logits_into_loss": loss.logits_into_loss,
    "mean_reduction": loss.mean_reduction,
    "lower_lr": lambda ctx: hyper.set_lr(ctx, "lower_lr"),
    "raise_lr": lambda ctx: hyper.set_lr(ctx, "raise_lr"),
    "lower_dropout": hyper.lower_dropout,
    "shuffle": data.shuffle,
    "standardize_inputs": data.standardize_inputs,
    "drop_normalize": data.drop_normalize,
    "reconnect_graph": params.reconnect_graph,
    "train_all_parameters": params.train_all_parameters,
    "register_submodules": params.register_submodules,
}
