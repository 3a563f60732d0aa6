"""The evidence in words and sparklines: the compact table both reports show, and per-layer detail.

Each row is plain strings (numbers already formatted); the templates escape them. Rows whose
evidence is absent are left out, never shown as zero.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from statistics import median

from diagnose.diagnosis import LRSuggestion
from diagnose.evidence import Evidence
from diagnose.probes.sections import GradSample, TensorSummary

SPARK = "▁▂▃▄▅▆▇█"


@dataclass
class Signal:
    """One measured quantity: its name, its numbers in words, and its curve when it has one."""

    name: str
    value: str
    trend: str = ""


@dataclass
class LayerRow:
    """One parameter: gradient norm and update ratio (last sample), initial std and scales."""

    name: str
    grad_norm: str
    update_ratio: str
    init_std: str
    he_std: str
    glorot_std: str


@dataclass
class ActivationRow:
    name: str
    kind: str
    units: int
    dead: str
    saturated: str
    zero: str


def sparkline(values: list[float], width: int = 48) -> str:
    """A Unicode sparkline; non-finite points show as '×'. Log scale if the range spans decades."""
    if not values:
        return ""
    step = max(1, math.ceil(len(values) / width))
    points = [values[i] for i in range(0, len(values), step)]
    finite = [v for v in points if math.isfinite(v)]
    if not finite:
        return "×" * len(points)
    use_log = min(finite) > 0 and max(finite) / min(finite) > 100
    scale = [math.log10(v) if use_log else v for v in finite]
    low, high = min(scale), max(scale)
    chars = []
    for v in points:
        if not math.isfinite(v):
            chars.append("×")
            continue
        x = math.log10(v) if use_log else v
        chars.append(SPARK[int((x - low) / (high - low) * (len(SPARK) - 1)) if high > low else 0])
    return "".join(chars)


def signals(evidence: Evidence, lr: LRSuggestion | None) -> list[Signal]:
    """The evidence table, in the order a reader checks a run: loss, LR, gradients, units, data."""
    rows = [
        _training_loss(evidence),
        _validation(evidence),
        _learning_rate(evidence),
        _projected_schedule(evidence),
        _lr_range(evidence, lr),
        _grad_norm(evidence),
        _update_ratio(evidence),
        _dead_units(evidence),
        _init_scale(evidence),
        _inputs(evidence),
        _classes(evidence),
    ]
    return [row for row in rows if row is not None]


def _g(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _training_loss(ev: Evidence) -> Signal | None:
    loss = ev.observe.loss
    if loss is None or not loss.values:
        return None
    finite = [v for v in loss.values if math.isfinite(v)]
    notes = [f"best {_g(min(finite))}" if finite else "no finite value"]
    if loss.n_classes and loss.n_classes > 1:
        notes.append(f"chance ln {loss.n_classes} = {math.log(loss.n_classes):.4g}")
    if loss.first_nonfinite_step is not None:
        notes.append(f"NaN/Inf from step {loss.first_nonfinite_step}")
    return Signal(
        "Training loss",
        f"{_g(loss.values[0])} → {_g(loss.values[-1])} over {len(loss.values)} steps "
        f"({'; '.join(notes)})",
        sparkline(loss.values),
    )


def _validation(ev: Evidence) -> Signal | None:
    passes = ev.observe.loss.eval_passes if ev.observe.loss else []
    losses = [p.loss for p in passes if p.loss is not None]
    accuracies = [p.accuracy for p in passes if p.accuracy is not None]
    if not losses and not accuracies:
        return None
    parts = [f"{_g(losses[0])} → {_g(losses[-1])}"] if losses else []
    if accuracies:
        parts.append(f"accuracy {accuracies[0]:.1%} → {accuracies[-1]:.1%}")
    return Signal(
        "Validation loss" if losses else "Validation accuracy",
        f"{', '.join(parts)} over {len(passes)} passes",
        sparkline(losses or accuracies),
    )


def _learning_rate(ev: Evidence) -> Signal | None:
    optimizer = ev.observe.optimizer
    if optimizer is None or not optimizer.optimizers:
        return None
    first = optimizer.optimizers[0]
    names = ", ".join(sorted({o.cls for o in optimizer.optimizers}))
    values = optimizer.lr_values
    changes = bool(values) and max(values) > min(values)
    value = (
        f"{names}, lr {values[0]:.3g} → {values[-1]:.3g}"
        if changes
        else f"{names}, lr {_g(first.lr)}"
    )
    return Signal("Learning rate", value, sparkline(values) if changes else "")


def _projected_schedule(ev: Evidence) -> Signal | None:
    """Where the scheduler takes the LR by the run's planned end, past the observed steps."""
    section = ev.observe.schedule
    projected = [s for s in section.schedulers if s.planned_steps and s.lrs] if section else []
    if not projected:
        return None
    first = projected[0]
    value = (
        f"{first.cls}: {first.lrs[0]:.3g} → {first.lrs[-1]:.3g} by step {first.planned_steps} of "
        f"the planned run ({first.observed_steps} observed)"
    )
    if len(projected) > 1:
        value += f"; {len(projected) - 1} more scheduler(s)"
    return Signal("LR schedule, projected", value, sparkline(first.lrs))


