"""Detectors of optimization health: loss curve shape, update sizes, gradient flow, initialisation,
activations, learning-rate settings and gradient bookkeeping."""

from __future__ import annotations

import math
import statistics

from diagnose.probes.sections import ActivationSample, ActivationStat, GradSample
from diagnose.rules.detect_learning import summed_items
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    Params,
    View,
    decades,
    detector,
    finite_values,
    median,
    observed,
    require,
    scaled,
    window,
)


@detector
def loss_nonfinite(ev: View) -> Finding:
    loss = observed(ev, "loss")
    if loss.first_nonfinite_step is None:
        require(loss.values, "training loss value")
        return Finding.no()
    return Finding.yes(
        1.0,
        f"the training loss became NaN/Inf at step {loss.first_nonfinite_step} "
        f"(of {len(loss.values)} observed)",
        where="loss",
    )


class LossDiverging(Params):
    """How high the loss must climb over where it started, and how both levels are read: the start
    from the first few values, the peak as a running median (one bad batch is no peak)."""

    min_ratio: float
    min_values: int
    early_points: int
    peak_window: float
    min_peak_points: int
    full_strength_decades: float


@detector
def loss_diverging(ev: View, rule: LossDiverging) -> Finding:
    """The loss climbs to ``min_ratio`` times where it started. The start is the median of the
    first ``early_points`` values, not a stretch of the run: a loss that diverges may have left its
    start within the first tenth already."""
    values = finite_values(observed(ev, "loss").values)
    if len(values) < rule.min_values:
        raise NotEvaluated(f"fewer than {rule.min_values} finite loss values")
    early = statistics.median(values[: rule.early_points])
    width = max(rule.min_peak_points, int(len(values) * rule.peak_window))
    peak = max(statistics.median(values[i : i + width]) for i in range(len(values) - width + 1))
    if early <= 0:
        return Finding.no(f"the loss started at {early:.3g}, not above zero: no ratio to its start")
    if peak / early < rule.min_ratio:
        return Finding.no(f"peak/initial loss {peak / early:.3g}")
    return Finding.yes(
        scaled(decades(peak / early), decades(rule.min_ratio), rule.full_strength_decades),
        f"the training loss climbed from {early:.4g} to {peak:.4g} ({peak / early:.3g}x)",
    )


def _samples_before_divergence(ev: View) -> list[GradSample]:
    gradients = observed(ev, "gradients")
    samples = require(gradients.samples, "gradient sample")
    loss = ev.observe.loss
    stop = loss.first_nonfinite_step if loss and loss.first_nonfinite_step is not None else math.inf
    kept = [s for s in samples if s.step < stop] or samples[:1]
    return kept


def _median_ratio(sample: GradSample) -> float | None:
    ratios = [r for r in sample.update_ratios if r is not None and not math.isnan(r)]
    return median(ratios) if ratios else None


class UpdatesTooLarge(Params):
    """The update/weight ratio above which one step moves the weights too far, and how far past it
    the evidence is as strong as it gets."""

    max_ratio: float
    full_strength_decades: float


@detector
def updates_too_large(ev: View, rule: UpdatesTooLarge) -> Finding:
    ratios = [r for r in map(_median_ratio, _samples_before_divergence(ev)) if r is not None]
    if not ratios:
        raise NotEvaluated("no parameter update was measured")
    worst = max(ratios)
    if worst < rule.max_ratio:
        return Finding.no(f"largest median update/weight ratio {worst:.3g}")
    shown = "an infinite multiple" if math.isinf(worst) else f"{worst:.3g}"
    return Finding.yes(
        scaled(decades(worst / rule.max_ratio), 0, rule.full_strength_decades),
        f"single steps change the weights by {shown} of their norm (healthy: ~1e-3)",
        where="optimizer",
    )


class UpdatesTiny(Params):
    """The update/weight ratio below which steps barely move the weights, read on the first
    samples (before any schedule or convergence shrinks them), and how far below it the evidence is
    as strong as it gets."""

    min_ratio: float
    first_samples: int
    full_strength_decades: float


@detector
def updates_tiny(ev: View, rule: UpdatesTiny) -> Finding:
    samples = observed(ev, "gradients").samples[: rule.first_samples]
    ratios = [r for r in map(_median_ratio, samples) if r]
    if not ratios:
        raise NotEvaluated("no non-zero parameter update was measured")
    typical = statistics.median(ratios)
    if typical >= rule.min_ratio:
        return Finding.no(f"median update/weight ratio {typical:.3g}")
    return Finding.yes(
        scaled(decades(rule.min_ratio / typical), 0, rule.full_strength_decades),
        f"each step changes the weights by only {typical:.2g} of their norm (healthy: ~1e-3)",
        where="optimizer",
    )


