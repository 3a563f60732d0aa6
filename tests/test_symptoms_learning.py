"""Symptoms of learnability (rules/detect_learning.py: rules/learnability.yaml and the first loss
of optimization.yaml), each judged on hand-built evidence: it fires, and its near miss does not.

The near misses are what a healthy script shows: the unused pooler of a model, a frozen pretrained
backbone, a head trained alone, a sum divided by its token count, a binary head's single sigmoid,
a loss at the class entropy of imbalanced data rather than at ln 2."""

from __future__ import annotations

import math
from typing import Any

import pytest
from symptom_cases import Case, check, clear, curve, evidence, fires, fit, flat, unknown

from diagnose.evidence import Evidence
from diagnose.probes.sections import (
    ActivationSample,
    ActivationSection,
    ActivationStat,
    BookkeepingSection,
    DataSection,
    FitSection,
    GraphSection,
    InitLayer,
    InitSection,
    LossSection,
    MessagesSection,
    ModelSection,
    OptimizerInfo,
    OptimizerSection,
    TaskInfo,
    TensorSummary,
    WarningInfo,
)

# -- the autograd graph: does the loss reach what the optimizer updates? ----------------------


def reached(**fields: Any) -> Evidence:
    return evidence(graph=GraphSection(checked=3, **fields))


CASES: list[Case] = [
    fires(
        "a loss rebuilt as a new leaf tensor",
        "loss_disconnected",
        reached(trainable_params=4, params_reached=0),
        "backward() starts from a leaf tensor with no history; its graph reaches none of the "
        "model's 4 trainable parameter tensors",
    ),
    fires(
        "a loss computed from the detached output",
        "loss_disconnected",
        reached(trainable_params=4, params_reached=0, root_grad_fn="MseLossBackward0"),
        "backward() starts from a MseLossBackward0 node; its graph reaches none of the model's 4 "
        "trainable parameter tensors",
    ),
    clear(
        "the loss reaches part of the model",
        "loss_disconnected",
        reached(trainable_params=4, params_reached=3),
        "the loss reaches 3 of 4 parameter tensors",
    ),
    unknown(
        "no backward pass",
        "loss_disconnected",
        evidence(graph=GraphSection(checked=0, trainable_params=4)),
        "no backward pass through a model with trainable parameters was seen",
    ),
    fires(
        "a detach() before the head: 15% of the updated weights get no gradient",
        "loss_misses_updated_params",
        reached(
            trainable_params=6,
            params_reached=4,
            updated_elements=1000,
            updated_elements_reached=850,
            never_reached=["encoder.weight", "encoder.bias"],
        ),
        "no backward pass reaches 15.0% of the parameters the optimizer updates (encoder.weight, "
        "encoder.bias): their gradients stay empty, only the layers after the cut are trained",
    ),
    clear(
        "an unused pooler, 5% of the weights",
        "loss_misses_updated_params",
        reached(
            trainable_params=6,
            params_reached=5,
            updated_elements=1000,
            updated_elements_reached=950,
            never_reached=["pooler.weight"],
        ),
        "the loss reaches 95% of the updated parameters",
    ),
    unknown(
        "no backward pass reached the model",
        "loss_misses_updated_params",
        reached(trainable_params=6, params_reached=0, updated_elements=1000),
        "no backward pass reached the model's updated parameters",
    ),
    fires(
        "a hand-written autograd.Function",
        "custom_function_in_graph",
        reached(trainable_params=4, params_reached=4, custom_functions=["MyReLU", "RoundSTE"]),
        "the loss passes through hand-written autograd.Function(s): MyReLU, RoundSTE",
    ),
    clear(
        "only PyTorch's own operations",
        "custom_function_in_graph",
        reached(trainable_params=4, params_reached=4, ops={"ReluBackward0": 3}),
        "",
    ),
]

# -- the loop's bookkeeping: zero_grad, backward, step ----------------------------------------


def booked(**fields: Any) -> Evidence:
    return evidence(bookkeeping=BookkeepingSection(**fields))


def optimizer(cls: str = "SGD") -> OptimizerSection:
    return OptimizerSection(optimizers=[OptimizerInfo(cls, 0.1, 0.0, 0.0, 4)])


def stepped(cls: str = "SGD", **fields: Any) -> Evidence:
    return evidence(bookkeeping=BookkeepingSection(**fields), optimizer=optimizer(cls))