def _lr_range(ev: Evidence, lr: LRSuggestion | None) -> Signal | None:
    replay = ev.scenarios.get("lr_range")
    section = replay.lr_range if replay else None
    if section is None or not section.lrs:
        return None
    value = f"loss over LR {section.lrs[0]:.2g} to {section.lrs[-1]:.2g}"
    if lr:
        way = "above" if lr.decades_off > 0 else "below"
        value += (
            f"; suggested {lr.suggested_lr:.3g}, the script uses {lr.user_lr:.3g} "
            f"({abs(lr.decades_off):.1f} decades {way})"
        )
    first = section.losses[0] if section.losses else 0.0
    shown = [min(v, 3 * first) for v in section.losses] if first > 0 else section.losses
    return Signal(
        "LR range test", value, sparkline(shown)
    )  # capped: the final blow-up would flatten the rest


def _grad_norm(ev: Evidence) -> Signal | None:
    gradients = ev.observe.gradients
    if gradients is None or not gradients.total_norms:
        return None
    norms = gradients.total_norms
    finite = [v for v in norms if math.isfinite(v)]
    value = f"{_g(norms[0])} → {_g(norms[-1])}" + (f", largest {_g(max(finite))}" if finite else "")
    if gradients.first_nonfinite_grad_step is not None:
        value += f"; NaN/Inf from step {gradients.first_nonfinite_grad_step}"
    return Signal("Gradient norm (total)", value, sparkline(norms))


def _update_ratio(ev: Evidence) -> Signal | None:
    gradients = ev.observe.gradients
    ratios = (
        [
            r
            for s in gradients.samples
            for r in s.update_ratios
            if r is not None and math.isfinite(r)
        ]
        if gradients
        else []
    )
    if not ratios:
        return None
    return Signal(
        "Update / weight ratio",
        f"median {median(ratios):.2g} per step, layers {min(ratios):.2g} to "
        f"{max(ratios):.2g} (healthy ~1e-3)",
    )


def _dead_units(ev: Evidence) -> Signal | None:
    section = ev.observe.activations
    if section is None or not section.samples or not section.samples[-1].stats:
        return None
    sample = section.samples[-1]
    worst = max(sample.stats, key=lambda s: max(s.dead_fraction, s.saturated_fraction))
    return Signal(
        "Activations",
        f"worst layer {worst.name}: {worst.dead_fraction:.0%} dead, "
        f"{worst.saturated_fraction:.0%} saturated (step {sample.step})",
    )


def _init_scale(ev: Evidence) -> Signal | None:
    init = ev.observe.init
    layers = [layer for layer in init.layers if layer.he_std > 0] if init else []
    if not layers:
        return None
    worst = max(layers, key=lambda layer: abs(math.log((layer.std or 1e-12) / layer.he_std)))
    return Signal(
        "Initial weight scale",
        f"furthest from He: {worst.name} std {worst.std:.3g} "
        f"(He {worst.he_std:.3g}, Glorot {worst.glorot_std:.3g})",
    )


def _inputs(ev: Evidence) -> Signal | None:
    data = ev.observe.data
    summary: TensorSummary | None = data.inputs if data else None
    if summary is None or summary.mean is None:
        return None
    value = (
        f"{summary.dtype} {list(summary.shape)}, mean {summary.mean:.3g}, std {_g(summary.std)}, "
        f"range {_g(summary.min)} to {_g(summary.max)}"
    )
    if summary.nan or summary.inf:
        value += f"; {summary.nan} NaN, {summary.inf} Inf"
    return Signal("Inputs", value)


def _classes(ev: Evidence) -> Signal | None:
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    total = sum(counts.values())
    if not total:
        return None
    largest = max(counts, key=counts.__getitem__)
    return Signal(
        "Labels",
        f"{len(counts)} classes, largest class {largest} with {counts[largest] / total:.0%}",
    )


def layer_rows(ev: Evidence) -> list[LayerRow]:
    """Per parameter: the last gradient sample before any NaN, beside the initial statistics."""
    gradients, init = ev.observe.gradients, ev.observe.init
    sample = _last_finite_sample(ev)
    grads = (
        dict(zip(gradients.layers, zip(sample.norms, sample.update_ratios)))
        if gradients and sample
        else {}
    )
    initial = {layer.name: layer for layer in init.layers} if init else {}
    rows = []
    for name in [*grads, *(name for name in initial if name not in grads)]:
        norm, ratio = grads.get(name, (None, None))
        start = initial.get(name)
        rows.append(
            LayerRow(
                name,
                _short(norm),
                _short(ratio),
                _short(start.std if start else None),
                _short(start.he_std if start else None),
                _short(start.glorot_std if start else None),
            )
        )
    return rows


def _last_finite_sample(ev: Evidence) -> GradSample | None:
    gradients = ev.observe.gradients
    if gradients is None or not gradients.samples:
        return None
    loss = ev.observe.loss
    stop = loss.first_nonfinite_step if loss and loss.first_nonfinite_step is not None else math.inf
    return ([s for s in gradients.samples if s.step < stop] or gradients.samples[:1])[-1]


def _short(value: float | None) -> str:
    return "" if value is None else f"{value:.3g}"


def activation_rows(ev: Evidence) -> list[ActivationRow]:
    section = ev.observe.activations
    if section is None or not section.samples:
        return []
    return [
        ActivationRow(
            name=s.name,
            kind=s.kind,
            units=s.units,
            dead=f"{s.dead_fraction:.0%}",
            saturated=f"{s.saturated_fraction:.0%}",
            zero=f"{s.zero_fraction:.0%}",
        )
        for s in section.samples[-1].stats
    ]
