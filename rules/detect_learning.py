"""Detectors of learnability: can the loss reach the parameters, does the loop update them, does
the loss fit the task and the model's output, and is the loss curve moving at all?"""

from __future__ import annotations

import math
import statistics

from diagnose.evidence import Evidence
from diagnose.probes.sections import REGRESSION_LOSSES, InitLayer
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    adversarial,
    detector,
    finite_values,
    median,
    observed,
    require,
    scaled,
    window,
)

CLASSIFICATION_LOSSES = {
    "cross_entropy",
    "nll_loss",
    "binary_cross_entropy_with_logits",
    "binary_cross_entropy",
}
MIN_CURVE = 10
HAND_UPDATE = "HandUpdate"  # the stand-in optimizer of a loop that updates its weights by hand
MAX_DENSE_DIMS = 3  # (batch, units) or (batch, positions, units)


@detector
def loss_disconnected(ev: Evidence) -> Finding:
    graph = observed(ev, "graph")
    if not graph.checked or not graph.trainable_params:
        raise NotEvaluated("no backward pass through a model with trainable parameters was seen")
    if graph.params_reached:
        return Finding.no(
            f"the loss reaches {graph.params_reached} of {graph.trainable_params} parameter tensors"
        )
    root = f"a {graph.root_grad_fn} node" if graph.root_grad_fn else "a leaf tensor with no history"
    return Finding.yes(
        1.0,
        f"backward() starts from {root}; its graph reaches none of the model's "
        f"{graph.trainable_params} trainable parameter tensors",
        where="loss",
    )


@detector
def loss_misses_updated_params(ev: Evidence, min_fraction: float = 0.1) -> Finding:
    """A real share of what the optimizer updates is out of the loss's reach (a detach() or
    no_grad() before the head): those weights never get a gradient, only the part after the cut
    trains. The run may still learn well on the head alone, so how well it learns says nothing
    here; a healthy loop hands the optimizer only weights the loss reaches (a tenth is far above
    the odd unused bias or pooler of a healthy model)."""
    graph = observed(ev, "graph")
    if not graph.updated_elements or not graph.params_reached:
        raise NotEvaluated("no backward pass reached the model's updated parameters")
    missed = 1.0 - graph.updated_elements_reached / graph.updated_elements
    if missed < min_fraction:
        return Finding.no(f"the loss reaches {1 - missed:.0%} of the updated parameters")
    return Finding.yes(
        scaled(missed, min_fraction, 0.5),
        f"no backward pass reaches {missed:.1%} of the parameters the optimizer updates "
        f"({', '.join(graph.never_reached[:4])}): their gradients stay empty, only the "
        "layers after the cut are trained",
        where="loss",
    )


@detector
def custom_function_in_graph(ev: Evidence) -> Finding:
    graph = observed(ev, "graph")
    if not graph.custom_functions:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"the loss passes through hand-written autograd.Function(s): "
        f"{', '.join(graph.custom_functions[:3])}",
    )


@detector
def grads_missing_at_step(ev: Evidence, min_fraction: float = 0.9, min_steps: int = 4) -> Finding:
    book = observed(ev, "bookkeeping")
    if book.steps_checked_for_grads < min_steps:
        raise NotEvaluated(f"fewer than {min_steps} optimizer steps checked")
    fraction = book.steps_without_grads / book.steps_checked_for_grads
    if fraction < min_fraction:
        return Finding.no(f"{fraction:.0%} of steps had no gradient")
    return Finding.yes(
        fraction,
        f"{book.steps_without_grads} of {book.steps_checked_for_grads} optimizer steps "
        "checked found every gradient empty (None or zero)",
        where="step",
    )


@detector
def zero_grad_after_backward(ev: Evidence, min_fraction: float = 0.5) -> Finding:
    book = observed(ev, "bookkeeping")
    if not book.steps:
        raise NotEvaluated("no optimizer step")
    fraction = book.zero_grad_between_backward_and_step / book.steps
    if fraction < min_fraction:
        return Finding.no()
    return Finding.yes(
        fraction,
        f"in {book.zero_grad_between_backward_and_step} of {book.steps} steps zero_grad() "
        "ran after backward() and before step()",
        where="zero_grad",
    )