CASES += [
    fires(
        "nine in ten checked steps find every gradient empty",
        "grads_missing_at_step",
        booked(steps=200, steps_checked_for_grads=10, steps_without_grads=9),
        "9 of 10 optimizer steps checked found every gradient empty (None or zero)",
    ),
    clear(
        "eight in ten is not the loop's order",
        "grads_missing_at_step",
        booked(steps=200, steps_checked_for_grads=10, steps_without_grads=8),
        "80% of steps had no gradient",
    ),
    unknown(
        "three steps checked",
        "grads_missing_at_step",
        booked(steps=3, steps_checked_for_grads=3, steps_without_grads=3),
        "fewer than 4 optimizer steps checked",
    ),
    fires(
        "zero_grad() between backward() and step() at every step",
        "zero_grad_after_backward",
        booked(steps=20, zero_grad_between_backward_and_step=20),
        "in 20 of 20 steps zero_grad() ran after backward() and before step()",
    ),
    clear(
        "in fewer than half the steps",
        "zero_grad_after_backward",
        booked(steps=20, zero_grad_between_backward_and_step=9),
        "",
    ),
    unknown("no step", "zero_grad_after_backward", booked(steps=0), "no optimizer step"),
    fires(
        "fifty backward passes, no step",
        "optimizer_never_steps",
        stepped(backward_calls=50, steps=0),
        "50 backward passes ran but optimizer.step() was never called",
    ),
    clear(
        "nine micro-batches of an accumulation that had not stepped yet",
        "optimizer_never_steps",
        stepped(backward_calls=9, steps=0),
        "0 steps",
    ),
    clear(
        "a loop that steps",
        "optimizer_never_steps",
        stepped(backward_calls=200, steps=200),
        "200 steps",
    ),
    fires(
        "hand-written updates that rebind a name and change no weight",
        "optimizer_never_steps",
        stepped(
            "HandUpdate", backward_calls=60, steps_checked_for_change=6, steps_params_unchanged=6
        ),
        "60 backward passes ran with no optimizer, and none of the 6 updates checked changed the "
        "weights: the update never reaches the parameters",
    ),
    clear(
        "hand-written updates that change the weights",
        "optimizer_never_steps",
        stepped("HandUpdate", backward_calls=60, steps_checked_for_change=6),
        "the weights change at the hand-written updates",
    ),
    unknown(
        "four hand-written updates checked",
        "optimizer_never_steps",
        stepped(
            "HandUpdate", backward_calls=60, steps_checked_for_change=4, steps_params_unchanged=4
        ),
        "too few hand-written updates checked",
    ),
]

# -- what the optimizer holds, and what is frozen ---------------------------------------------


def holding(optimized: int, in_model: int, elsewhere: int = 0) -> Evidence:
    return evidence(
        optimizer=OptimizerSection(
            optimizers=optimizer().optimizers,
            model_params=10_000,
            model_params_trainable=10_000,
            model_params_optimized=optimized,
            optimized_params_in_model=in_model,
            optimized_params=in_model + elsewhere,
        )
    )


CASES += [
    fires(
        "an optimizer built for a model instance that was replaced",
        "optimizer_misses_model",
        holding(optimized=0, in_model=0, elsewhere=10_000),
        "the optimizer updates 0 of the trained model's 10,000 parameters; it holds 10,000 "
        "parameters of something else",
    ),
    clear(
        "an optimizer given only the head, 6% of the weights",
        "optimizer_misses_model",
        holding(optimized=600, in_model=600),
        "the optimizer holds 6% of the model's trainable parameters",
    ),
    unknown(
        "no optimizer",
        "optimizer_misses_model",
        evidence(optimizer=OptimizerSection(model_params_trainable=10_000)),
        "no optimizer, or a model without trainable parameters",
    ),
    fires(
        "0.5% of the parameters trainable",
        "params_mostly_frozen",
        evidence(model=ModelSection(params=1_000_000, trainable=5_000)),
        "only 5,000 of 1,000,000 parameters (0.5%) have requires_grad=True",
    ),
    clear(
        "a frozen backbone under a trained head, 6% of the weights",
        "params_mostly_frozen",
        evidence(model=ModelSection(params=1_000_000, trainable=60_000)),
        "6% of parameters are trainable",
    ),
    unknown(
        "a model without parameters",
        "params_mostly_frozen",
        evidence(model=ModelSection()),
        "the model has no parameters",
    ),
]

# A Linear(256, 256): PyTorch's default initialisation draws U(-1/sqrt(256), 1/sqrt(256)).
FAN_IN = 256
DEFAULT_STD, HE_STD = 1 / math.sqrt(3 * FAN_IN), math.sqrt(2 / FAN_IN)  # 0.0361, 0.0884


def weight(name: str, std: float, rows: int = FAN_IN, mean: float = 2e-4) -> InitLayer:
    """A (rows x 256) weight with these initial statistics, beside the scales initializers give."""
    glorot = math.sqrt(2 / (FAN_IN + rows))
    return InitLayer(
        name,
        [rows, FAN_IN],
        FAN_IN,
        rows,
        std,
        mean,
        DEFAULT_STD,
        HE_STD,
        glorot,
        constant=False,
        identical_rows=0.0,
        zero_fraction=0.0,
    )


