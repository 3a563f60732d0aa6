"""Drawing plumbing for the report's plots: matplotlib figures to small, deterministic inline SVG.

matplotlib is imported on first use (the CLI starts without it), on the Agg backend, and figures
are ``Figure`` objects drawn directly: no pyplot, no global figure state. Text stays SVG
``<text>`` (``svg.fonttype='none'``), which matplotlib escapes, and mathtext is off, so a layer
called ``$x$`` or ``<b>`` shows as written. Ids are salted per plot and the date is left out, so
the same evidence always gives the same bytes (``diagnose report evidence.json`` reproduces the
page).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.typing import RcKeyType

MAX_POINTS = 400
MAX_LABEL = 24
MAX_TICKS = 12
COLORS = {
    "train": "#0969da",
    "val": "#bc4c00",
    "fix": "#1a7f37",
    "bad": "#cf222e",
    "muted": "#6e7781",
    "other": "#8250df",
}
STYLE: dict[RcKeyType, Any] = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "sans-serif",
    "font.size": 8.5,
    "axes.titlesize": 9.5,
    "axes.labelsize": 8.5,
    "legend.fontsize": 7.5,
    "xtick.labelsize": 7.5,
    "ytick.labelsize": 7.5,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "grid.linewidth": 0.5,
    "lines.linewidth": 1.3,
    "lines.markersize": 4,
    "legend.frameon": False,
    "image.cmap": "viridis",
    "axes.titlelocation": "left",
}
WIDE = (5.0, 2.8)


@dataclass
class Plot:
    """One report figure: its element id (``plot-loss``), a title, a caption, the SVG markup."""

    id: str
    title: str
    caption: str
    svg: str


@contextmanager
def drawing() -> Iterator[None]:
    """The report's matplotlib settings, for as long as figures are being built."""
    import matplotlib

    matplotlib.use("Agg")
    with matplotlib.rc_context(STYLE):
        yield


def canvas(
    size: tuple[float, float] = WIDE, rows: int = 1, columns: int = 1, **options: Any
) -> tuple[Figure, Any]:
    """A new figure and its axes (one ``Axes``, or an array of them)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=size, layout="constrained")
    return figure, figure.subplots(rows, columns, **options)


def to_svg(figure: Figure, plot_id: str) -> str:
    """The figure as an ``<svg>`` element (no XML prologue) to inline in HTML."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": plot_id}):  # clip-path ids unique across the page
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :].strip()


def thin(
    xs: Sequence[Any], ys: Sequence[Any], limit: int = MAX_POINTS
) -> tuple[list[Any], list[Any]]:
    """At most ``limit`` evenly spaced points, always keeping the last (where the run ended)."""
    step = max(1, math.ceil(len(xs) / limit))
    keep = list(range(0, len(xs), step))
    if keep and keep[-1] != len(xs) - 1:
        keep.append(len(xs) - 1)
    return [xs[i] for i in keep], [ys[i] for i in keep]


def finite_or_nan(values: Sequence[float | None]) -> list[float]:
    """Non-finite and missing values become gaps in a line."""
    return [v if v is not None and math.isfinite(v) else math.nan for v in values]


def positive_or_nan(values: Sequence[float | None]) -> list[float]:
    """For log axes: zero, negative, missing and non-finite values become gaps."""
    return [v if v is not None and math.isfinite(v) and v > 0 else math.nan for v in values]


def any_finite(values: Sequence[float]) -> bool:
    return any(math.isfinite(v) for v in values)


def spans_decades(values: Sequence[float]) -> bool:
    finite = [v for v in values if math.isfinite(v)]
    return bool(finite) and min(finite) > 0 and max(finite) / min(finite) > 100


def log_scale(ax: Axes, axis: str = "y") -> None:
    """A log axis in plain numbers (0.001, 1e-05): the default labels are mathtext, which is off."""
    from matplotlib.ticker import Formatter

    class PlainLog(Formatter):
        """Decades always; 2 and 5 between them when the axis spans under two decades."""

        def __init__(self, minor: bool) -> None:
            self.minor = minor

        def __call__(self, x: float, pos: int | None = None) -> str:
            if x <= 0:
                return ""
            if self.minor:
                assert self.axis is not None, "matplotlib sets the axis before formatting"
                low, high = sorted(self.axis.get_view_interval())
                mantissa = round(x / 10 ** math.floor(math.log10(x) + 1e-9))
                if low <= 0 or math.log10(high / low) >= 2 or mantissa not in (2, 5):
                    return ""
            return f"{x:g}"

    getattr(ax, f"set_{axis}scale")("log")
    target = getattr(ax, f"{axis}axis")
    target.set_major_formatter(PlainLog(minor=False))
    target.set_minor_formatter(PlainLog(minor=True))


def legend_above(ax: Axes, columns: int = 3) -> None:
    """The legend in a row above the axes, where it cannot hide bars or lines."""
    ax.legend(loc="lower left", bbox_to_anchor=(0, 1.0), ncols=columns, borderaxespad=0.2)


def short(name: str) -> str:
    return name if len(name) <= MAX_LABEL else name[: MAX_LABEL - 1] + "…"


def layer_axis(ax: Axes, names: Sequence[str]) -> None:
    """Layer names along x, thinned so that at most ``MAX_TICKS`` labels show."""
    every = max(1, math.ceil(len(names) / MAX_TICKS))
    slanted = len(names) > 4 or max(map(len, names), default=0) > 12
    ax.set_xticks(
        range(0, len(names), every),
        [short(n) for n in names[::every]],
        rotation=30 if slanted else 0,
        ha="right" if slanted else "center",
    )
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.grid(False, axis="x")