@detector
def optimizer_never_steps(ev: Evidence, min_backward: int = 10) -> Finding:
    """Backward passes with no update after them: ``optimizer.step()`` never called, or, in a loop
    that updates by hand, no step ever changing the weights (an update that rebinds a name,
    ``p = p - lr * p.grad``, instead of changing the tensor)."""
    book, optimizer = observed(ev, "bookkeeping"), observed(ev, "optimizer")
    if not optimizer.optimizers:
        raise NotEvaluated("no optimizer was created and no backward pass was seen")
    if all(o.cls == HAND_UPDATE for o in optimizer.optimizers):
        if book.steps_checked_for_change < min_backward // 2:
            raise NotEvaluated("too few hand-written updates checked")
        if book.steps_params_unchanged < book.steps_checked_for_change:
            return Finding.no("the weights change at the hand-written updates")
        return Finding.yes(
            1.0,
            f"{book.backward_calls} backward passes ran with no optimizer, and none of the "
            f"{book.steps_checked_for_change} updates checked changed the weights: the update "
            "never reaches the parameters",
            where="backward",
        )
    if book.backward_calls >= min_backward and book.steps == 0:
        return Finding.yes(
            1.0,
            f"{book.backward_calls} backward passes ran but optimizer.step() was never called",
            where="backward",
        )
    return Finding.no(f"{book.steps} steps")


@detector
def optimizer_misses_model(ev: Evidence, max_fraction: float = 0.05) -> Finding:
    opt = observed(ev, "optimizer")
    if not opt.optimizers or not opt.model_params_trainable:
        raise NotEvaluated("no optimizer, or a model without trainable parameters")
    fraction = opt.model_params_optimized / opt.model_params_trainable
    if fraction > max_fraction:
        return Finding.no(f"the optimizer holds {fraction:.0%} of the model's trainable parameters")
    elsewhere = opt.optimized_params - opt.optimized_params_in_model
    other = f"; it holds {elsewhere:,} parameters of something else" if elsewhere else ""
    return Finding.yes(
        1.0 - fraction,
        f"the optimizer updates {opt.model_params_optimized:,} of the trained "
        f"model's {opt.model_params_trainable:,} parameters{other}",
        where="optimizer",
    )


@detector
def params_mostly_frozen(ev: Evidence, max_trainable: float = 0.05) -> Finding:
    model = observed(ev, "model")
    if not model.params:
        raise NotEvaluated("the model has no parameters")
    fraction = model.trainable / model.params
    if fraction > max_trainable:
        return Finding.no(f"{fraction:.0%} of parameters are trainable")
    return Finding.yes(
        1.0 - fraction,
        f"only {model.trainable:,} of {model.params:,} parameters "
        f"({fraction:.1%}) have requires_grad=True",
    )


@detector
def probabilities_into_logit_loss(ev: Evidence, min_fraction: float = 0.5) -> Finding:
    loss, graph = observed(ev, "loss"), ev.observe.graph
    if graph is not None and graph.softmax_into_log_softmax:
        return Finding.yes(
            1.0,
            "the autograd graph shows softmax output fed into cross-entropy's log_softmax",
            where="loss",
        )
    if not loss.logit_loss_calls:
        raise NotEvaluated(
            "no loss that expects logits (cross_entropy, BCE-with-logits) was called"
        )
    fraction = loss.probability_inputs / loss.logit_loss_calls
    if fraction < min_fraction:
        return Finding.no()
    return Finding.yes(
        fraction,
        f"{loss.kind} received probabilities (already softmax/sigmoid outputs) in "
        f"{loss.probability_inputs} of {loss.logit_loss_calls} calls",
        where="loss",
    )


@detector
def log_of_probabilities(ev: Evidence) -> Finding:
    graph = observed(ev, "graph")
    if not graph.checked:
        raise NotEvaluated("no backward pass")
    if not graph.log_of_probabilities:
        return Finding.no()
    return Finding.yes(
        1.0,
        "the loss takes log() directly of a softmax/sigmoid output: log(0) = -inf as soon "
        "as a probability underflows",
        where="loss",
    )


@detector
def nll_on_raw_scores(ev: Evidence, min_fraction: float = 0.5) -> Finding:
    loss = observed(ev, "loss")
    if not loss.nll_calls:
        raise NotEvaluated("nll_loss was not called")
    fraction = loss.nll_positive_inputs / loss.nll_calls
    values = finite_values(loss.values)
    negative = values and min(values) < -0.1
    if fraction < min_fraction and not negative:
        return Finding.no()
    extra = f"; the loss went down to {min(values):.3g}" if negative else ""
    return Finding.yes(
        max(fraction, 0.9 if negative else 0),
        f"nll_loss got positive inputs in {fraction:.0%} "
        f"of calls: raw scores, not log-probabilities{extra}",
        where="loss",
    )