def frozen(layers: list[InitLayer], final: dict[str, float], params: int) -> Evidence:
    """Layers frozen with these spreads at the end of a model of ``params`` parameters."""
    frozen_params = sum(math.prod(layer.shape) for layer in layers)
    return evidence(
        model=ModelSection(params=params, trainable=params - frozen_params, frozen_stds=final),
        init=InitSection(layers=layers),
    )


ENCODER = weight("encoder.weight", 0.0361)
BLOCKS = [weight(f"blocks.{i}.weight", 0.0361, rows=64) for i in range(4)]
CASES += [
    fires(
        "a frozen encoder straight from nn.Linear, 96% of the model",
        "frozen_at_init",
        # encoder 256x256 + bias 256 + a 10-class head 2,560 + 10
        frozen([ENCODER], {"encoder.weight": 0.0361}, params=65_536 + 256 + 2_560 + 10),
        "96% of the parameters (encoder.weight) have requires_grad=False yet hold freshly "
        "initialized random weights: they will never learn",
    ),
    fires(
        "four frozen random blocks, 80% of the model",
        "frozen_at_init",
        frozen(BLOCKS, {w.name: 0.0361 for w in BLOCKS}, params=81_920),  # 4 x 64 x 256 frozen
        "80% of the parameters (blocks.0.weight, blocks.1.weight, blocks.2.weight…) have "
        "requires_grad=False yet hold freshly initialized random weights: they will never learn",
    ),
    clear(
        "a frozen pretrained backbone: its spread is 20% off the nearest (Glorot's 0.0625)",
        "frozen_at_init",
        frozen([weight("encoder.weight", 0.05)], {"encoder.weight": 0.05}, params=68_362),
        "0% of the parameters are frozen at their initial values",
    ),
    clear(
        "a layer trained, then frozen: its spread moved",
        "frozen_at_init",
        frozen([ENCODER], {"encoder.weight": 0.04}, params=68_362),
        "0% of the parameters are frozen at their initial values",
    ),
    clear(
        "a fixed random projection, 10% of the model",
        "frozen_at_init",
        frozen([BLOCKS[0]], {"blocks.0.weight": 0.0361}, params=163_840),
        "10% of the parameters are frozen at their initial values",
    ),
    unknown(
        "no initial weights measured",
        "frozen_at_init",
        evidence(model=ModelSection(params=100, trainable=100), init=InitSection()),
        "no weight layers were seen at the start",
    ),
]

# -- the model's shape: bottlenecks, stacked linear layers, unregistered layers, dropout ------


def hidden(
    *stats: ActivationStat,
    kind: str,
    n_classes: int | None,
    outputs: int,
    init: InitSection | None = None,
) -> Evidence:
    return evidence(
        loss=LossSection(kind=kind, n_classes=n_classes, output_shape=[32, outputs]),
        activations=ActivationSection(samples=[ActivationSample(step=0, stats=list(stats))]),
        init=init,
    )


def activation(
    name: str, units: int, kind: str = "relu", dims: int = 2, cut: bool | None = True
) -> ActivationStat:
    """An activation; ``cut``: everything the model computes passes through it (no residual path
    or parallel branch around it), None when the graph was not checked."""
    return ActivationStat(name, kind, units, 0.5, 1.0, 0.4, 0.0, 0.0, 1.0, dims=dims, cut=cut)


def next_token_task(*stats: ActivationStat, vocabulary: int) -> Evidence:
    """A language model's activations, with the fit probe's task model saying next-token."""
    task = TaskInfo(kind="next_token", loss="cross_entropy", classes=vocabulary)
    return evidence(
        loss=LossSection(kind="cross_entropy", n_classes=vocabulary, output_shape=[32, vocabulary]),
        activations=ActivationSection(samples=[ActivationSample(step=0, stats=list(stats))]),
        fit=FitSection(task=task),
    )


