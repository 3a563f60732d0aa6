"""Detectors of learnability: can the loss reach the parameters, does the loop update them, does
the loss fit the task and the model's output, and is the loss curve moving at all?"""

from __future__ import annotations

import math
import statistics

from diagnose.probes.sections import InitLayer, LossSection
from diagnose.rules.findings import (
    Curve,
    CurveReading,
    Finding,
    Horizon,
    NotEvaluated,
    Params,
    Readable,
    View,
    adversarial,
    detector,
    early,
    finite_values,
    late,
    median,
    observed,
    require,
    scaled,
    warming_up,
)
from diagnose.rules.fit import PROBE_SETS, Point, late_fall, primary, since, still_falling
from diagnose.rules.fit import chance as fit_chance
from diagnose.rules.fit import late as probe_late
from diagnose.vocabulary import (
    CLASS_SCORE_LOSSES,
    CLASSIFICATION_LOSSES,
    HAND_UPDATE,
    REGRESSION_LOSSES,
)


@detector
def loss_disconnected(ev: View) -> Finding:
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


class LossMissesUpdatedParams(Params):
    """What share of the updated parameters out of the loss's reach is a cut in the graph
    (``min_fraction``), and at what share that is certain (``full_strength_fraction``)."""

    min_fraction: float
    full_strength_fraction: float


@detector
def loss_misses_updated_params(ev: View, rule: LossMissesUpdatedParams) -> Finding:
    """A real share of what the optimizer updates is out of the loss's reach (a detach() or
    no_grad() before the head): those weights never get a gradient, only the part after the cut
    trains. The run may still learn well on the head alone, so how well it learns says nothing
    here; a healthy loop hands the optimizer only weights the loss reaches (a tenth is far above
    the odd unused bias or pooler of a healthy model)."""
    graph = observed(ev, "graph")
    if not graph.updated_elements or not graph.params_reached:
        raise NotEvaluated("no backward pass reached the model's updated parameters")
    missed = 1.0 - graph.updated_elements_reached / graph.updated_elements
    if missed < rule.min_fraction:
        return Finding.no(f"the loss reaches {1 - missed:.0%} of the updated parameters")
    return Finding.yes(
        scaled(missed, rule.min_fraction, rule.full_strength_fraction),
        f"no backward pass reaches {missed:.1%} of the parameters the optimizer updates "
        f"({', '.join(graph.never_reached[:4])}): their gradients stay empty, only the "
        "layers after the cut are trained",
        where="loss",
    )


@detector
def custom_function_in_graph(ev: View) -> Finding:
    graph = observed(ev, "graph")
    if not graph.custom_functions:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"the loss passes through hand-written autograd.Function(s): "
        f"{', '.join(graph.custom_functions[:3])}",
    )


class GradsMissingAtStep(Params):
    """How many optimizer steps must have been checked (``min_steps``) and what share of them must
    find every gradient empty (``min_fraction``) for the loop to be stepping without gradients."""

    min_fraction: float
    min_steps: int


@detector
def grads_missing_at_step(ev: View, rule: GradsMissingAtStep) -> Finding:
    book = observed(ev, "bookkeeping")
    if book.steps_checked_for_grads < rule.min_steps:
        raise NotEvaluated(f"fewer than {rule.min_steps} optimizer steps checked")
    fraction = book.steps_without_grads / book.steps_checked_for_grads
    if fraction < rule.min_fraction:
        return Finding.no(f"{fraction:.0%} of steps had no gradient")
    return Finding.yes(
        fraction,
        f"{book.steps_without_grads} of {book.steps_checked_for_grads} optimizer steps "
        "checked found every gradient empty (None or zero)",
        where="step",
    )


class ZeroGradAfterBackward(Params):
    """What share of the steps must clear the gradients between backward() and step() for that to
    be the loop's order, not an occasional reset."""

    min_fraction: float


@detector
def zero_grad_after_backward(ev: View, rule: ZeroGradAfterBackward) -> Finding:
    book = observed(ev, "bookkeeping")
    if not book.steps:
        raise NotEvaluated("no optimizer step")
    fraction = book.zero_grad_between_backward_and_step / book.steps
    if fraction < rule.min_fraction:
        return Finding.no()
    return Finding.yes(
        fraction,
        f"in {book.zero_grad_between_backward_and_step} of {book.steps} steps zero_grad() "
        "ran after backward() and before step()",
        where="zero_grad",
    )