@detector
def target_broadcast(ev: Evidence) -> Finding:
    loss, messages = observed(ev, "loss"), ev.observe.messages
    warned = [
        w.message
        for w in (messages.warnings if messages else [])
        if "target size" in w.message.lower()
    ]
    if loss.broadcast_shapes:
        return Finding.yes(
            1.0,
            f"{loss.kind} compares {loss.broadcast_shapes[0]}: the shapes broadcast to a "
            "matrix, so every output is compared with every target",
            where="loss",
        )
    if warned:
        return Finding.yes(0.9, warned[0][:200], where="loss")
    return Finding.no()


@detector
def single_unit_classifier(ev: Evidence) -> Finding:
    loss = observed(ev, "loss")
    if loss.kind != "cross_entropy":
        raise NotEvaluated("cross_entropy was not the training loss")
    if loss.n_classes == 1:
        return Finding.yes(
            1.0,
            "cross_entropy over a single output unit: softmax of one value is always 1, "
            "the loss is always 0",
            where="loss",
        )
    return Finding.no()


@detector
def output_range_mismatch(ev: Evidence) -> Finding:
    """Regression outputs staying on one side of a bound the targets cross (ReLU/sigmoid heads)."""
    loss, data = observed(ev, "loss"), observed(ev, "data")
    targets = require(data.targets, "training target")
    if loss.kind not in REGRESSION_LOSSES or loss.output_min is None or targets.min is None:
        raise NotEvaluated("no regression loss with observed outputs")
    if loss.output_min >= 0 and targets.min < -0.1 * (targets.std or 1):
        return Finding.yes(
            0.9,
            f"model outputs never go below {loss.output_min:.3g} but targets reach "
            f"{targets.min:.3g}: a non-negative output activation (e.g. ReLU)",
            where="forward",
        )
    if loss.output_min >= 0 and loss.output_max <= 1 and targets.max > 1.5:
        return Finding.yes(
            0.8,
            f"model outputs stay in [0, 1] but targets reach {targets.max:.3g}: a sigmoid "
            "output cannot produce them",
            where="forward",
        )
    return Finding.no()


@detector
def linear_layers_stacked(ev: Evidence, min_fraction: float = 0.25) -> Finding:
    """Linear layers feeding the next with nothing nonlinear between them (a batch norm or dropout
    is affine): each such pair is one linear map, a layer of depth lost. Low-rank factorizations
    (adapters, bottlenecks) are not counted. A quarter of the layers is far from an accident of
    architecture; how many more says little about how sure that is."""
    model = observed(ev, "model")
    if model.linear_layers < 2:
        raise NotEvaluated("fewer than two linear/conv layers ran")
    fraction = len(model.linear_chains) / (model.linear_layers - 1)
    if fraction < min_fraction:
        return Finding.no(f"{len(model.linear_chains)} linear→linear connections")
    pairs = ", ".join(f"{a} → {b}" for a, b in model.linear_chains[:4])
    return Finding.yes(
        scaled(fraction, min_fraction, 2 * min_fraction),
        f"{len(model.linear_chains)} of {model.linear_layers} linear layers "
        f"feed the next with no activation between them ({pairs})",
        where="forward",
    )


@detector
def unregistered_layers(ev: Evidence) -> Finding:
    model = observed(ev, "model")
    if not model.unregistered:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"layers with parameters ran inside {model.cls}.forward but are not its submodules "
        f"({', '.join(model.unregistered[:4])}): they are not in model.parameters()",
        where="optimizer",
    )


@detector
def sum_reduction(
    ev: Evidence, min_fraction: float = 0.5, min_batch: int = 8, mean_divisor: float = 0.5
) -> Finding:
    """A loss summed over the batch, so its gradients grow with the batch size. A sum that the
    script divides by its number of items before backward() (``sum / n_tokens``, as Hugging Face
    computes its language-model loss) is a mean: ``mean_divisor`` of the item count or more (padding
    and gradient accumulation make the divisor differ from this batch's count)."""
    loss = observed(ev, "loss")
    if not loss.training_calls:
        raise NotEvaluated("no loss function call was seen")
    batch = loss.output_shape[0] if loss.output_shape else 0
    if loss.sum_reduction_calls / loss.training_calls < min_fraction or batch < min_batch:
        return Finding.no()
    divisor = median(loss.sum_divisors) if loss.sum_divisors else None
    if divisor is not None and divisor >= mean_divisor:
        return Finding.no(
            f"{loss.kind}(reduction='sum') is divided by {divisor:.2g}x its item count before "
            "backward(): a mean"
        )
    return Finding.yes(
        0.8,
        f"{loss.kind}(reduction='sum') over batches of {batch}: gradients are {batch}x "
        "those of the mean",
        where="loss",
    )