class LrDecaysEarly(Params):
    """How far the LR must fall, how early, and over how many observed steps, for the rest of the
    run to train at a rate too small to learn with."""

    min_drop: float
    within: float
    within_epochs: int
    min_steps: int


@detector
def lr_decays_early(ev: View, rule: LrDecaysEarly) -> Finding:
    """The LR falls by ``min_drop`` early and training goes on without it: within the first half of
    the observed steps, or within the first ``within_epochs`` passes over the training data with
    another pass begun after it (a per-epoch schedule that leaves nothing to learn with after three
    epochs collapses whatever the planned length; a decay to zero that ends the run does not)."""
    opt = observed(ev, "optimizer")
    lrs = require(opt.lr_values, "learning rate per step")
    if len(lrs) < rule.min_steps:
        raise NotEvaluated(f"fewer than {rule.min_steps} steps with a learning rate")
    if not lrs[0]:
        raise NotEvaluated("the learning rate starts at 0: no fall from its start can be measured")
    collapsed = next((i for i, lr in enumerate(lrs) if lr < lrs[0] * rule.min_drop), None)
    if collapsed is None or (
        collapsed > rule.within * len(lrs)
        and not _epoch_follows(ev, opt.lr_steps[collapsed], rule.within_epochs)
    ):
        return Finding.no(f"learning rate {lrs[0]:.3g} → {lrs[-1]:.3g}")
    return Finding.yes(
        1.0,
        f"the learning rate fell from {lrs[0]:.3g} to {lrs[collapsed]:.3g} within "
        f"{opt.lr_steps[collapsed]} steps and ended at {lrs[-1]:.3g}",
        where="step",
    )


def _epoch_follows(ev: View, step: int, within_epochs: int) -> bool:
    """Whether ``step`` falls in one of the first ``within_epochs`` passes over the training loader
    and a further pass began after it."""
    train = [
        loader
        for loader in (ev.observe.data.loaders if ev.observe.data else [])
        if loader.role == "train"
    ]
    starts = train[0].pass_steps if train else []
    begun = sum(start <= step for start in starts)
    return 0 < begun <= within_epochs and any(start > step for start in starts)


def _relative_grads(sample: GradSample) -> list[float]:
    """Gradient norm over weight norm per layer (scale-free), for layers where both are positive."""
    return [
        g / w
        for g, w in zip(sample.norms, sample.weight_norms)
        if g is not None and w and g > 0 and math.isfinite(g) and math.isfinite(w)
    ]


class GradsVanish(Params):
    """How much smaller the first layer's relative gradient must be than the last's, in a stack
    deep enough for it to matter, and how many decades make the evidence as strong as it gets."""

    max_ratio: float
    min_layers: int
    full_strength_decades: float


@detector
def grads_vanish(ev: View, rule: GradsVanish) -> Finding:
    gradients = observed(ev, "gradients")
    if len(gradients.layers) < rule.min_layers:
        raise NotEvaluated(f"fewer than {rule.min_layers} weight layers")
    ratios = []
    for sample in _samples_before_divergence(ev):
        relative = _relative_grads(sample)
        if len(relative) >= 2:
            ratios.append(relative[0] / relative[-1])
    if not ratios:
        raise NotEvaluated("no sample with gradients in two layers")
    typical = statistics.median(ratios)
    if typical > rule.max_ratio:
        return Finding.no(f"first/last layer relative gradient {typical:.3g}")
    return Finding.yes(
        scaled(decades(rule.max_ratio / typical), 0, rule.full_strength_decades),
        f"the first layer's gradient is {typical:.2g}x the last layer's (relative to weight "
        f"size) across {len(gradients.layers)} layers: gradients vanish toward the input",
    )


class GradsExplode(Params):
    """How many times its first value the gradient norm must grow to, and at what growth (in
    decades) the evidence is as strong as it gets."""

    min_growth: float
    full_strength_decades: float


