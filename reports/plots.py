"""The report's evidence plots, one function per plot, each ``None`` when its evidence is absent.

Training-side plots live here (loss, LR range, gradients, updates, activations, initialisation);
data-side plots in ``plot_data``. ``build_plots`` runs them all for the HTML report.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

from diagnose.diagnosis import Diagnosis
from diagnose.evidence import Evidence
from diagnose.probes.sections import GradSample
from diagnose.reports.figure import (
    COLORS,
    Plot,
    any_finite,
    canvas,
    drawing,
    finite_or_nan,
    layer_axis,
    legend_above,
    log_scale,
    positive_or_nan,
    spans_decades,
    thin,
    to_svg,
)
from diagnose.reports.plot_data import classes_plot, confusion_plot, data_plot, samples_plot

if TYPE_CHECKING:
    from matplotlib.axes import Axes

HEALTHY_UPDATE = (1e-4, 1e-2)  # a decade either side of the ~1e-3 per step the rules call healthy
PlotFunction = Callable[[Diagnosis, Evidence], Plot | None]


def build_plots(diagnosis: Diagnosis, evidence: Evidence) -> tuple[list[Plot], list[str]]:
    """Every plot the evidence supports, and a note for each one that failed to draw.

    A plot that fails is left out and named: a drawing bug must not cost the user the report.
    """
    plots: list[Plot] = []
    failed: list[str] = []
    with drawing():
        for make in PLOTS:
            try:
                plot = make(diagnosis, evidence)
            except Exception as error:  # any failure drops only this figure
                failed.append(f"{make.__name__}: {type(error).__name__}: {error}")
                continue
            if plot is not None:
                plots.append(plot)
    return plots, failed


def loss_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    loss = evidence.observe.loss
    if loss is None or not loss.values:
        return None
    figure, ax = canvas()
    steps, values = _curve(loss.steps, loss.values)
    sparse = sum(map(math.isfinite, values)) < 20  # a line through few points needs its dots
    ax.plot(
        *thin(steps, values),
        "o-" if sparse else "-",
        color=COLORS["train"],
        ms=3,
        label="training loss",
    )
    passes = [
        (p.after_step, p.loss)
        for p in loss.eval_passes
        if p.loss is not None and math.isfinite(p.loss)
    ]
    if passes:
        ax.plot(*zip(*passes), "o-", color=COLORS["val"], label="validation loss")
    replay = _confirming_replay(diagnosis, evidence)
    if replay:
        ax.plot(
            *thin(*replay[1:]),
            color=COLORS["fix"],
            lw=1,
            alpha=0.8,
            label=f"with the fix (replay {replay[0]})",
        )
    if loss.n_classes and loss.n_classes > 1:
        ax.axhline(
            math.log(loss.n_classes),
            ls="--",
            lw=1,
            color=COLORS["muted"],
            label=f"chance: ln {loss.n_classes} = {math.log(loss.n_classes):.3g}",
        )
    _mark_nonfinite(ax, evidence, steps, values)
    if spans_decades(values + [v for _, v in passes]):
        log_scale(ax)
    ax.set(xlabel="optimizer step", ylabel=f"loss ({loss.kind})" if loss.kind else "loss")
    legend_above(ax, 2)
    caption = f"{len(loss.values)} training steps" + (
        f", {len(passes)} validation passes" if passes else ""
    )
    return Plot("plot-loss", "Loss", caption, to_svg(figure, "plot-loss"))


def _curve(steps: list[int], values: list[float]) -> tuple[list[int], list[float]]:
    """A loss curve against its optimizer steps, non-finite values as gaps."""
    return (steps if len(steps) == len(values) else list(range(len(values)))), finite_or_nan(values)


def _mark_nonfinite(ax: Axes, evidence: Evidence, steps: list[int], values: list[float]) -> None:
    """Where the run went NaN/Inf: a line at the step, and an X where the loss curve stops."""
    loss, gradients = evidence.observe.loss, evidence.observe.gradients
    step = loss.first_nonfinite_step if loss else None
    grad_step = gradients.first_nonfinite_grad_step if gradients else None
    if grad_step is not None and (step is None or grad_step < step):
        ax.axvline(
            grad_step,
            color=COLORS["bad"],
            lw=1,
            ls=":",
            label=f"first NaN/Inf gradient (step {grad_step})",
        )
    if step is None:
        return
    ax.axvline(step, color=COLORS["bad"], lw=1.2, label=f"first NaN/Inf loss (step {step})")
    before = [v for s, v in zip(steps, values) if s < step and math.isfinite(v)]
    if before:
        ax.plot([step], [before[-1]], "X", color=COLORS["bad"], markersize=7)


def _confirming_replay(
    diagnosis: Diagnosis, evidence: Evidence
) -> tuple[str, list[int], list[float]] | None:
    """The loss curve of the replay that confirmed the top cause, to draw beside the user's."""
    top = diagnosis.top
    if top is None or not top.confirmed or top.confirmation is None:
        return None
    replay = evidence.scenarios.get(top.confirmation.scenario)
    if replay is None or replay.loss is None or not replay.loss.values:
        return None
    return (top.confirmation.scenario, *_curve(replay.loss.steps, replay.loss.values))


