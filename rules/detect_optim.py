"""Detectors of optimization health: loss curve shape, update sizes, gradient flow, initialisation,
activations, learning-rate settings and gradient bookkeeping."""

from __future__ import annotations

import math
import statistics

from diagnose.evidence import Evidence
from diagnose.probes.sections import ActivationSample, ActivationStat, GradSample
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
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
def loss_nonfinite(ev: Evidence) -> Finding:
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


@detector
def loss_diverging(ev: Evidence, min_ratio: float = 3.0) -> Finding:
    values = finite_values(observed(ev, "loss").values)
    if len(values) < 10:
        raise NotEvaluated("fewer than 10 finite loss values")
    early = statistics.median(values[:3])  # where the loss started, not where it had already got to
    width = max(3, len(values) // 20)
    peak = max(statistics.median(values[i : i + width]) for i in range(len(values) - width + 1))
    if early <= 0 or peak / early < min_ratio:
        return Finding.no(f"peak/initial loss {peak / early if early > 0 else 0:.3g}")
    return Finding.yes(
        scaled(decades(peak / early), decades(min_ratio), 2),
        f"the training loss climbed from {early:.4g} to {peak:.4g} ({peak / early:.3g}x)",
    )


def _samples_before_divergence(ev: Evidence) -> list[GradSample]:
    gradients = observed(ev, "gradients")
    samples = require(gradients.samples, "gradient sample")
    loss = ev.observe.loss
    stop = loss.first_nonfinite_step if loss and loss.first_nonfinite_step is not None else math.inf
    kept = [s for s in samples if s.step < stop] or samples[:1]
    return kept


def _median_ratio(sample: GradSample) -> float | None:
    ratios = [r for r in sample.update_ratios if r is not None and not math.isnan(r)]
    return median(ratios) if ratios else None


@detector
def updates_too_large(ev: Evidence, max_ratio: float = 0.1) -> Finding:
    ratios = [r for r in map(_median_ratio, _samples_before_divergence(ev)) if r is not None]
    if not ratios:
        raise NotEvaluated("no parameter update was measured")
    worst = max(ratios)
    if worst < max_ratio:
        return Finding.no(f"largest median update/weight ratio {worst:.3g}")
    shown = "infinite" if math.isinf(worst) else f"{worst:.3g}"
    return Finding.yes(
        scaled(decades(worst / max_ratio), 0, 2),
        f"single steps change the weights by {shown} of their norm (healthy: ~1e-3)",
        where="optimizer",
    )


@detector
def updates_tiny(ev: Evidence, min_ratio: float = 1e-5, first_samples: int = 5) -> Finding:
    samples = observed(ev, "gradients").samples[:first_samples]
    ratios = [r for r in map(_median_ratio, samples) if r]
    if not ratios:
        raise NotEvaluated("no non-zero parameter update was measured")
    typical = statistics.median(ratios)
    if typical >= min_ratio:
        return Finding.no(f"median update/weight ratio {typical:.3g}")
    return Finding.yes(
        scaled(decades(min_ratio / typical), 0, 2),
        f"each step changes the weights by only {typical:.2g} of their norm (healthy: ~1e-3)",
        where="optimizer",
    )


@detector
def lr_decays_early(
    ev: Evidence, min_drop: float = 1e-3, within: float = 0.5, within_epochs: int = 3
) -> Finding:
    """The LR falls by ``min_drop`` early and training goes on without it: within the first half of
    the observed steps, or within the first ``within_epochs`` passes over the training data with
    another pass begun after it (a per-epoch schedule that leaves nothing to learn with after three
    epochs collapses whatever the planned length; a decay to zero that ends the run does not)."""
    opt = observed(ev, "optimizer")
    lrs = require(opt.lr_values, "learning rate per step")
    if len(lrs) < 10 or not lrs[0]:
        raise NotEvaluated("fewer than 10 steps with a learning rate")
    collapsed = next((i for i, lr in enumerate(lrs) if lr < lrs[0] * min_drop), None)
    if collapsed is None or (
        collapsed > within * len(lrs)
        and not _epoch_follows(ev, opt.lr_steps[collapsed], within_epochs)
    ):
        return Finding.no(f"learning rate {lrs[0]:.3g} → {lrs[-1]:.3g}")
    return Finding.yes(
        1.0,
        f"the learning rate fell from {lrs[0]:.3g} to {lrs[collapsed]:.3g} within "
        f"{opt.lr_steps[collapsed]} steps and ended at {lrs[-1]:.3g}",
        where="step",
    )


def _epoch_follows(ev: Evidence, step: int, within_epochs: int) -> bool:
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


@detector
def grads_vanish(ev: Evidence, max_ratio: float = 1e-4, min_layers: int = 3) -> Finding:
    gradients = observed(ev, "gradients")
    if len(gradients.layers) < min_layers:
        raise NotEvaluated(f"fewer than {min_layers} weight layers")
    ratios = []
    for sample in _samples_before_divergence(ev):
        relative = _relative_grads(sample)
        if len(relative) >= 2:
            ratios.append(relative[0] / relative[-1])
    if not ratios:
        raise NotEvaluated("no sample with gradients in two layers")
    typical = statistics.median(ratios)
    if typical > max_ratio:
        return Finding.no(f"first/last layer relative gradient {typical:.3g}")
    return Finding.yes(
        scaled(decades(max_ratio / typical), 0, 6),
        f"the first layer's gradient is {typical:.2g}x the last layer's (relative to weight "
        f"size) across {len(gradients.layers)} layers: gradients vanish toward the input",
    )


@detector
def grads_explode(ev: Evidence, min_growth: float = 1e3) -> Finding:
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
    if growth >= min_growth:
        return Finding.yes(
            scaled(decades(growth), decades(min_growth), 6),
            f"the gradient norm grew {growth:.3g}x, from {finite[0]:.3g} to {max(finite):.3g}",
        )
    return Finding.no(f"gradient norm growth {growth:.3g}x")


@detector
def grads_huge_at_start(ev: Evidence, min_ratio: float = 10.0) -> Finding:
    samples = require(observed(ev, "gradients").samples, "gradient sample")
    relative = _relative_grads(samples[0])
    if not relative:
        raise NotEvaluated("no layer with a gradient at the first step")
    worst = max(relative)
    if worst < min_ratio:
        return Finding.no(f"largest gradient/weight norm ratio {worst:.3g}")
    return Finding.yes(
        scaled(decades(worst / min_ratio), 0, 2),
        f"at the first step a layer's gradient is {worst:.3g}x the size of its weights",
    )


@detector
def init_constant(ev: Evidence, min_identical: float = 0.5) -> Finding:
    layers = require(observed(ev, "init").layers, "initial weight")
    hidden = [layer for layer in layers[:-1] if layer.shape[0] > 1]
    bad = [
        layer.name for layer in hidden if layer.constant or layer.identical_rows >= min_identical
    ]
    if not bad:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"{len(bad)} hidden weight(s) start with identical rows ({', '.join(bad[:4])}); "
        "every unit of such a layer gets the same gradient and stays identical",
    )