@detector
def grads_explode(ev: View, rule: GradsExplode) -> Finding:
    gradients, loss = observed(ev, "gradients"), ev.observe.loss
    norms = gradients.total_norms
    if len(norms) < 2:
        raise NotEvaluated("fewer than two steps with gradients")
    grad_bad, loss_bad = (
        gradients.first_nonfinite_grad_step,
        loss.first_nonfinite_step if loss else None,
    )
    if grad_bad is not None and (loss_bad is None or grad_bad <= loss_bad):
        return Finding.yes(
            1.0,
            f"the gradient norm became NaN/Inf at step {grad_bad} "
            f"(it was {norms[0]:.3g} at the first step)",
        )
    finite = finite_values(norms)
    growth = max(finite) / finite[0] if finite and finite[0] > 0 else 0.0
    if growth >= rule.min_growth:
        return Finding.yes(
            scaled(decades(growth), decades(rule.min_growth), rule.full_strength_decades),
            f"the gradient norm grew {growth:.3g}x, from {finite[0]:.3g} to {max(finite):.3g}",
        )
    return Finding.no(f"gradient norm growth {growth:.3g}x")


class GradsHugeAtStart(Params):
    """How many times its weights' norm a layer's first gradient must be, and how far past that
    the evidence is as strong as it gets."""

    min_ratio: float
    full_strength_decades: float


@detector
def grads_huge_at_start(ev: View, rule: GradsHugeAtStart) -> Finding:
    """A layer's first gradient many times its weights: weights initialized far too small (or
    outputs far too large). Read in the units of a mean: a loss summed over the batch makes every
    gradient that many times larger whatever the initialization (its own symptom,
    sum_reduction)."""
    samples = require(observed(ev, "gradients").samples, "gradient sample")
    items = summed_items(ev.observe.loss)
    relative = [ratio / items for ratio in _relative_grads(samples[0])]
    if not relative:
        raise NotEvaluated("no layer with a gradient at the first step")
    worst = max(relative)
    summed = f", per item of a loss summed over {items:.0f}" if items > 1 else ""
    if worst < rule.min_ratio:
        return Finding.no(f"largest gradient/weight norm ratio {worst:.3g}{summed}")
    return Finding.yes(
        scaled(decades(worst / rule.min_ratio), 0, rule.full_strength_decades),
        f"at the first step a layer's gradient is {worst:.3g}x the size of its weights{summed}",
    )


class InitConstant(Params):
    """What share of a hidden layer's rows must start identical for its units to be copies."""

    min_identical: float


@detector
def init_constant(ev: View, rule: InitConstant) -> Finding:
    layers = require(observed(ev, "init").layers, "initial weight")
    hidden = [layer for layer in layers[:-1] if layer.shape[0] > 1]
    bad = [
        layer.name
        for layer in hidden
        if layer.constant or layer.identical_rows >= rule.min_identical
    ]
    if not bad:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"{len(bad)} hidden weight(s) start with identical rows ({', '.join(bad[:4])}); "
        "every unit of such a layer gets the same gradient and stays identical",
    )


class InitScaleOff(Params):
    """How far from the usual scales (above, below, and below in a normalized model) a layer may
    start, what share of the layers must be that far off, and how far off is as strong as it
    gets."""

    max_factor: float
    min_fraction: float
    normalized_factor: float
    max_larger: float
    full_strength_decades: float


@detector
def init_scale_off(
    ev: View,
    rule: InitScaleOff,
) -> Finding:
    """Weights far from the scale their fan-in calls for. Embedding tables sum over no fan-in, so
    no such scale applies to them. A model with normalization layers resets the scale of what its
    weights produce at each of them (LayerNorm(a·Wx) = LayerNorm(Wx)): there a small scale only
    matters when off by ``normalized_factor`` (GPT-2's N(0, 0.02) in a narrow transformer is a
    convention). No convention starts weights above He, the largest of them (it keeps a ReLU stack's
    variance): ``max_larger`` times He multiplies the activations' variance by its square at each
    layer, and in a normalized model shrinks every update relative to the weights."""
    init = observed(ev, "init")
    layers = [
        layer
        for layer in require(init.layers, "initial weight")
        if not layer.constant and not layer.lookup and layer.fan_in >= 2 and layer.std > 0
    ]
    if not layers:
        raise NotEvaluated("no non-constant weight layer with a fan-in")
    small_factor = (
        max(rule.max_factor, rule.normalized_factor)
        if init.normalization_layers
        else rule.max_factor
    )
    off = []
    for layer in layers:
        expected = (layer.default_std, layer.he_std, layer.glorot_std)
        larger, smaller = layer.std / max(expected), min(expected) / layer.std
        if larger >= rule.max_larger or smaller >= small_factor:
            off.append((max(larger, smaller), layer))
    if len(off) < rule.min_fraction * len(layers):
        return Finding.no(
            f"{len(off)} of {len(layers)} layers {rule.max_larger:g}x above or "
            f"{small_factor:g}x below the usual scales"
        )
    factor, layer = max(off, key=lambda item: item[0])
    direction = "larger" if layer.std > layer.he_std else "smaller"
    usual = (layer.default_std, layer.he_std, layer.glorot_std)
    return Finding.yes(
        scaled(decades(factor), decades(rule.max_larger), rule.full_strength_decades),
        f"{len(off)} of {len(layers)} weight layers start far from the He/Glorot/PyTorch-default "
        f"scales, up to {factor:.3g}x {direction} ({layer.name}: std {layer.std:.3g}, usual "
        f"{min(usual):.3g} to {max(usual):.3g})",
    )