def lr_range_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    replay = evidence.scenarios.get("lr_range")
    section = replay.lr_range if replay else None
    pairs = (
        [(lr, v) for lr, v in zip(section.lrs, section.losses) if lr > 0 and math.isfinite(v)]
        if section
        else []
    )
    if section is None or len(pairs) < 2:
        return None
    figure, ax = canvas()
    lrs, losses = thin([p[0] for p in pairs], [p[1] for p in pairs])
    ax.plot(lrs, losses, color=COLORS["train"], alpha=0.35, lw=1, label="loss")
    lr = diagnosis.lr_suggestion
    if lr and lr.curve_lrs:
        ax.plot(
            *thin(lr.curve_lrs, lr.curve_losses),
            color=COLORS["train"],
            label="smoothed (as analysed)",
        )
    log_scale(ax, "x")
    if losses[0] > 0 and max(losses) > 3 * losses[0]:
        ax.set_ylim(top=3 * losses[0])  # the final blow-up would flatten the useful part
    if lr:
        ax.axvline(lr.user_lr, color=COLORS["bad"], label=f"your LR {lr.user_lr:.3g}")
        ax.axvline(
            lr.suggested_lr, color=COLORS["fix"], ls="--", label=f"suggested {lr.suggested_lr:.3g}"
        )
        if lr.divergence_lr:
            ax.axvline(
                lr.divergence_lr,
                color=COLORS["muted"],
                ls=":",
                label=f"diverges {lr.divergence_lr:.3g}",
            )
    ax.set(xlabel="learning rate (log)", ylabel="training loss")
    legend_above(ax)
    stopped = f"; {section.stopped}" if section.stopped else ""
    return Plot(
        "plot-lr-range",
        "LR range test",
        f"{len(pairs)} steps with the LR rising exponentially{stopped}",
        to_svg(figure, "plot-lr-range"),
    )