class OptimizerNeverSteps(Params):
    """How many backward passes without a step show that no step will come (``min_backward``),
    and how many hand-written updates must have been checked before saying none changes the
    weights (``min_updates_checked``)."""

    min_backward: int
    min_updates_checked: int


@detector
def optimizer_never_steps(ev: View, rule: OptimizerNeverSteps) -> Finding:
    """Backward passes with no update after them: ``optimizer.step()`` never called, or, in a loop
    that updates by hand, no step ever changing the weights (an update that rebinds a name,
    ``p = p - lr * p.grad``, instead of changing the tensor)."""
    book, optimizer = observed(ev, "bookkeeping"), observed(ev, "optimizer")
    if not optimizer.optimizers:
        raise NotEvaluated("no optimizer was created and no backward pass was seen")
    if all(o.cls == HAND_UPDATE for o in optimizer.optimizers):
        if book.steps_checked_for_change < rule.min_updates_checked:
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
    if book.backward_calls >= rule.min_backward and book.steps == 0:
        return Finding.yes(
            1.0,
            f"{book.backward_calls} backward passes ran but optimizer.step() was never called",
            where="backward",
        )
    return Finding.no(f"{book.steps} steps")


class OptimizerMissesModel(Params):
    """The largest share of the trained model's trainable parameters an optimizer may hold and
    still be one built for something else."""

    max_fraction: float


@detector
def optimizer_misses_model(ev: View, rule: OptimizerMissesModel) -> Finding:
    opt = observed(ev, "optimizer")
    if not opt.optimizers or not opt.model_params_trainable:
        raise NotEvaluated("no optimizer, or a model without trainable parameters")
    fraction = opt.model_params_optimized / opt.model_params_trainable
    if fraction > rule.max_fraction:
        return Finding.no(f"the optimizer holds {fraction:.0%} of the model's trainable parameters")
    elsewhere = opt.optimized_params - opt.optimized_params_in_model
    other = f"; it holds {elsewhere:,} parameters of something else" if elsewhere else ""
    return Finding.yes(
        1.0 - fraction,
        f"the optimizer updates {opt.model_params_optimized:,} of the trained "
        f"model's {opt.model_params_trainable:,} parameters{other}",
        where="optimizer",
    )


class ParamsMostlyFrozen(Params):
    """The largest trainable share of the parameters that is "almost all frozen"."""

    max_trainable: float


@detector
def params_mostly_frozen(ev: View, rule: ParamsMostlyFrozen) -> Finding:
    model = observed(ev, "model")
    if not model.params:
        raise NotEvaluated("the model has no parameters")
    fraction = model.trainable / model.params
    if fraction > rule.max_trainable:
        return Finding.no(f"{fraction:.0%} of parameters are trainable")
    return Finding.yes(
        1.0 - fraction,
        f"only {model.trainable:,} of {model.params:,} parameters "
        f"({fraction:.1%}) have requires_grad=True",
    )


class ProbabilitiesIntoLogitLoss(Params):
    """What share of a logit loss's calls must receive probabilities for that to be the model's
    output, not a stray call."""

    min_fraction: float


@detector
def probabilities_into_logit_loss(ev: View, rule: ProbabilitiesIntoLogitLoss) -> Finding:
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
    if fraction < rule.min_fraction:
        return Finding.no()
    return Finding.yes(
        fraction,
        f"{loss.kind} received probabilities (already softmax/sigmoid outputs) in "
        f"{loss.probability_inputs} of the {loss.logit_loss_calls} calls checked",
        where="loss",
    )


@detector
def log_of_probabilities(ev: View) -> Finding:
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


class NllOnRawScores(Params):
    """What share of nll_loss's calls must get positive inputs (``min_fraction``); how far below
    zero a loss is one no log-probability gives (``negative_loss``), and how sure that makes the
    symptom (``negative_strength``)."""

    min_fraction: float
    negative_loss: float
    negative_strength: float