GRU_STATE = InitSection(
    layers=[
        InitLayer("rnn.weight_hh_l0", [6, 2], 2, 6, 0.4, 0.0, 0.41, 1.0, 0.5, False, 0.0, 0.0),
    ]
)
CASES += [
    fires(
        "four units for ten classes",
        "narrow_hidden_layer",
        hidden(activation("fc1", 4), kind="cross_entropy", n_classes=10, outputs=10),
        "fc1 has 4 units for 10 classes, and everything the model computes passes through it: a "
        "bottleneck narrower than the output",
    ),
    fires(
        "a regression through one unit",
        "narrow_hidden_layer",
        hidden(activation("fc2", 1), kind="mse_loss", n_classes=None, outputs=1),
        "fc2 has only 1 unit, and everything the model computes passes through it",
    ),
    fires(
        "a recurrent state of two units",
        "narrow_hidden_layer",
        hidden(
            activation("fc", 32),
            kind="binary_cross_entropy_with_logits",
            n_classes=2,
            outputs=1,
            init=GRU_STATE,
        ),
        "rnn.weight_hh_l0 has only 2 units, and everything the model computes passes through it",
    ),
    clear(
        "attention heads of 8 units for 100 classes: a 4-D map, not a dense layer",
        "narrow_hidden_layer",
        hidden(
            activation("attn", 8, kind="softmax", dims=4),
            activation("ff", 256, dims=3),
            kind="cross_entropy",
            n_classes=100,
            outputs=100,
        ),
        "the narrowest layer everything passes through has 256 units",
    ),
    clear(
        "a binary head's own sigmoid is the output, not a hidden layer",
        "narrow_hidden_layer",
        hidden(
            activation("fc1", 16),
            activation("out", 1, kind="sigmoid"),
            kind="binary_cross_entropy",
            n_classes=2,
            outputs=1,
        ),
        "the narrowest layer everything passes through has 16 units",
    ),
    clear(
        "three units for two classes",
        "narrow_hidden_layer",
        hidden(activation("fc1", 3), kind="cross_entropy", n_classes=2, outputs=2),
        "the narrowest layer everything passes through has 3 units",
    ),
    unknown(
        "nothing measured",
        "narrow_hidden_layer",
        evidence(loss=LossSection(kind="cross_entropy", n_classes=10)),
        "no hidden activation that everything passes through was measured",
    ),
    clear(
        "an attention query projection of 32 units beside the residual stream, 65 classes",
        "narrow_hidden_layer",
        hidden(
            activation("blocks.0.attn.query", 32, kind="gelu", dims=3, cut=False),
            activation("blocks.0.mlp", 512, kind="gelu", dims=3, cut=False),
            activation("head_in", 128, kind="gelu", dims=3),
            kind="cross_entropy",
            n_classes=65,
            outputs=65,
        ),
        "the narrowest layer everything passes through has 128 units",
    ),
    unknown(
        "a 4-unit layer whose graph was not checked is no evidence",
        "narrow_hidden_layer",
        hidden(activation("fc1", 4, cut=None), kind="cross_entropy", n_classes=10, outputs=10),
        "no hidden activation that everything passes through was measured",
    ),
    clear(
        "a language model's 32-wide stream before 65 tokens: a low-rank softmax, not a bottleneck",
        "narrow_hidden_layer",
        next_token_task(activation("ln_f", 32, kind="gelu", dims=3), vocabulary=65),
        "the narrowest layer everything passes through has 32 units",
    ),
    fires(
        "a language model's one-unit stream is too narrow for any task",
        "narrow_hidden_layer",
        next_token_task(activation("ln_f", 1, kind="gelu", dims=3), vocabulary=65),
        "ln_f has only 1 unit, and everything the model computes passes through it",
    ),
    fires(
        "two of three connections linear into linear",
        "linear_layers_stacked",
        evidence(
            model=ModelSection(linear_layers=4, linear_chains=[["fc1", "fc2"], ["fc2", "fc3"]])
        ),
        "2 of 4 linear layers feed the next with no activation between them (fc1 → fc2, fc2 → fc3)",
    ),
    clear(
        "one projection into the output among six layers",
        "linear_layers_stacked",
        evidence(model=ModelSection(linear_layers=6, linear_chains=[["proj", "out"]])),
        "1 linear→linear connections",
    ),
    unknown(
        "a single linear layer",
        "linear_layers_stacked",
        evidence(model=ModelSection(linear_layers=1)),
        "fewer than two linear/conv layers ran",
    ),
    fires(
        "layers kept in a plain list",
        "unregistered_layers",
        evidence(
            model=ModelSection(
                cls="Net", unregistered=["Linear(4160 params)", "Linear(650 params)"]
            )
        ),
        "layers with parameters ran inside Net.forward but are not its submodules "
        "(Linear(4160 params), Linear(650 params)): they are not in model.parameters()",
    ),
    clear(
        "every layer registered",
        "unregistered_layers",
        evidence(model=ModelSection(cls="Net", params=4810, trainable=4810)),
        "",
    ),
    fires(
        "dropout of 0.9",
        "dropout_high",
        evidence(model=ModelSection(dropout=[0.2, 0.9])),
        "dropout with p=0.9 drops 90% of the units each step",
    ),
    fires(
        "dropout of 0.75, the threshold itself",
        "dropout_high",
        evidence(model=ModelSection(dropout=[0.75])),
        "dropout with p=0.75 drops 75% of the units each step",
    ),
    clear(
        "dropout of 0.7",
        "dropout_high",
        evidence(model=ModelSection(dropout=[0.5, 0.7])),
        "largest dropout p=0.7",
    ),
    unknown(
        "no dropout",
        "dropout_high",
        evidence(model=ModelSection()),
        "the model has no dropout",
    ),
]

# -- the loss against the model's output and the targets --------------------------------------

SIZE_WARNING = (
    "Using a target size (torch.Size([32])) that is different to the input size "
    "(torch.Size([32, 1])). This will likely lead to incorrect results due to broadcasting. "
    "Please ensure they have the same size."
)