def _grad_samples(evidence: Evidence) -> tuple[list[str], list[GradSample]] | None:
    """The layers, and the first, middle and last sampled step before the loss went non-finite."""
    gradients = evidence.observe.gradients
    if gradients is None or not gradients.layers or not gradients.samples:
        return None
    loss = evidence.observe.loss
    stop = loss.first_nonfinite_step if loss else None
    kept = [s for s in gradients.samples if stop is None or s.step < stop] or gradients.samples[:1]
    picked = kept if len(kept) <= 3 else [kept[0], kept[len(kept) // 2], kept[-1]]
    return gradients.layers, picked


def _per_layer(
    ax: Axes,
    layers: list[str],
    samples: list[GradSample],
    values: Callable[[GradSample], list[float | None]],
) -> None:
    colors = (COLORS["muted"], COLORS["other"], COLORS["train"])[-len(samples) :]
    for sample, color in zip(samples, colors):
        ax.plot(
            range(len(layers)),
            positive_or_nan(values(sample)),
            "o-",
            color=color,
            label=f"step {sample.step}",
        )
    log_scale(ax)
    layer_axis(ax, layers)
    legend_above(ax, 4)


def grad_flow_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    found = _grad_samples(evidence)
    if found is None or not any(any_finite(positive_or_nan(s.norms)) for s in found[1]):
        return None
    figure, ax = canvas()
    _per_layer(ax, *found, lambda s: s.norms)
    ax.set(ylabel="gradient norm (log)")
    return Plot(
        "plot-grad-flow",
        "Gradient flow",
        "gradient norm of each parameter, input side on the left",
        to_svg(figure, "plot-grad-flow"),
    )


def update_ratio_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    found = _grad_samples(evidence)
    if found is None or not any(any_finite(positive_or_nan(s.update_ratios)) for s in found[1]):
        return None
    figure, ax = canvas()
    ax.axhspan(*HEALTHY_UPDATE, color=COLORS["fix"], alpha=0.1, lw=0, label="healthy (~1e-3)")
    ax.axhline(1e-3, color=COLORS["fix"], lw=0.8, ls=":")
    _per_layer(ax, *found, lambda s: s.update_ratios)
    ax.set(ylabel="|update| / |weight| (log)")
    return Plot(
        "plot-update-ratio",
        "Update / weight ratio",
        "how much one optimizer step changes each weight, relative to its size",
        to_svg(figure, "plot-update-ratio"),
    )


def activations_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    section = evidence.observe.activations
    if section is None or not section.samples or not section.samples[-1].stats:
        return None
    sample = section.samples[-1]
    figure, ax = canvas()
    positions = range(len(sample.stats))
    ax.bar(
        [p - 0.2 for p in positions],
        [s.dead_fraction for s in sample.stats],
        0.4,
        color=COLORS["bad"],
        label="dead (never active)",
    )
    ax.bar(
        [p + 0.2 for p in positions],
        [s.saturated_fraction for s in sample.stats],
        0.4,
        color=COLORS["val"],
        label="saturated",
    )
    ax.axhline(0.5, color=COLORS["muted"], ls="--", lw=0.8, label="half of the units")
    if not any(s.dead_fraction or s.saturated_fraction for s in sample.stats):
        ax.text(
            0.5,
            0.25,
            "no dead or saturated units",
            transform=ax.transAxes,
            ha="center",
            color=COLORS["muted"],
        )
    ax.set_ylim(0, 1.05)
    layer_axis(ax, [s.name for s in sample.stats])
    ax.set(ylabel="fraction of units")
    legend_above(ax)
    return Plot(
        "plot-activations",
        "Activation health",
        f"each activation layer at step {sample.step}",
        to_svg(figure, "plot-activations"),
    )


def init_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    init = evidence.observe.init
    if init is None or not init.layers:
        return None
    figure, ax = canvas()
    positions = range(len(init.layers))
    ax.bar(
        positions,
        positive_or_nan([layer.std for layer in init.layers]),
        0.6,
        color=COLORS["train"],
        alpha=0.8,
        label="initial std",
    )
    ax.plot(
        positions,
        [layer.he_std for layer in init.layers],
        "^--",
        color=COLORS["val"],
        lw=0.8,
        label="He (ReLU)",
    )
    ax.plot(
        positions,
        [layer.glorot_std for layer in init.layers],
        "v--",
        color=COLORS["other"],
        lw=0.8,
        label="Glorot (tanh, sigmoid)",
    )
    log_scale(ax)
    layer_axis(ax, [layer.name for layer in init.layers])
    ax.set(ylabel="weight std (log)")
    legend_above(ax)
    return Plot(
        "plot-init",
        "Weight initialisation",
        "each weight's initial std beside the He and Glorot scales",
        to_svg(figure, "plot-init"),
    )


PLOTS: list[PlotFunction] = [
    loss_plot,
    lr_range_plot,
    grad_flow_plot,
    update_ratio_plot,
    activations_plot,
    init_plot,
    data_plot,
    classes_plot,
    confusion_plot,
    samples_plot,
]