@detector
def nll_on_raw_scores(ev: View, rule: NllOnRawScores) -> Finding:
    loss = observed(ev, "loss")
    if not loss.nll_calls:
        raise NotEvaluated("nll_loss was not called")
    fraction = loss.nll_positive_inputs / loss.nll_calls
    values = finite_values(loss.values)
    negative = values and min(values) < rule.negative_loss
    if fraction < rule.min_fraction and not negative:
        return Finding.no()
    extra = f"; the loss went down to {min(values):.3g}" if negative else ""
    return Finding.yes(
        max(fraction, rule.negative_strength if negative else 0),
        f"nll_loss got positive inputs in {fraction:.0%} of the {loss.nll_calls} calls checked: "
        f"raw scores, not log-probabilities{extra}",
        where="loss",
    )


class TargetBroadcast(Params):
    """How sure PyTorch's size warning alone makes the symptom, without the probe's own record of
    the shapes that broadcast."""

    warning_strength: float


@detector
def target_broadcast(ev: View, rule: TargetBroadcast) -> Finding:
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
        return Finding.yes(rule.warning_strength, warned[0][:200], where="loss")
    return Finding.no()


@detector
def single_unit_classifier(ev: View) -> Finding:
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


class OutputRangeMismatch(Params):
    """When targets cross a bound the outputs never do: how far below zero (in the targets' own
    spread, ``negative_margin``) or above one (``unit_range_max_target``) they must reach, and how
    sure each pattern makes the symptom."""

    negative_margin: float
    non_negative_strength: float
    unit_range_max_target: float
    unit_range_strength: float


@detector
def output_range_mismatch(ev: View, rule: OutputRangeMismatch) -> Finding:
    """Regression outputs staying on one side of a bound the targets cross (ReLU/sigmoid heads)."""
    loss, data = observed(ev, "loss"), observed(ev, "data")
    targets = require(data.targets, "training target")
    if loss.kind not in REGRESSION_LOSSES or loss.output_min is None or targets.min is None:
        raise NotEvaluated("no regression loss with observed outputs")
    if loss.output_min >= 0 and targets.min < -rule.negative_margin * (targets.std or 1):
        return Finding.yes(
            rule.non_negative_strength,
            f"model outputs never go below {loss.output_min:.3g} but targets reach "
            f"{targets.min:.3g}: a non-negative output activation (e.g. ReLU)",
            where="forward",
        )
    if loss.output_min >= 0 and loss.output_max <= 1 and targets.max > rule.unit_range_max_target:
        return Finding.yes(
            rule.unit_range_strength,
            f"model outputs stay in [0, 1] but targets reach {targets.max:.3g}: a sigmoid "
            "output cannot produce them",
            where="forward",
        )
    return Finding.no()


class LinearLayersStacked(Params):
    """What share of the layer-to-layer connections must be linear into linear for the architecture
    to have lost depth (``min_fraction``), and at what share that is certain."""

    min_fraction: float
    full_strength_fraction: float


@detector
def linear_layers_stacked(ev: View, rule: LinearLayersStacked) -> Finding:
    """Linear layers feeding the next with nothing nonlinear between them (a batch norm or dropout
    is affine): each such pair is one linear map, a layer of depth lost. Low-rank factorizations
    (adapters, bottlenecks) are not counted. A quarter of the layers is far from an accident of
    architecture; how many more says little about how sure that is."""
    model = observed(ev, "model")
    if model.linear_layers < 2:
        raise NotEvaluated("fewer than two linear/conv layers ran")
    fraction = len(model.linear_chains) / (model.linear_layers - 1)
    if fraction < rule.min_fraction:
        return Finding.no(f"{len(model.linear_chains)} linear→linear connections")
    pairs = ", ".join(f"{a} → {b}" for a, b in model.linear_chains[:4])
    return Finding.yes(
        scaled(fraction, rule.min_fraction, rule.full_strength_fraction),
        f"{len(model.linear_chains)} of {model.linear_layers} linear layers "
        f"feed the next with no activation between them ({pairs})",
        where="forward",
    )


@detector
def unregistered_layers(ev: View) -> Finding:
    model = observed(ev, "model")
    if not model.unregistered:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"layers with parameters ran inside {model.cls}.forward but are not its submodules "
        f"({', '.join(model.unregistered[:4])}): they are not in model.parameters()",
        where="optimizer",
    )


