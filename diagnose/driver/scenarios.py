"""The replays the agent can run: for each, the intervention it applies and its parameters, read
from the evidence gathered so far. Scenario names are the ones rules refer to (``needs`` and
``confirm``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from diagnose.defaults import SANE_LR
from diagnose.evidence import Evidence
from diagnose.rules.findings import NotEvaluated
from diagnose.rules.lr_range import lr_analysis

EXPERIMENT_STEPS = 150
# Memorizing one batch at the script's own learning rate (3e-4 for a small transformer) can take a
# few hundred steps; failing sooner would say little.
OVERFIT_STEPS = 300
REAL_BATCH = 32  # what a larger-batch replay trains on, the smallest batch the fix recommends
LR_RANGE_STEPS = 100
# A scenario whose parameters come from another one's result runs after it.
PREREQUISITES = {"lower_lr": "lr_range", "raise_lr": "lr_range", "label_control": "subset"}


@dataclass(frozen=True)
class Plan:
    name: str
    intervention: str
    steps: int
    purpose: str
    params: dict[str, Any] = field(default_factory=dict)
    from_start: bool = False


# Builds a scenario's plan from the evidence so far and the symptoms that fired in it (None: the
# scenario cannot apply to this run).
Builder = Callable[[Evidence, frozenset[str]], "Plan | None"]


def plan(name: str, evidence: Evidence, fired: frozenset[str]) -> Plan | None:
    """The plan for scenario ``name``, or None when it cannot apply to this run (yet). ``fired``:
    the symptoms the rule engine found in the evidence so far, which some fixes apply to."""
    builder = PLANS.get(name)
    needed = PREREQUISITES.get(name)
    if builder is None or (needed is not None and needed not in evidence.scenarios):
        return None
    return builder(evidence, fired)


def _fair_steps(evidence: Evidence) -> int:
    """A fix is judged over as many steps as the observed run made."""
    return evidence.observe.run.steps or 50


def _fix(
    intervention: str,
    purpose: str,
    applies: Callable[[Evidence], bool] | None = None,
    when_fired: str = "",
    **params: Any,
) -> Builder:
    """A fix replay; ``applies`` (or the symptom ``when_fired``) says whether the fix would change
    anything in this run (a fix that changes nothing cannot confirm or rule out anything, and costs
    a replay)."""

    def build(ev: Evidence, fired: frozenset[str]) -> Plan | None:
        if (applies is not None and not applies(ev)) or (when_fired and when_fired not in fired):
            return None
        return Plan(intervention, intervention, _fair_steps(ev), purpose, params)

    return build


def _has_dropout(ev: Evidence) -> bool:
    return bool(
        ev.observe.model and ev.observe.model.dropout and max(ev.observe.model.dropout) > 0.2
    )


def _probabilities_into_loss(ev: Evidence) -> bool:
    loss, graph = ev.observe.loss, ev.observe.graph
    return bool((loss and loss.probability_inputs) or (graph and graph.softmax_into_log_softmax))


def _decays_weights(ev: Evidence) -> bool:
    optimizer = ev.observe.optimizer
    return bool(optimizer and any(o.weight_decay for o in optimizer.optimizers))


def _schedules_lr(ev: Evidence) -> bool:
    values = [v for v in (ev.observe.optimizer.lr_values if ev.observe.optimizer else []) if v > 0]
    return bool(values) and max(values) > 1.01 * min(values)


def _leaves_gradients(ev: Evidence) -> bool:
    book = ev.observe.bookkeeping
    return bool(book and (book.stale_steps or book.zero_grad_calls < book.steps))


def _leaves_params_untrained(ev: Evidence) -> bool:
    optimizer, model = ev.observe.optimizer, ev.observe.model
    untrained = optimizer is not None and optimizer.model_params_optimized < optimizer.model_params
    return bool(untrained or (model and model.trainable < model.params))


def _trains_in_eval_mode(ev: Evidence) -> bool:
    return bool(ev.observe.bookkeeping and ev.observe.bookkeeping.backward_in_eval_mode)


def _may_read_in_order(ev: Evidence) -> bool:
    """Shuffling can only change a run whose training batches may come in a fixed order: not one
    whose every training DataLoader already draws them at random (batches built by hand may)."""
    loaders = [
        loader
        for loader in (ev.observe.data.loaders if ev.observe.data else [])
        if loader.role == "train"
    ]
    return not loaders or any(loader.sampler != "RandomSampler" for loader in loaders)


def _saw_nonfinite(ev: Evidence) -> bool:
    run, data = ev.observe, ev.observe.data
    tensors = [t for t in ((data.inputs, data.targets) if data else ()) if t is not None]
    return bool(
        (run.loss and run.loss.first_nonfinite_step is not None)
        or any(t.nan or t.inf for t in tensors)
    )


def _experiment(
    name: str, intervention: str, run_steps: int, purpose: str, **params: Any
) -> Builder:
    return lambda ev, fired: Plan(name, intervention, run_steps, purpose, params)


def _scaled_lr(direction: str) -> Builder:
    def build(ev: Evidence, fired: frozenset[str]) -> Plan:
        factor: float | None
        try:
            lr = lr_analysis(ev)
            factor = lr.suggested_lr / lr.user_lr
        except NotEvaluated:
            factor = _typical_lr(ev)
        if factor is None or (factor >= 1) != (direction == "raise"):
            factor = 10.0 if direction == "raise" else 0.1
        name = f"{direction}_lr"
        return Plan(
            name,
            "scale_lr",
            _fair_steps(ev),
            f"{direction} the learning rate {factor:.3g}x",
            {"factor": factor},
        )

    return build


def _typical_lr(ev: Evidence) -> float | None:
    optimizers = ev.observe.optimizer.optimizers if ev.observe.optimizer else []
    if not optimizers or not optimizers[0].lr or optimizers[0].cls not in SANE_LR:
        return None
    return SANE_LR[optimizers[0].cls] / optimizers[0].lr


def _standardize(ev: Evidence, fired: frozenset[str]) -> Plan | None:
    inputs = ev.observe.data.inputs if ev.observe.data else None
    if inputs is None or inputs.mean is None or not inputs.std:
        return None
    usable = inputs.feature_std and min(inputs.feature_std) > 0
    mean = inputs.feature_mean if usable else [inputs.mean]
    std = inputs.feature_std if usable else [inputs.std]
    return Plan(
        "standardize_inputs",
        "standardize_inputs",
        _fair_steps(ev),
        "standardize the inputs with the training data's statistics",
        {"mean": mean, "std": std},
    )


def _class_weights(ev: Evidence, fired: frozenset[str]) -> Plan | None:
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    if len(counts) < 2:
        return None
    total, classes = sum(counts.values()), max(counts) + 1
    if ev.observe.loss and ev.observe.loss.kind == "binary_cross_entropy_with_logits":
        params: dict[str, Any] = {"pos_weight": counts.get(0, 1) / max(counts.get(1, 1), 1)}
    else:
        params = {
            "weights": [
                total / (classes * counts[c]) if counts.get(c) else 1.0 for c in range(classes)
            ]
        }
    return Plan(
        "class_weights",
        "class_weights",
        _fair_steps(ev),
        "weight the loss by inverse class frequency",
        params,
    )


def _batches_smaller_than_real(ev: Evidence) -> bool:
    """A training DataLoader (the replay can resample it) with batches smaller than REAL_BATCH."""
    loaders = ev.observe.data.loaders if ev.observe.data else []
    return any(
        loader.role == "train"
        and loader.batch_size
        and loader.batch_size < REAL_BATCH
        and (loader.dataset_size or 0) >= REAL_BATCH
        for loader in loaders
    )


def _insert_activation(ev: Evidence, fired: frozenset[str]) -> Plan | None:
    chains = ev.observe.model.linear_chains if ev.observe.model else []
    layers = list(dict.fromkeys(first for first, _ in chains))
    if not layers:
        return None
    return Plan(
        "insert_activation",
        "insert_activation",
        _fair_steps(ev),
        "put a ReLU after each linear layer that feeds another one",
        {"layers": layers},
    )


PLANS: dict[str, Builder] = {
    "overfit_loop": _experiment(
        "overfit_loop",
        "fixed_batches",
        OVERFIT_STEPS,
        "can the script's own loop memorize one batch?",
        count=1,
    ),
    "overfit_isolated": _experiment(
        "overfit_isolated",
        "isolated_overfit",
        1,
        "can a fresh copy of the model and loss memorize that batch?",
        steps=EXPERIMENT_STEPS,
    ),
    "lr_range": _experiment(
        "lr_range",
        "lr_range",
        LR_RANGE_STEPS + 10,
        "which learning rates make the loss fall, and where it diverges",
        steps=LR_RANGE_STEPS,
    ),
    "subset": _experiment(
        "subset",
        "fixed_batches",
        EXPERIMENT_STEPS,
        "how fast 4 fixed batches are learned with their true labels",
        count=4,
    ),
    "label_control": _experiment(
        "label_control",
        "fixed_batches",
        EXPERIMENT_STEPS,
        "the same 4 batches with their labels shuffled",
        count=4,
        permute=True,
    ),
    "gradcheck": _experiment(
        "gradcheck",
        "gradcheck",
        1,
        "compare each custom autograd.Function's backward with finite differences",
    ),
    "zeroed_input": lambda ev, fired: Plan(
        "zeroed_input",
        "zero_input",
        _fair_steps(ev),
        "does the loss change when the inputs are all zeros?",
    ),
    "lower_lr": _scaled_lr("lower"),
    "raise_lr": _scaled_lr("raise"),
    "standardize_inputs": _standardize,
    "class_weights": _class_weights,
    "insert_activation": _insert_activation,
    "clip_gradients": _fix("clip_gradients", "clip the gradient norm to 1", max_norm=1.0),
    "lower_dropout": _fix("lower_dropout", "lower dropout to p=0.2", _has_dropout, p=0.2),
    "insert_zero_grad": _fix(
        "insert_zero_grad", "clear the gradients before every backward", _leaves_gradients
    ),
    "force_train_mode": _fix(
        "force_train_mode",
        "force model.train() before every training forward",
        _trains_in_eval_mode,
    ),
    "nan_to_num": _fix("nan_to_num", "replace NaN/Inf in inputs and targets by 0", _saw_nonfinite),
    "logits_from_probabilities": _fix(
        "logits_from_probabilities",
        "give the loss log-probabilities instead of probabilities",
        _probabilities_into_loss,
    ),
    "rebind_optimizer": _fix(
        "rebind_optimizer",
        "rebuild the optimizer over all of the trained model's parameters",
        _leaves_params_untrained,
    ),
    "mean_reduction": _fix(
        "mean_reduction",
        "average the loss over the batch instead of summing it",
        when_fired="sum_reduction",
    ),
    "no_weight_decay": _fix("no_weight_decay", "train without weight decay", _decays_weights),
    "hold_lr": _fix("hold_lr", "hold the learning rate at its initial value", _schedules_lr),
    **{
        name: _fix(name, purpose)
        for name, purpose in {
            "move_zero_grad": "call zero_grad before backward instead of before step",
            "eval_for_validation": "force model.eval() for forward passes without gradients",
            "reinit": "re-initialise the layers with PyTorch's default init",
            "log_softmax_for_nll": "apply log_softmax before nll_loss",
            "stable_log": "clamp the input of torch.log away from 0",
            "reshape_target": "give the target the output's shape",
        }.items()
    },
    "shuffle": _fix("shuffle", "shuffle the training data every epoch", _may_read_in_order),
    "larger_batch": _fix(
        "larger_batch",
        f"train on random batches of {REAL_BATCH} samples",
        _batches_smaller_than_real,
        batch_size=REAL_BATCH,
    ),
    "cast_targets": lambda ev, fired: Plan(
        "cast_targets",
        "cast_targets",
        _fair_steps(ev),
        "cast the targets to the dtype the loss expects",
        from_start=True,
    ),
    "cast_inputs": lambda ev, fired: Plan(
        "cast_inputs",
        "cast_inputs",
        _fair_steps(ev),
        "cast the inputs to the model's dtype",
        from_start=True,
    ),
}