@detector
def init_scale_off(
    ev: Evidence,
    max_factor: float = 5.0,
    min_fraction: float = 0.5,
    normalized_factor: float = 10.0,
    max_larger: float = 3.0,
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
    small_factor = max(max_factor, normalized_factor) if init.normalization_layers else max_factor
    off = []
    for layer in layers:
        expected = (layer.default_std, layer.he_std, layer.glorot_std)
        larger, smaller = layer.std / max(expected), min(expected) / layer.std
        if larger >= max_larger or smaller >= small_factor:
            off.append((max(larger, smaller), layer))
    if len(off) < min_fraction * len(layers):
        return Finding.no(
            f"{len(off)} of {len(layers)} layers {max_larger:g}x above or {small_factor:g}x below "
            "the usual scales"
        )
    factor, layer = max(off, key=lambda item: item[0])
    direction = "larger" if layer.std > layer.he_std else "smaller"
    return Finding.yes(
        scaled(decades(factor), decades(max_larger), 2.5),
        f"{len(off)} of {len(layers)} weight layers start {factor:.3g}x {direction} than "
        f"He/Glorot/PyTorch-default scale (e.g. {layer.name}: std {layer.std:.3g}, "
        f"He {layer.he_std:.3g})",
    )


@detector
def relu_dead(
    ev: Evidence, min_dead: float = 0.5, layer_dead: float = 0.9, later_weight: float = 0.6
) -> Finding:
    """Dead ReLUs, strongest when dead from the start; dying later is often a consequence of
    divergence or bad data, so it counts ``later_weight`` as much."""
    samples = require(observed(ev, "activations").samples, "activation sample")
    start, end = _dead_share(samples[0]), _dead_share(samples[-1])
    if start is None:
        raise NotEvaluated("no ReLU activation was observed")
    # A last sample without ReLUs leaves `end` None and fails here (the engine then reports the
    # detector's error): see issue 23.
    for (overall, worst), weight, when in (  # type: ignore[misc]
        (start, 1.0, "from the first step"),
        (end, later_weight, "by the end"),
    ):
        if overall >= min_dead or worst.dead_fraction >= layer_dead:
            return Finding.yes(
                weight * max(overall, worst.dead_fraction * 0.8),
                f"{overall:.0%} of ReLU units output zero for the whole batch {when} "
                f"({worst.name}: {worst.dead_fraction:.0%})",
            )
    return Finding.no(f"{max(start[0], end[0] if end else 0):.0%} of ReLU units dead")


def _dead_share(sample: ActivationSample) -> tuple[float, ActivationStat] | None:
    """Unit-weighted share of dead ReLU units in one sample, and the worst layer."""
    relus = [s for s in sample.stats if s.kind in {"relu", "relu6"}]
    if not relus:
        return None
    units = sum(s.units for s in relus)
    return sum(s.dead_fraction * s.units for s in relus) / units, max(
        relus, key=lambda s: s.dead_fraction
    )


@detector
def activations_saturated(ev: Evidence, min_saturated: float = 0.5) -> Finding:
    samples = require(observed(ev, "activations").samples, "activation sample")
    squashing = [s for s in samples[0].stats if s.kind in {"sigmoid", "tanh", "hardtanh"}]
    if not squashing:
        raise NotEvaluated("no sigmoid/tanh activation was observed")
    mean = sum(s.saturated_fraction for s in squashing) / len(squashing)
    if mean < min_saturated:
        return Finding.no(f"{mean:.0%} of sigmoid/tanh outputs saturated")
    return Finding.yes(
        mean,
        f"{mean:.0%} of sigmoid/tanh outputs sit at their bounds at the first step, "
        "where their gradient is ~0",
    )


@detector
def grads_not_cleared(ev: Evidence, min_fraction: float = 0.5, min_checks: int = 5) -> Finding:
    book = observed(ev, "bookkeeping")
    if book.stale_checks < min_checks:
        raise NotEvaluated(f"fewer than {min_checks} optimizer steps checked")
    fraction = book.stale_steps / book.stale_checks
    if fraction < min_fraction:
        return Finding.no(f"{fraction:.0%} of steps applied stale gradients")
    return Finding.yes(
        fraction,
        f"in {book.stale_steps} of {book.stale_checks} steps checked, the optimizer's "
        f"gradients had not been cleared since its previous step (zero_grad was called "
        f"{book.zero_grad_calls} times)",
        where="backward",
    )


@detector
def lr_atypical(
    ev: Evidence, direction: str = "high", limits: dict[str, float] | None = None
) -> Finding:
    optimizers = require(observed(ev, "optimizer").optimizers, "optimizer")
    limits = limits or {}
    for info in optimizers:
        limit = limits.get(info.cls)
        if limit is None or info.lr is None or info.lr <= 0:
            continue
        off = info.lr > limit if direction == "high" else info.lr < limit
        if off:
            return Finding.yes(
                scaled(decades(info.lr / limit), 0, 1.5),
                f"{info.cls} with lr={info.lr:g} is far "
                f"{'above' if direction == 'high' else 'below'} the usual range for {info.cls} "
                f"(limit {limit:g})",
                where="optimizer",
            )
    return Finding.no()


@detector
def weight_decay_high(ev: Evidence, limits: dict[str, float] | None = None) -> Finding:
    optimizers = require(observed(ev, "optimizer").optimizers, "optimizer")
    for info in optimizers:
        limit = (limits or {}).get(info.cls)
        if limit is not None and info.weight_decay and info.weight_decay >= limit:
            return Finding.yes(
                scaled(decades(info.weight_decay / limit), 0, 1.5),
                f"{info.cls} with weight_decay={info.weight_decay:g}",
                where="optimizer",
            )
    return Finding.no()


@detector
def weights_shrinking(ev: Evidence, max_ratio: float = 0.5) -> Finding:
    samples = require(observed(ev, "gradients").samples, "gradient sample")
    if len(samples) < 3:
        raise NotEvaluated("fewer than three gradient samples")
    first, last = (sum(w for w in s.weight_norms if w) for s in (samples[0], samples[-1]))
    if not (math.isfinite(first) and math.isfinite(last)) or not first or last / first > max_ratio:
        return Finding.no()
    return Finding.yes(
        scaled(1 - last / first, 1 - max_ratio, 1),
        f"the total weight norm shrank from {first:.3g} to {last:.3g}",
    )


@detector
def tiny_batches(ev: Evidence, max_batch: int = 4) -> Finding:
    inputs = require(observed(ev, "data").inputs, "training input")
    batch = inputs.shape[0] if inputs.shape else 0
    if batch > max_batch:
        return Finding.no(f"batch size {batch}")
    return Finding.yes(1.0, f"training batches hold {batch} sample(s)", where="loader")


@detector
def loss_noisy(ev: Evidence, min_variation: float = 0.5) -> Finding:
    values = finite_values(observed(ev, "loss").values)
    if len(values) < 20:
        raise NotEvaluated("fewer than 20 finite loss values")
    late = window(values, 0.5, 1.0)
    mean = sum(late) / len(late)
    spread = math.sqrt(sum((v - mean) ** 2 for v in late) / len(late))
    variation = spread / abs(mean) if mean else 0.0
    if variation < min_variation:
        return Finding.no(f"loss variation {variation:.2f}")
    return Finding.yes(
        scaled(variation, min_variation, 2),
        f"the loss jumps by {variation:.0%} of its mean from step to step",
    )