class SumReduction(Params):
    """When a summed loss scales the gradients with the batch: the share of summed calls, the batch
    size from which it matters, the divisor (per item) that makes the sum a mean, and how sure a
    summed loss makes the symptom."""

    min_fraction: float
    min_batch: int
    mean_divisor: float
    strength: float
    scale_free: list[str]  # optimizers whose steps do not grow with the gradients' scale


@detector
def sum_reduction(ev: View, rule: SumReduction) -> Finding:
    """A loss summed over the batch, so its gradients grow with the batch size. A sum that the
    script divides by its number of items before backward() (``sum / n_tokens``, as Hugging Face
    computes its language-model loss) is a mean: ``mean_divisor`` of the item count or more (padding
    and gradient accumulation make the divisor differ from this batch's count). Only the steps of
    an optimizer that follows the gradient's size grow with it: Adam and its kin divide by the
    gradients' running size, and take the same steps on a sum as on a mean."""
    loss = observed(ev, "loss")
    if not loss.training_calls:
        raise NotEvaluated("no loss function call was seen")
    batch = loss.output_shape[0] if loss.output_shape else 0
    if loss.sum_reduction_calls / loss.training_calls < rule.min_fraction or batch < rule.min_batch:
        return Finding.no()
    divisor = median(loss.sum_divisors) if loss.sum_divisors else None
    if divisor is not None and divisor >= rule.mean_divisor:
        return Finding.no(
            f"{loss.kind}(reduction='sum') is divided by {divisor:.2g}x its item count before "
            "backward(): a mean"
        )
    kinds = {o.cls for o in ev.observe.optimizer.optimizers} if ev.observe.optimizer else set()
    if kinds and kinds <= set(rule.scale_free):
        return Finding.no(
            f"{loss.kind}(reduction='sum') over batches of {batch}, but "
            f"{', '.join(sorted(kinds))} divides each step by the gradients' running size: the "
            "steps are those of the mean"
        )
    return Finding.yes(
        rule.strength,
        f"{loss.kind}(reduction='sum') over batches of {batch}: gradients are "
        f"{_items_averaged(loss.first_kind, loss.output_shape)}x those of the mean",
        where="loss",
    )


def summed_items(loss: LossSection | None) -> float:
    """How many items each training loss value adds up: 1 for a mean; for a loss summed over the
    batch (every training call with reduction='sum'), the items it sums, less what the script
    divides the sum by before backward(). A first loss or a first gradient in the units of a mean
    is this many times smaller: read against a per-sample chance or the weights' size, a sum
    would look like a bad initialization."""
    if loss is None or not loss.training_calls or loss.sum_reduction_calls < loss.training_calls:
        return 1.0
    divisor = median(loss.sum_divisors)
    if divisor is not None:
        return max(1.0, 1.0 / divisor) if divisor > 0 else 1.0
    return float(_items_averaged(loss.first_kind, loss.output_shape)) if loss.output_shape else 1.0


def _items_averaged(kind: str, output_shape: list[int]) -> int:
    """How many values the loss ``kind`` with reduction='mean' averages over, given an input of this
    shape: all its elements, less the class dimension of a loss over class scores (a token loss
    averages over the batch's tokens)."""
    if kind in CLASS_SCORE_LOSSES and len(output_shape) >= 2:
        return math.prod([output_shape[0], *output_shape[2:]])
    return math.prod(output_shape)


class DropoutTooHigh(Params):
    """From which dropout rate the units left cannot carry the signal (``max_p``), and at which
    rate that is certain (``full_strength_p``)."""

    max_p: float
    full_strength_p: float


@detector
def dropout_too_high(ev: View, rule: DropoutTooHigh) -> Finding:
    model = observed(ev, "model")
    if not model.dropout:
        raise NotEvaluated("the model has no dropout")
    rate = max(model.dropout)
    if rate < rule.max_p:
        return Finding.no(f"largest dropout p={rate:g}")
    return Finding.yes(
        scaled(rate, rule.max_p, rule.full_strength_p),
        f"dropout with p={rate:g} drops {rate:.0%} of the units each step",
    )


class LossNotImproving(CurveReading, Horizon):
    """How much the training loss must fall to be moving."""

    min_improvement: float