def warned(message: str) -> MessagesSection:
    return MessagesSection(warnings=[WarningInfo("UserWarning", message, "train.py", 12)])


def regression(output_min: float, output_max: float, targets: TensorSummary) -> Evidence:
    return evidence(
        loss=LossSection(kind="mse_loss", output_min=output_min, output_max=output_max),
        data=DataSection(targets=targets),
    )


CASES += [
    fires(
        "softmax fed into cross_entropy, seen in the graph",
        "probabilities_into_logit_loss",
        evidence(
            loss=LossSection(kind="cross_entropy"),
            graph=GraphSection(checked=1, softmax_into_log_softmax=1),
        ),
        "the autograd graph shows softmax output fed into cross-entropy's log_softmax",
    ),
    fires(
        "sigmoid outputs into BCE-with-logits on every call checked",
        "probabilities_into_logit_loss",
        evidence(
            loss=LossSection(
                kind="binary_cross_entropy_with_logits", logit_loss_calls=25, probability_inputs=25
            )
        ),
        "binary_cross_entropy_with_logits received probabilities (already softmax/sigmoid "
        "outputs) in 25 of the 25 calls checked",
    ),
    clear(
        "logits that landed in [0, 1] on 2 of 25 calls",
        "probabilities_into_logit_loss",
        evidence(
            loss=LossSection(
                kind="binary_cross_entropy_with_logits", logit_loss_calls=25, probability_inputs=2
            )
        ),
        "",
    ),
    unknown(
        "no loss that expects logits",
        "probabilities_into_logit_loss",
        evidence(loss=LossSection(kind="mse_loss")),
        "no loss that expects logits (cross_entropy, BCE-with-logits) was called",
    ),
    fires(
        "log() of a softmax",
        "log_of_probabilities",
        reached(log_of_probabilities=1),
        "the loss takes log() directly of a softmax/sigmoid output: log(0) = -inf as soon as a "
        "probability underflows",
    ),
    clear(
        "log_softmax",
        "log_of_probabilities",
        reached(ops={"LogSoftmaxBackward0": 3}),
        "",
    ),
    unknown(
        "no backward pass",
        "log_of_probabilities",
        evidence(graph=GraphSection()),
        "no backward pass",
    ),
    fires(
        "nll_loss on raw scores",
        "nll_on_raw_scores",
        evidence(
            loss=LossSection(
                kind="nll_loss", nll_calls=20, nll_positive_inputs=20, values=curve(2.0, 0.5)
            )
        ),
        "nll_loss got positive inputs in 100% of the 20 calls checked: raw scores, not "
        "log-probabilities",
    ),
    fires(
        "a loss that goes negative, whatever the calls checked",
        "nll_on_raw_scores",
        evidence(
            loss=LossSection(
                kind="nll_loss", nll_calls=20, nll_positive_inputs=4, values=curve(2.0, -3.5)
            )
        ),
        "nll_loss got positive inputs in 20% of the 20 calls checked: raw scores, not "
        "log-probabilities; the loss went down to -3.5",
    ),
    clear(
        "log-probabilities, the loss near zero",
        "nll_on_raw_scores",
        evidence(loss=LossSection(kind="nll_loss", nll_calls=20, values=curve(2.3, 0.01))),
        "",
    ),
    clear(
        "positive inputs in 9 of 20 calls, a loss above zero",
        "nll_on_raw_scores",
        evidence(
            loss=LossSection(
                kind="nll_loss", nll_calls=20, nll_positive_inputs=9, values=curve(2.3, 0.5)
            )
        ),
        "",
    ),
    unknown(
        "no nll_loss",
        "nll_on_raw_scores",
        evidence(loss=LossSection(kind="cross_entropy")),
        "nll_loss was not called",
    ),
    fires(
        "(32, 1) outputs against (32,) targets",
        "target_broadcast",
        evidence(
            loss=LossSection(kind="mse_loss", broadcast_shapes=["input (32, 1) vs target (32,)"])
        ),
        "mse_loss compares input (32, 1) vs target (32,): the shapes broadcast to a matrix, so "
        "every output is compared with every target",
    ),
    fires(
        "PyTorch's warning alone",
        "target_broadcast",
        evidence(loss=LossSection(kind="mse_loss"), messages=warned(SIZE_WARNING)),
        SIZE_WARNING,
    ),
    clear(
        "shapes that match, another warning",
        "target_broadcast",
        evidence(
            loss=LossSection(kind="mse_loss", output_shape=[32, 1], target_shape=[32, 1]),
            messages=warned("The given NumPy array is not writable"),
        ),
        "",
    ),
    fires(
        "cross_entropy over one unit",
        "single_unit_classifier",
        evidence(loss=LossSection(kind="cross_entropy", n_classes=1)),
        "cross_entropy over a single output unit: softmax of one value is always 1, the loss is "
        "always 0",
    ),
    clear(
        "cross_entropy over two units",
        "single_unit_classifier",
        evidence(loss=LossSection(kind="cross_entropy", n_classes=2)),
        "",
    ),
    unknown(
        "one unit under BCE-with-logits, the right binary head",
        "single_unit_classifier",
        evidence(loss=LossSection(kind="binary_cross_entropy_with_logits", n_classes=2)),
        "cross_entropy was not the training loss",
    ),
    fires(
        "a ReLU head, targets down to -2.1",
        "output_range_mismatch",
        regression(0.0, 3.2, TensorSummary(min=-2.1, max=2.4, std=1.0)),
        "model outputs never go below 0 but targets reach -2.1: a non-negative output "
        "activation (e.g. ReLU)",
    ),
    fires(
        "a sigmoid head, targets up to 5",
        "output_range_mismatch",
        regression(0.02, 0.98, TensorSummary(min=0.0, max=5.0, std=1.2)),
        "model outputs stay in [0, 1] but targets reach 5: a sigmoid output cannot produce them",
    ),
    clear(
        "a ReLU head, targets floored at zero with noise down to -0.05",
        "output_range_mismatch",
        regression(0.0, 3.2, TensorSummary(min=-0.05, max=2.4, std=1.0)),
        "",
    ),
    clear(
        "a sigmoid head, targets up to 1.4",
        "output_range_mismatch",
        regression(0.02, 0.98, TensorSummary(min=0.0, max=1.4, std=0.3)),
        "",
    ),
    unknown(
        "a classification loss",
        "output_range_mismatch",
        evidence(
            loss=LossSection(kind="cross_entropy", output_min=-3.0, output_max=3.0),
            data=DataSection(targets=TensorSummary(min=0.0, max=9.0)),
        ),
        "no regression loss with observed outputs",
    ),
]