class ReluDead(Params):
    """What share of ReLU units, overall or in one layer, must be dead; how much dying late counts
    against dying from the start; how much one dead layer counts against the whole network."""

    min_dead: float
    layer_dead: float
    later_weight: float
    layer_weight: float


@detector
def relu_dead(ev: View, rule: ReluDead) -> Finding:
    """Dead ReLUs, strongest when dead from the start; dying later is often a consequence of
    divergence or bad data, so it counts ``later_weight`` as much."""
    samples = require(observed(ev, "activations").samples, "activation sample")
    start, end = _dead_share(samples[0]), _dead_share(samples[-1])
    if start is None:
        raise NotEvaluated("no ReLU activation was observed")
    most = 0.0
    for share, weight, when in (
        (start, 1.0, "from the first step"),
        (end, rule.later_weight, "by the end"),
    ):
        if share is None:
            raise NotEvaluated(
                "the last activation sample holds no ReLU (the first does): whether units died "
                "later cannot be told"
            )
        overall, worst = share
        if overall >= rule.min_dead or worst.dead_fraction >= rule.layer_dead:
            return Finding.yes(
                weight * max(overall, worst.dead_fraction * rule.layer_weight),
                f"{overall:.0%} of ReLU units output zero for the whole batch {when} "
                f"({worst.name}: {worst.dead_fraction:.0%})",
            )
        most = max(most, overall)
    return Finding.no(f"{most:.0%} of ReLU units dead")


def _dead_share(sample: ActivationSample) -> tuple[float, ActivationStat] | None:
    """Unit-weighted share of dead ReLU units in one sample, and the worst layer."""
    relus = [s for s in sample.stats if s.kind in {"relu", "relu6"}]
    if not relus:
        return None
    units = sum(s.units for s in relus)
    return sum(s.dead_fraction * s.units for s in relus) / units, max(
        relus, key=lambda s: s.dead_fraction
    )


class ActivationsSaturated(Params):
    """What mean share of sigmoid/tanh outputs at their bounds leaves the network without a
    gradient to learn from."""

    min_saturated: float


@detector
def activations_saturated(ev: View, rule: ActivationsSaturated) -> Finding:
    samples = require(observed(ev, "activations").samples, "activation sample")
    squashing = [s for s in samples[0].stats if s.kind in {"sigmoid", "tanh", "hardtanh"}]
    if not squashing:
        raise NotEvaluated("no sigmoid/tanh activation was observed")
    mean = sum(s.saturated_fraction for s in squashing) / len(squashing)
    if mean < rule.min_saturated:
        return Finding.no(f"{mean:.0%} of sigmoid/tanh outputs saturated")
    return Finding.yes(
        mean,
        f"{mean:.0%} of sigmoid/tanh outputs sit at their bounds at the first step, "
        "where their gradient is ~0",
    )


class GradsNotCleared(Params):
    """What share of the steps checked must apply gradients left over from an earlier step, out of
    enough steps to be a habit of the loop."""

    min_fraction: float
    min_checks: int


@detector
def grads_not_cleared(ev: View, rule: GradsNotCleared) -> Finding:
    book = observed(ev, "bookkeeping")
    if book.stale_checks < rule.min_checks:
        raise NotEvaluated(f"fewer than {rule.min_checks} optimizer steps checked")
    fraction = book.stale_steps / book.stale_checks
    if fraction < rule.min_fraction:
        return Finding.no(f"{fraction:.0%} of steps applied stale gradients")
    return Finding.yes(
        fraction,
        f"in {book.stale_steps} of {book.stale_checks} steps checked, the optimizer's "
        f"gradients had not been cleared since its previous step (zero_grad was called "
        f"{book.zero_grad_calls} times)",
        where="backward",
    )


class LrAtypical(Params):
    """Which side of the usual range is judged ("high" or "low"), its limit per optimizer class,
    and how many decades past it the evidence is as strong as it gets."""

    direction: str
    limits: dict[str, float]
    full_strength_decades: float