@detector
def loss_not_improving(ev: View, rule: LossNotImproving) -> Finding:
    """The loss does not fall. Read on the fit probe when the run has it (the model on fixed
    batches, in eval mode, from before the first update to the end), else on the running loss;
    not judged while the learning rate is still warming up when the observation ends."""
    if warming_up(ev.observe.optimizer.lr_values if ev.observe.optimizer else [], rule):
        raise NotEvaluated(
            "the learning rate was still rising when the observation ended (a warm-up): whether "
            "the loss falls cannot be told yet"
        )
    probe = primary(ev.observe.fit, rule.min_checkpoints)
    if probe is not None:
        return _probe_not_improving(*probe, rule)
    values = _curve(ev, rule)
    start, end = early(values, rule), late(values, rule)
    change = (end - start) / abs(start) if start else 0.0
    if -change >= rule.min_improvement:
        return Finding.no(f"loss improved {-change:.0%} ({start:.4g} → {end:.4g})")
    return Finding.yes(
        scaled(rule.min_improvement + change, 0, rule.min_improvement),
        f"the training loss moved from {start:.4g} to {end:.4g} over {len(values)} loss values "
        f"({change:+.1%})",
    )


def _probe_not_improving(name: str, points: list[Point], rule: LossNotImproving) -> Finding:
    start, end = (
        points[0].loss,
        statistics.median(p.loss for p in probe_late(points, 1 - rule.late_start)),
    )
    change = (end - start) / abs(start) if start else 0.0
    where = PROBE_SETS[name]
    if -change >= rule.min_improvement:
        return Finding.no(f"probe loss on {where} improved {-change:.0%} ({start:.4g} → {end:.4g})")
    return Finding.yes(
        scaled(rule.min_improvement + change, 0, rule.min_improvement),
        f"on {where} (fixed, in eval mode) the loss moved from {start:.4g} per sample "
        f"{since(points)} to {end:.4g} at step {points[-1].step} ({change:+.1%})",
    )


class LossAtChance(CurveReading, Horizon):
    """How near chance level the late training loss must sit."""

    tolerance: float


@detector
def loss_at_chance(ev: View, rule: LossAtChance) -> Finding:
    """The loss sits at the loss of a model that learned nothing from its inputs. On the fit probe
    (against the constant prediction for the probe's task: the class frequencies, the unigram
    distribution of next tokens, the mean target), it must also have stopped falling: a loss on
    its way down that has not yet passed chance is learning."""
    probe = primary(ev.observe.fit, rule.min_checkpoints)
    level = probe and fit_chance(ev.observe.fit, probe[0])
    if probe is not None and level:
        return _probe_at_chance(*probe, level, rule)
    values = _curve(ev, rule)
    chance = chance_loss(ev, rule)
    end = late(values, rule)
    margin = rule.tolerance * chance
    if abs(end - chance) > margin:
        return Finding.no(f"loss {end:.4g} vs chance {chance:.4g}")
    return Finding.yes(
        scaled(margin - abs(end - chance), 0, margin),
        f"the training loss sits at {end:.4g}, the loss of {_chance_baseline(ev)} "
        f"({chance:.4g}): the model has learned nothing",
    )


def _probe_at_chance(name: str, points: list[Point], chance: float, rule: LossAtChance) -> Finding:
    end = statistics.median(p.loss for p in probe_late(points, 1 - rule.late_start))
    margin = rule.tolerance * chance
    if abs(end - chance) > margin:
        return Finding.no(f"probe loss {end:.4g} vs chance {chance:.4g}")
    if still_falling(points, rule.late_start, rule.min_late_fall):
        begin, last = late_fall(points, rule.late_start) or (end, end)
        return Finding.no(
            f"probe loss {end:.4g} near chance {chance:.4g} but still falling ({begin:.4g} → "
            f"{last:.4g}): learning, not yet past chance"
        )
    return Finding.yes(
        scaled(margin - abs(end - chance), 0, margin),
        f"on {PROBE_SETS[name]} (fixed, in eval mode) the loss sits at {end:.4g} per sample, the "
        f"loss of a constant prediction for this task ({chance:.4g}), and no longer falls: the "
        "model has learned nothing",
    )


def _chance_baseline(ev: View) -> str:
    """What ``chance_loss`` measured, in words."""
    loss = observed(ev, "loss")
    if loss.kind in REGRESSION_LOSSES:
        centre = "median" if loss.kind == "l1_loss" else "mean"
        return f"a constant prediction, each batch's target {centre}"
    if loss.n_classes:
        return f"predicting the class frequencies for {loss.n_classes} classes"
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    return f"predicting the class frequencies of the {len(counts)} classes in the targets"