def summed(
    kind: str,
    output_shape: list[int],
    divisors: list[float],
    summed_calls: int = 100,
    optimizers: tuple[str, ...] = (),
) -> Evidence:
    """A loss with reduction='sum' on ``summed_calls`` of 100 training calls, stepped by
    ``optimizers`` (none seen when empty)."""
    return evidence(
        loss=LossSection(
            kind=kind,
            first_kind=kind,
            output_shape=output_shape,
            training_calls=100,
            sum_reduction_calls=summed_calls,
            sum_divisors=divisors,
        ),
        optimizer=OptimizerSection(
            optimizers=[OptimizerInfo(c, 1e-3, None, 0.0, 4) for c in optimizers]
        )
        if optimizers
        else None,
    )


CASES += [
    fires(
        "MSE summed over (32, 10) outputs: 320 elements",
        "sum_reduction",
        summed("mse_loss", [32, 10], [0.0031]),
        "mse_loss(reduction='sum') over batches of 32: gradients are 320x those of the mean",
    ),
    fires(
        "cross_entropy summed over (8, 100 classes, 64 positions): 512 tokens",
        "sum_reduction",
        summed("cross_entropy", [8, 100, 64], [0.002]),
        "cross_entropy(reduction='sum') over batches of 8: gradients are 512x those of the mean",
    ),
    clear(
        "a sum divided by its token count before backward(), as Hugging Face does",
        "sum_reduction",
        summed("cross_entropy", [8, 100, 64], [1.0, 0.97, 1.0]),
        "cross_entropy(reduction='sum') is divided by 1x its item count before backward(): a mean",
    ),
    fires(
        "MSE summed over batches of 32, stepped by SGD",
        "sum_reduction",
        summed("mse_loss", [32], [0.0312], optimizers=("SGD",)),
        "mse_loss(reduction='sum') over batches of 32: gradients are 32x those of the mean",
    ),
    clear(
        "cross_entropy summed over batches of 64, stepped by AdamW",
        "sum_reduction",
        summed("cross_entropy", [64, 3], [0.0156], optimizers=("AdamW",)),
        "cross_entropy(reduction='sum') over batches of 64, but AdamW divides each step by the "
        "gradients' running size: the steps are those of the mean",
    ),
    fires(
        "a summed GAN loss, one of its two optimizers SGD",
        "sum_reduction",
        summed("mse_loss", [32], [0.0312], optimizers=("Adam", "SGD")),
        "mse_loss(reduction='sum') over batches of 32: gradients are 32x those of the mean",
    ),
    clear(
        "a sum over batches of 4",
        "sum_reduction",
        summed("mse_loss", [4], [0.25]),
        "",
    ),
    clear(
        "a summed term on 40 of 100 calls",
        "sum_reduction",
        summed("mse_loss", [32], [0.0312], summed_calls=40),
        "",
    ),
    unknown(
        "no loss call",
        "sum_reduction",
        evidence(loss=LossSection(kind="mse_loss")),
        "no loss function call was seen",
    ),
]

# -- the training curve: does it move, is it at chance? ---------------------------------------