@detector
def dropout_too_high(ev: Evidence, max_p: float = 0.75) -> Finding:
    model = observed(ev, "model")
    if not model.dropout:
        raise NotEvaluated("the model has no dropout")
    p = max(model.dropout)
    if p < max_p:
        return Finding.no(f"largest dropout p={p:g}")
    return Finding.yes(
        scaled(p, max_p, 0.95), f"dropout with p={p:g} drops {p:.0%} of the units each step"
    )


@detector
def loss_not_improving(ev: Evidence, min_improvement: float = 0.05) -> Finding:
    values = _curve(ev)
    early = statistics.median(window(values, 0, 0.1))
    late = statistics.median(window(values, 0.8, 1.0))
    improvement = (early - late) / abs(early) if early else 0.0
    if improvement >= min_improvement:
        return Finding.no(f"loss improved {improvement:.0%} ({early:.4g} → {late:.4g})")
    return Finding.yes(
        scaled(min_improvement - improvement, 0, min_improvement),
        f"the training loss moved from {early:.4g} to {late:.4g} over {len(values)} steps "
        f"({improvement:+.1%})",
    )


@detector
def loss_at_chance(ev: Evidence, tolerance: float = 0.1) -> Finding:
    loss, values = observed(ev, "loss"), _curve(ev)
    chance = chance_loss(ev)
    late = statistics.median(window(values, 0.8, 1.0))
    if abs(late - chance) > tolerance * chance:
        return Finding.no(f"loss {late:.4g} vs chance {chance:.4g}")
    baseline = (
        "a constant prediction, each batch's target mean"
        if loss.kind in REGRESSION_LOSSES
        else f"predicting the class frequencies for {loss.n_classes} classes"
    )
    return Finding.yes(
        1.0 - abs(late - chance) / (tolerance * chance) * 0.5,
        f"the training loss sits at {late:.4g}, the loss of {baseline} ({chance:.4g}): "
        "the model has learned nothing",
    )


@detector
def initial_loss_high(ev: Evidence, min_factor: float = 3.0) -> Finding:
    """A classifier's first loss far above chance: its initial outputs are confidently wrong,
    typically from too large an initialisation (or unnormalised inputs)."""
    loss = observed(ev, "loss")
    kind = next((k for k in loss.kinds if k in CLASSIFICATION_LOSSES), None)
    first = loss.first_values.get(kind) if kind else None
    if first is None or not math.isfinite(first) or not loss.n_classes or loss.n_classes < 2:
        raise NotEvaluated("no classification loss with a finite first value")
    uniform = math.log(loss.n_classes)  # what a freshly initialised classifier scores
    if first < min_factor * uniform:
        return Finding.no(f"initial {kind} {first:.4g}, uniform-prediction loss {uniform:.4g}")
    return Finding.yes(
        scaled(first / uniform, min_factor, 10 * min_factor),
        f"the first {kind} is {first:.4g}, {first / uniform:.1f}x ln({loss.n_classes}) "
        f"= {uniform:.4g}, the loss of uniform predictions",
    )


def _curve(ev: Evidence) -> list[float]:
    if adversarial(ev):
        raise NotEvaluated(
            "optimizers take turns with losses of their own (an adversarial game): "
            "their losses are not expected to fall"
        )
    values = finite_values(observed(ev, "loss").values)
    if len(values) < MIN_CURVE:
        raise NotEvaluated(f"fewer than {MIN_CURVE} finite training loss values")
    return values


def chance_loss(ev: Evidence) -> float:
    """The loss of a model that learned nothing from its inputs. For a classifier, the
    cross-entropy of predicting the class frequencies: ln(C) for balanced classes; for a regression
    loss, the loss of predicting each batch's target mean, as measured on the batches trained on."""
    loss = observed(ev, "loss")
    if loss.kind in REGRESSION_LOSSES:
        constants = finite_values(loss.constant_values)
        if len(constants) < MIN_CURVE:
            raise NotEvaluated("too few batches measured for the loss of a constant prediction")
        return statistics.median(constants)
    if loss.kind not in CLASSIFICATION_LOSSES:
        raise NotEvaluated("not a classification loss")
    if loss.weighted_calls:
        raise NotEvaluated(
            "the loss weights its classes, so its chance level is not the class entropy"
        )
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    total = sum(counts.values())
    if counts and total:
        return -sum(c / total * math.log(c / total) for c in counts.values() if c)
    if not loss.n_classes or loss.n_classes < 2:
        raise NotEvaluated("number of classes unknown")
    return math.log(loss.n_classes)