class InitialLossHigh(Params):
    """How many times the loss of uniform predictions the first loss must be to be confidently
    wrong (``min_factor``), and at what multiple that is certain (``full_strength_factor``)."""

    min_factor: float
    full_strength_factor: float


@detector
def initial_loss_high(ev: View, rule: InitialLossHigh) -> Finding:
    """A classifier's first loss far above chance: its initial outputs are confidently wrong,
    typically from too large an initialisation (or unnormalised inputs)."""
    loss = observed(ev, "loss")
    kind = next((k for k in loss.kinds if k in CLASSIFICATION_LOSSES), None)
    first = loss.first_values.get(kind) if kind else None
    if first is None or not math.isfinite(first) or not loss.n_classes or loss.n_classes < 2:
        raise NotEvaluated("no classification loss with a finite first value")
    uniform = math.log(loss.n_classes)  # what a freshly initialised classifier scores
    items = summed_items(loss)
    first, summed = first / items, f" (a sum over {items:.0f} items)" if items > 1 else ""
    if first < rule.min_factor * uniform:
        return Finding.no(
            f"initial {kind} {first:.4g} per item{summed}, uniform-prediction loss {uniform:.4g}"
        )
    return Finding.yes(
        scaled(first / uniform, rule.min_factor, rule.full_strength_factor),
        f"the first {kind} is {first:.4g} per item{summed}, {first / uniform:.1f}x "
        f"ln({loss.n_classes}) = {uniform:.4g}, the loss of uniform predictions",
    )


def _curve(ev: Readable, rule: CurveReading) -> list[float]:
    if adversarial(ev, rule):
        raise NotEvaluated(
            "optimizers take turns with losses of their own (an adversarial game): "
            "their losses are not expected to fall"
        )
    values = finite_values(observed(ev, "loss").values)
    if len(values) < rule.min_values:
        raise NotEvaluated(f"fewer than {rule.min_values} finite training loss values")
    return values


def chance_loss(ev: Readable, rule: Curve) -> float:
    """The loss of a model that learned nothing from its inputs. For a classifier, the
    cross-entropy of predicting the class frequencies: ln(C) for balanced classes; for a regression
    loss, the loss of predicting each batch's target mean, as measured on the batches trained on."""
    loss = observed(ev, "loss")
    if loss.kind in REGRESSION_LOSSES:
        constants = finite_values(loss.constant_values)
        if len(constants) < rule.min_values:
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


class FrozenAtInit(Params):
    """When frozen weights are still a fresh initialization: unchanged over the run (within
    ``unchanged_rel_tol`` of their starting spread), centred on zero (``max_mean_ratio`` of their
    spread), of a layer large enough to tell (``min_elements``), with a spread one of the standard
    initializers gives (within ``tolerance``, or ``sampling_slack / sqrt(n)`` for a small layer);
    and what share of all parameters such layers must hold (``min_share``, certain at
    ``full_strength_share``)."""

    min_share: float
    full_strength_share: float
    tolerance: float
    sampling_slack: float
    max_mean_ratio: float
    min_elements: int
    unchanged_rel_tol: float


@detector
def frozen_at_init(ev: View, rule: FrozenAtInit) -> Finding:
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
        and _untouched(layer, model.frozen_stds[layer.name], rule)
        and _at_init(layer, rule)
    ]
    share = sum(math.prod(layer.shape) for layer in fresh) / model.params
    if share < rule.min_share:
        return Finding.no(f"{share:.0%} of the parameters are frozen at their initial values")
    names = ", ".join(layer.name for layer in fresh[:3]) + ("…" if fresh[3:] else "")
    return Finding.yes(
        scaled(share, rule.min_share, rule.full_strength_share),
        f"{share:.0%} of the parameters ({names}) have requires_grad=False yet hold freshly "
        "initialized random weights: they will never learn",
        where="optimizer",
    )


def _untouched(layer: InitLayer, final_std: float, rule: FrozenAtInit) -> bool:
    """The weights ended the run as they began it: not trained before they were frozen."""
    return math.isclose(final_std, layer.std, rel_tol=rule.unchanged_rel_tol)


