"""The report's data-side plots: input statistics, labels, sample inputs, validation by class.

Each function takes the Diagnosis and Evidence and returns a ``Plot``, or ``None`` when the
evidence it needs is absent (no image inputs, no labelled validation pass, ...).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from diagnose.diagnosis import Diagnosis
from diagnose.evidence import Evidence
from diagnose.probes.sections import TensorSummary
from diagnose.reports.figure import COLORS, WIDE, Plot, canvas, legend_above, to_svg

if TYPE_CHECKING:
    from matplotlib.axes import Axes

GRID_COLUMNS = 8
ANNOTATE_UP_TO = 12  # classes; beyond that the counts in the cells get unreadable


def data_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    data = evidence.observe.data
    if data is None:
        return None
    inputs = [
        (name, s)
        for name, s in (("training", data.inputs), ("validation", data.val_inputs))
        if s is not None and s.feature_mean
    ]
    if not inputs and not data.class_counts:
        return None
    panels = int(bool(inputs)) + int(bool(data.class_counts))
    figure, axes = canvas(WIDE, 1, panels, **({"width_ratios": [3, 2]} if panels > 1 else {}))
    axes = list(axes) if panels > 1 else [axes]
    if inputs:
        _feature_stats(axes[0], inputs)
        figure.legend(loc="outside upper left", ncols=3)
    if data.class_counts:
        _class_counts(axes[-1], data.class_counts)
    summary = inputs[0][1] if inputs else None
    caption = (
        f"inputs {summary.dtype} {list(summary.shape)}, range {summary.min:.3g} to "
        f"{summary.max:.3g}"
        if summary and summary.min is not None and summary.max is not None
        else ""
    )
    return Plot("plot-data", "Data", caption, to_svg(figure, "plot-data"))


def _feature_stats(ax: Axes, inputs: list[tuple[str, TensorSummary]]) -> None:
    """Mean ± std of each feature (each channel, for images), against the standardized band."""
    channels = len(inputs[0][1].shape) >= 4
    ax.axhspan(-1, 1, color=COLORS["fix"], alpha=0.08, lw=0, label="mean 0 ± std 1")
    for offset, (name, summary), color in zip(
        (-0.12, 0.12), inputs, (COLORS["train"], COLORS["val"])
    ):
        x = [i + (offset if len(inputs) > 1 else 0) for i in range(len(summary.feature_mean))]
        many = len(x) > 32
        spread = summary.feature_std if len(summary.feature_std) == len(x) else None
        ax.errorbar(
            x,
            summary.feature_mean,
            yerr=spread,
            fmt="-" if many else "o",
            color=color,
            ms=3,
            lw=0.8 if many else 0,
            elinewidth=0.8,
            capsize=0 if many else 2,
            label=name,
        )
    ax.set(ylabel="input mean ± std", xlabel="channel" if channels else "feature")
    features = len(inputs[0][1].feature_mean)
    ax.set_xlim(-0.5, features - 0.5)
    if features <= 8:
        ax.set_xticks(range(features))


def _class_counts(ax: Axes, counts: dict[int, int]) -> None:
    classes = sorted(counts)
    ax.bar(classes, [counts[c] for c in classes], color=COLORS["train"], width=0.7)
    ax.set(xlabel="class", ylabel="training labels")
    if len(classes) <= 20:
        ax.set_xticks(classes)
    ax.grid(False, axis="x")


def classes_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    loss = evidence.observe.loss
    confusion = loss.confusion if loss else []
    total = sum(map(sum, confusion))
    if not total:
        return None
    n = len(confusion)
    recall = [row[i] / sum(row) if sum(row) else math.nan for i, row in enumerate(confusion)]
    predicted = [sum(row[j] for row in confusion) / total for j in range(n)]
    figure, ax = canvas()
    ax.bar(
        [c - 0.2 for c in range(n)],
        recall,
        0.4,
        color=COLORS["train"],
        label="accuracy on the class",
    )
    ax.bar(
        [c + 0.2 for c in range(n)],
        predicted,
        0.4,
        color=COLORS["val"],
        label="share of predictions",
    )
    ax.axhline(1 / n, color=COLORS["muted"], ls="--", lw=0.8, label=f"chance (1/{n})")
    ax.set_ylim(0, 1.05)
    ax.set_xticks(range(n) if n <= 20 else range(0, n, math.ceil(n / 20)))
    ax.grid(False, axis="x")
    ax.set(xlabel="class", ylabel="fraction")
    legend_above(ax)
    return Plot(
        "plot-classes",
        "Validation by class",
        f"last labelled validation pass, {total} samples",
        to_svg(figure, "plot-classes"),
    )


def confusion_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    loss = evidence.observe.loss
    confusion = loss.confusion if loss else []
    if not sum(map(sum, confusion)):
        return None
    n = len(confusion)
    shares = [[count / sum(row) if sum(row) else 0.0 for count in row] for row in confusion]
    figure, ax = canvas((3.6, 3.2))
    image = ax.imshow(shares, vmin=0, vmax=1, cmap="Blues", interpolation="nearest")
    figure.colorbar(image, ax=ax, shrink=0.8, label="share of the true class")
    if n <= ANNOTATE_UP_TO:
        for i, row in enumerate(confusion):
            for j, count in enumerate(row):
                if count:
                    ax.text(
                        j,
                        i,
                        str(count),
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if shares[i][j] > 0.5 else "black",
                    )
    ticks = range(0, n, max(1, math.ceil(n / 20)))
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.grid(False)
    ax.set(xlabel="predicted class", ylabel="true class")
    return Plot(
        "plot-confusion",
        "Confusion matrix",
        "last labelled validation pass; rows are the true classes",
        to_svg(figure, "plot-confusion"),
    )


def samples_plot(diagnosis: Diagnosis, evidence: Evidence) -> Plot | None:
    data = evidence.observe.data
    images = data.sample_images if data else []
    if not images:
        return None
    import numpy as np

    labels = data.sample_labels if data else []
    columns = min(GRID_COLUMNS, len(images))
    rows = math.ceil(len(images) / columns)
    figure, axes = canvas((0.75 * columns, 0.85 * rows), rows, columns, squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(images):
            continue
        pixels = np.asarray(images[k], dtype=float)
        if pixels.shape[0] == 1:
            ax.imshow(pixels[0], cmap="gray", interpolation="nearest")
        else:
            low, high = pixels.min(), pixels.max()
            ax.imshow(
                np.transpose((pixels - low) / (high - low or 1.0), (1, 2, 0)),
                interpolation="nearest",
            )
        if k < len(labels):
            ax.set_title(f"label {labels[k]}", fontsize=7, pad=2)
    return Plot(
        "plot-samples",
        "Sample inputs",
        "the first training batch, each image scaled to its own range",
        to_svg(figure, "plot-samples"),
    )