def losses(values: list[float], kind: str = "cross_entropy", **fields: Any) -> Evidence:
    return evidence(loss=LossSection(kind=kind, values=values, **fields))


def counted(values: list[float], counts: dict[int, int], **fields: Any) -> Evidence:
    """A classifier's curve, with the class counts of its training targets."""
    return evidence(
        loss=LossSection(values=values, **fields),
        data=DataSection(class_counts=counts),
    )


# The first tenth of a curve is where it started, its last fifth where it ended up.
CASES += [
    fires(
        "a loss that rose 20% (missing zero_grad)",
        "loss_not_improving",
        losses([1.931] * 50 + [2.318] * 50),
        "the training loss moved from 1.931 to 2.318 over 100 loss values (+20.0%)",
    ),
    fires(
        "a loss that fell 4%",
        "loss_not_improving",
        losses([2.0] * 50 + [1.92] * 50),
        "the training loss moved from 2 to 1.92 over 100 loss values (-4.0%)",
    ),
    clear(
        "a slow run that fell 6%",
        "loss_not_improving",
        losses([2.0] * 50 + [1.88] * 50),
        "loss improved 6% (2 → 1.88)",
    ),
    clear(
        "a warm-up that first raised the loss",
        "loss_not_improving",
        losses([2.3] * 10 + [2.9] * 10 + [0.4] * 80),
        "loss improved 83% (2.3 → 0.4)",
    ),
    unknown(
        "a GAN's two optimizers taking turns",
        "loss_not_improving",
        evidence(
            loss=LossSection(kind="binary_cross_entropy", values=flat(0.7)),
            bookkeeping=BookkeepingSection(steps=100, backward_calls=200, optimizer_switches=99),
        ),
        "optimizers take turns with losses of their own (an adversarial game): their losses "
        "are not expected to fall",
    ),
    unknown(
        "a loss that turned NaN after five steps",
        "loss_not_improving",
        losses([2.3] * 5 + [math.nan] * 20),
        "fewer than 10 finite training loss values",
    ),
]


def probed(
    sampled: list[float], *, chance: float | None = None, lrs: list[float] | None = None
) -> Evidence:
    """A run whose fit probe measured rows drawn from the training set (eval mode, per sample),
    while its running loss, in train mode with dropout on, stayed flat and noisy; ``chance``: the
    constant prediction's loss on those rows."""
    task = TaskInfo(kind="next_token", loss="cross_entropy", chance={"sampled": chance or 0.0})
    return evidence(
        loss=LossSection(kind="cross_entropy", values=[2.9, 3.1] * 50),
        fit=fit(task, sampled=sampled),
        optimizer=OptimizerSection(lr_values=lrs or []),
    )


CASES += [
    clear(
        "dropout hides the fall in the running loss; the probe shows it",
        "loss_not_improving",
        probed([4.2, 3.6, 3.1, 2.8, 2.6, 2.6]),
        "probe loss on rows drawn from the training set improved 38% (4.2 → 2.6)",
    ),
    fires(
        "a probe loss that stays put",
        "loss_not_improving",
        probed([4.2, 4.21, 4.19, 4.2, 4.2, 4.18]),
        "on rows drawn from the training set (fixed, in eval mode) the loss moved from 4.2 per "
        "sample before the first update to 4.19 at step 125 (-0.2%)",
    ),
    unknown(
        "a warm-up still ramping when the observation ended",
        "loss_not_improving",
        probed([4.2, 4.2, 4.2, 4.2], lrs=[1e-5 * (i + 1) for i in range(40)]),
        "the learning rate was still rising when the observation ended (a warm-up): whether "
        "the loss falls cannot be told yet",
    ),
]

# A character model's probe: the unigram distribution's loss (chance) is 3.3 per token.
CASES += [
    clear(
        "a bigram model 30% down but still above the unigram entropy, and falling",
        "loss_at_chance",
        probed([4.7, 4.1, 3.7, 3.45, 3.3], chance=3.3),
        "probe loss 3.3 near chance 3.3 but still falling (3.45 → 3.3): learning, not yet past "
        "chance",
    ),
    clear(
        "a slow steady fall over many checkpoints, under 1% each, 2.5% over the last fifth",
        "loss_at_chance",
        probed([3.55 - 0.02 * k for k in range(25)], chance=3.3),
        "probe loss 3.11 near chance 3.3 but still falling (3.15 → 3.07): learning, not yet "
        "past chance",
    ),
    fires(
        "a probe that settled at the unigram entropy",
        "loss_at_chance",
        probed([4.7, 3.4, 3.31, 3.3, 3.3], chance=3.3),
        "on rows drawn from the training set (fixed, in eval mode) the loss sits at 3.3 per "
        "sample, the loss of a constant prediction for this task (3.3), and no longer falls: the "
        "model has learned nothing",
    ),
    clear(
        "a probe well below chance",
        "loss_at_chance",
        probed([4.7, 3.0, 2.4, 2.1, 2.0], chance=3.3),
        "probe loss 2 vs chance 3.3",
    ),
]