def _at_init(layer: InitLayer, rule: FrozenAtInit) -> bool:
    """Zero-centred weights whose spread is one of the standard initializers' for this fan-in
    (PyTorch's default, He, Glorot), within sampling noise."""
    count = math.prod(layer.shape)
    if layer.constant or count < rule.min_elements or not layer.std:
        return False
    slack = max(rule.tolerance, rule.sampling_slack / math.sqrt(count))
    centred = abs(layer.mean) <= rule.max_mean_ratio * layer.std
    return centred and any(
        abs(layer.std / scale - 1.0) <= slack
        for scale in (layer.default_std, layer.he_std, layer.glorot_std)
        if scale
    )


class NarrowHiddenLayer(Params):
    """Which activations are a dense hidden layer (at most ``max_dense_dims`` dimensions: a
    convolution's channels share their work with the positions); from how many classes a layer
    narrower than the classes is a bottleneck (``min_classes``, certain at ``full_strength_ratio``
    classes per unit); and the width that is too narrow for any task (``min_width``, with
    ``tiny_strength``)."""

    max_dense_dims: int
    min_classes: int
    full_strength_ratio: float
    min_width: int
    tiny_strength: float


@detector
def narrow_hidden_layer(ev: View, rule: NarrowHiddenLayer) -> Finding:
    """A hidden representation narrower than the classes it must separate, or of one or two units
    whatever the task: everything the model knows must pass through it.

    Only the path that carries the representation counts: an activation the loss cannot go around
    (the child checks the first step's autograd graph: without it, the loss no longer reaches the
    first layer) and a recurrent state. An attention head's projection, a gate, an adapter or a
    branch beside a residual connection is narrow by design. Classes bound the width only for a
    classification task: a language model's 65-token output from a 32-wide stream is a low-rank
    softmax, not a bottleneck."""
    widths = _carrying_widths(ev, rule.max_dense_dims)
    if not widths:
        raise NotEvaluated("no hidden activation that everything passes through was measured")
    width, where = min(widths)
    classes = _classes_to_separate(ev)
    if classes and classes >= rule.min_classes and width < classes:
        return Finding.yes(
            scaled(classes / width, 1, rule.full_strength_ratio),
            f"{where} has {width} units for {classes} classes, and everything the model computes "
            "passes through it: a bottleneck narrower than the output",
            where="forward",
        )
    if width <= rule.min_width:
        return Finding.yes(
            rule.tiny_strength,
            f"{where} has only {width} unit{'s' if width > 1 else ''}, and everything the model "
            "computes passes through it",
            where="forward",
        )
    return Finding.no(f"the narrowest layer everything passes through has {width} units")


def _classes_to_separate(ev: View) -> int | None:
    """The classes of a classification task: from the probe's task model when the run has one
    (a next-token task's vocabulary is not a set of classes to separate), else from a class-score
    loss."""
    fit = ev.observe.fit
    if fit is not None and fit.task.kind:
        return fit.task.classes if fit.task.kind == "classification" else None
    loss = observed(ev, "loss")
    return loss.n_classes if loss.kind in CLASS_SCORE_LOSSES else None


def _carrying_widths(ev: View, max_dense_dims: int) -> list[tuple[int, str]]:
    """Units of each dense hidden activation (at most ``max_dense_dims`` dimensions: (batch,
    units) or (batch, positions, units); the output's own softmax/sigmoid aside) that the loss
    cannot go around, and of each recurrent state (PyTorch names its hidden-to-hidden weights
    ``weight_hh``; their columns are the state). An activation whose graph was not checked
    (``cut`` None) does not count: a guess about the architecture is no evidence."""
    loss = ev.observe.loss
    outputs = loss.output_shape[-1] if loss and loss.output_shape else None
    activations = ev.observe.activations
    stats = activations.samples[0].stats if activations and activations.samples else []
    widths = [
        (stat.units, stat.name)
        for stat in stats
        if stat.cut
        and stat.dims <= max_dense_dims
        and not (stat.kind in {"softmax", "sigmoid"} and stat.units == outputs)
    ]
    layers = ev.observe.init.layers if ev.observe.init else []
    widths += [
        (layer.shape[1], layer.name)
        for layer in layers
        if layer.name.rsplit(".", 1)[-1].startswith("weight_hh") and len(layer.shape) == 2
    ]
    return widths