@detector
def frozen_at_init(ev: Evidence, min_share: float = 0.2, tolerance: float = 0.15) -> Finding:
    """Frozen layers whose weights still have the statistics of a fresh initialization: features
    that were never trained and never will be. A frozen pretrained backbone has weights of its own
    scale; a frozen layer straight from ``nn.Linear(...)`` is a bug."""
    model, init = observed(ev, "model"), observed(ev, "init")
    if not model.params or not init.layers:
        raise NotEvaluated("no weight layers were seen at the start")
    fresh = [
        layer
        for layer in init.layers
        if layer.name in model.frozen_stds
        and _untouched(layer, model.frozen_stds[layer.name])
        and _at_init(layer, tolerance)
    ]
    share = sum(math.prod(layer.shape) for layer in fresh) / model.params
    if share < min_share:
        return Finding.no(f"{share:.0%} of the parameters are frozen at their initial values")
    names = ", ".join(layer.name for layer in fresh[:3]) + ("…" if len(fresh) > 3 else "")
    return Finding.yes(
        scaled(share, min_share, 0.8),
        f"{share:.0%} of the parameters ({names}) have requires_grad=False yet hold freshly "
        "initialized random weights: they will never learn",
        where="optimizer",
    )


def _untouched(layer: InitLayer, final_std: float) -> bool:
    """The weights ended the run as they began it: not trained before they were frozen."""
    return math.isclose(final_std, layer.std, rel_tol=1e-4)


def _at_init(layer: InitLayer, tolerance: float) -> bool:
    """Zero-centred weights whose spread is one of the standard initializers' for this fan-in
    (PyTorch's default, He, Glorot), within sampling noise."""
    count = math.prod(layer.shape)
    if layer.constant or count < 16 or not layer.std:
        return False
    slack = max(tolerance, 2.0 / math.sqrt(count))
    centred = abs(layer.mean) <= 0.1 * layer.std
    return centred and any(
        abs(layer.std / scale - 1.0) <= slack
        for scale in (layer.default_std, layer.he_std, layer.glorot_std)
        if scale
    )


@detector
def narrow_hidden_layer(ev: Evidence, min_width: int = 2) -> Finding:
    """A hidden representation narrower than the classes it must separate, or of one or two units
    whatever the task: everything the model knows must pass through it."""
    widths = _hidden_widths(ev)
    if not widths:
        raise NotEvaluated("no hidden activation or recurrent state was measured")
    width, where = min(widths)
    loss = observed(ev, "loss")
    classes = loss.n_classes if loss.kind in {"cross_entropy", "nll_loss"} else None
    if classes and classes >= 3 and width < classes:
        return Finding.yes(
            scaled(classes / width, 1, 5),
            f"{where} has {width} units for {classes} classes: "
            "a bottleneck narrower than the output",
            where="forward",
        )
    if width <= min_width:
        return Finding.yes(
            0.5, f"{where} has only {width} unit{'s' if width > 1 else ''}", where="forward"
        )
    return Finding.no(f"the narrowest hidden layer has {width} units")


def _hidden_widths(ev: Evidence) -> list[tuple[int, str]]:
    """Units of each dense hidden activation (the output's own softmax/sigmoid aside; a
    convolution's channels share their work with the positions) and of each recurrent state
    (PyTorch names its hidden-to-hidden weights ``weight_hh``; their columns are the state)."""
    loss = ev.observe.loss
    outputs = loss.output_shape[-1] if loss and loss.output_shape else None
    activations = ev.observe.activations
    stats = activations.samples[0].stats if activations and activations.samples else []
    widths = [
        (stat.units, stat.name)
        for stat in stats
        if stat.dims <= MAX_DENSE_DIMS
        and not (stat.kind in {"softmax", "sigmoid"} and stat.units == outputs)
    ]
    layers = ev.observe.init.layers if ev.observe.init else []
    widths += [
        (layer.shape[1], layer.name)
        for layer in layers
        if layer.name.rsplit(".", 1)[-1].startswith("weight_hh") and len(layer.shape) == 2
    ]
    return widths