@detector
def lr_atypical(ev: View, rule: LrAtypical) -> Finding:
    optimizers = require(observed(ev, "optimizer").optimizers, "optimizer")
    for info in optimizers:
        limit = rule.limits.get(info.cls)
        if limit is None or info.lr is None or info.lr <= 0:
            continue
        off = info.lr > limit if rule.direction == "high" else info.lr < limit
        if off:
            return Finding.yes(
                scaled(decades(info.lr / limit), 0, rule.full_strength_decades),
                f"{info.cls} with lr={info.lr:g} is far "
                f"{'above' if rule.direction == 'high' else 'below'} the usual range for "
                f"{info.cls} (limit {limit:g})",
                where="optimizer",
            )
    return Finding.no()


class WeightDecayHigh(Params):
    """The weight decay per optimizer class from which it overpowers the data's gradient, and how
    many decades past it the evidence is as strong as it gets."""

    limits: dict[str, float]
    full_strength_decades: float


@detector
def weight_decay_high(ev: View, rule: WeightDecayHigh) -> Finding:
    optimizers = require(observed(ev, "optimizer").optimizers, "optimizer")
    for info in optimizers:
        limit = rule.limits.get(info.cls)
        if limit is not None and info.weight_decay and info.weight_decay >= limit:
            return Finding.yes(
                scaled(decades(info.weight_decay / limit), 0, rule.full_strength_decades),
                f"{info.cls} with weight_decay={info.weight_decay:g}",
                where="optimizer",
            )
    return Finding.no()


class WeightsShrinking(Params):
    """What share of its starting norm the weights may keep and still be shrinking, over enough
    samples to tell."""

    max_ratio: float
    min_samples: int


@detector
def weights_shrinking(ev: View, rule: WeightsShrinking) -> Finding:
    samples = require(observed(ev, "gradients").samples, "gradient sample")
    if len(samples) < rule.min_samples:
        raise NotEvaluated(f"fewer than {rule.min_samples} gradient samples")
    first, last = (sum(w for w in s.weight_norms if w) for s in (samples[0], samples[-1]))
    if (
        not (math.isfinite(first) and math.isfinite(last))
        or not first
        or last / first > rule.max_ratio
    ):
        return Finding.no()
    return Finding.yes(
        scaled(1 - last / first, 1 - rule.max_ratio, 1),
        f"the total weight norm shrank from {first:.3g} to {last:.3g}",
    )


class TinyBatches(Params):
    """The largest batch still too small for a usable gradient estimate."""

    max_batch: int


@detector
def tiny_batches(ev: View, rule: TinyBatches) -> Finding:
    inputs = require(observed(ev, "data").inputs, "training input")
    batch = inputs.shape[0] if inputs.shape else 0
    if batch > rule.max_batch:
        return Finding.no(f"batch size {batch}")
    return Finding.yes(1.0, f"training batches hold {batch} sample(s)", where="loader")


class LossNoisy(Params):
    """How widely the loss may spread, against where the run started, over the stretch of the run
    where it should have settled, read on enough values; the first stretch that sets the scale;
    and the spread that is as strong as the evidence gets."""

    min_variation: float
    min_values: int
    early_end: float
    late_start: float
    full_strength_variation: float


@detector
def loss_noisy(ev: View, rule: LossNoisy) -> Finding:
    """The loss's standard deviation over the last stretch of the run, from ``late_start`` on, is
    ``min_variation`` of its starting level or more (the median of its first stretch). Read
    against the mean of the late stretch instead, a run that fits well looks noisy: a regression
    ending at 0.01 with steps between 0.002 and 0.1 jumps by 150 % of its mean, yet by less than
    a tenth of the 0.5 it started from."""
    values = finite_values(observed(ev, "loss").values)
    if len(values) < rule.min_values:
        raise NotEvaluated(f"fewer than {rule.min_values} finite loss values")
    start = statistics.median(window(values, 0.0, rule.early_end))
    if start <= 0:
        raise NotEvaluated(f"the loss starts at {start:.3g}: no level to read its spread against")
    late = window(values, rule.late_start, 1.0)
    mean = sum(late) / len(late)
    spread = math.sqrt(sum((v - mean) ** 2 for v in late) / len(late))
    variation = spread / start
    if variation < rule.min_variation:
        return Finding.no(
            f"the late loss spreads by {variation:.0%} of where it started ({start:.3g})"
        )
    return Finding.yes(
        scaled(variation, rule.min_variation, rule.full_strength_variation),
        f"over the last {1 - rule.late_start:.0%} of the run the loss's standard deviation is "
        f"{variation:.0%} of where it started ({start:.3g}; its late mean is {mean:.3g})",
    )