# ln(10) = 2.303 and ln(4) = 1.386; 9-to-1 classes have an entropy of 0.3251 (ln(2) = 0.693).
CASES += [
    fires(
        "ten classes at ln(10)",
        "loss_at_chance",
        losses(flat(2.31), n_classes=10),
        "the training loss sits at 2.31, the loss of predicting the class frequencies for 10 "
        "classes (2.303): the model has learned nothing",
    ),
    fires(
        "nll_loss, which does not know its classes: the targets hold four",
        "loss_at_chance",
        counted(flat(1.39), {0: 250, 1: 250, 2: 250, 3: 250}, kind="nll_loss"),
        "the training loss sits at 1.39, the loss of predicting the class frequencies of the 4 "
        "classes in the targets (1.386): the model has learned nothing",
    ),
    fires(
        "9-to-1 classes at their entropy, far below ln(2)",
        "loss_at_chance",
        counted(flat(0.33), {0: 900, 1: 100}, kind="cross_entropy", n_classes=2),
        "the training loss sits at 0.33, the loss of predicting the class frequencies for 2 "
        "classes (0.3251): the model has learned nothing",
    ),
    clear(
        "9-to-1 classes a tenth below their entropy",
        "loss_at_chance",
        counted(flat(0.29), {0: 900, 1: 100}, kind="cross_entropy", n_classes=2),
        "loss 0.29 vs chance 0.3251",
    ),
    fires(
        "a regression at the loss of predicting the mean",
        "loss_at_chance",
        losses(flat(0.98), kind="mse_loss", constant_values=flat(1.0, 20)),
        "the training loss sits at 0.98, the loss of a constant prediction, each batch's target "
        "mean (1): the model has learned nothing",
    ),
    fires(
        "an L1 regression at the loss of predicting the median",
        "loss_at_chance",
        losses(flat(0.79), kind="l1_loss", constant_values=flat(0.8, 20)),
        "the training loss sits at 0.79, the loss of a constant prediction, each batch's target "
        "median (0.8): the model has learned nothing",
    ),
    clear(
        "a regression that learned",
        "loss_at_chance",
        losses([1.0] * 50 + [0.2] * 50, kind="mse_loss", constant_values=flat(1.0, 20)),
        "loss 0.2 vs chance 1",
    ),
    unknown(
        "a class-weighted loss",
        "loss_at_chance",
        losses(flat(2.31), n_classes=10, weighted_calls=100),
        "the loss weights its classes, so its chance level is not the class entropy",
    ),
    unknown(
        "nll_loss with no targets counted",
        "loss_at_chance",
        losses(flat(2.31), kind="nll_loss"),
        "number of classes unknown",
    ),
    unknown(
        "a regression with few batches measured",
        "loss_at_chance",
        losses(flat(0.98), kind="mse_loss", constant_values=flat(1.0, 5)),
        "too few batches measured for the loss of a constant prediction",
    ),
]


def first_loss(
    value: float, kind: str = "cross_entropy", n_classes: int | None = 10, summed: int = 0
) -> Evidence:
    """A first loss value; ``summed``: every training call summed over a batch of that many."""
    calls = {"training_calls": 10, "sum_reduction_calls": 10 if summed else 0}
    shape = [summed, n_classes or 1] if summed else []
    return evidence(
        loss=LossSection(
            kind=kind,
            kinds=[kind],
            first_kind=kind,
            first_values={kind: value},
            n_classes=n_classes,
            output_shape=shape,
            **calls,
        )
    )


CASES += [
    fires(
        "a first loss ten times ln(10)",
        "initial_loss_high",
        first_loss(23.0),
        "the first cross_entropy is 23 per item, 10.0x ln(10) = 2.303, the loss of uniform "
        "predictions",
    ),
    clear(
        "a first loss 2.8 times ln(10), as deep nets start",
        "initial_loss_high",
        first_loss(6.5),
        "initial cross_entropy 6.5 per item, uniform-prediction loss 2.303",
    ),
    clear(
        "a loss summed over 64 samples starts at 64 times the uniform predictions' per item",
        "initial_loss_high",
        first_loss(147.4, summed=64),
        "initial cross_entropy 2.303 per item (a sum over 64 items), uniform-prediction loss 2.303",
    ),
    fires(
        "a summed loss ten times ln(10) per item",
        "initial_loss_high",
        first_loss(64 * 23.0, summed=64),
        "the first cross_entropy is 23 per item (a sum over 64 items), 10.0x ln(10) = 2.303, the "
        "loss of uniform predictions",
    ),
    unknown(
        "a regression",
        "initial_loss_high",
        first_loss(40.0, kind="mse_loss", n_classes=None),
        "no classification loss with a finite first value",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_symptom(case: Case, rule_book) -> None:
    check(case, rule_book)
