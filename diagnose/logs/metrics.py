"""Logged metrics of a finished run: CSV, JSON Lines, or TensorBoard event files.

Loggers name their columns freely (``loss``, ``train/loss``, ``val_loss``, ``Loss/valid``,
``lr-AdamW``, ``learning_rate``...). A column's role is read from the words of its name: a loss
word, a validation word, a learning-rate word, an accuracy word. Rows may be sparse (Lightning's
CSVLogger writes training and validation metrics on different rows): each series keeps only the
steps where it has a value.
"""

from __future__ import annotations

import csv
import json
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.errors import UsageError

TABLE_SUFFIXES = (".csv", ".tsv", ".jsonl", ".ndjson")
EVENT_FILE = "events.out.tfevents."
STEP_WORDS = ("step", "global_step", "iteration", "iter", "it", "batch", "epoch")
VALIDATION_WORDS = {"val", "valid", "validation", "eval", "evaluation", "dev", "test", "holdout"}
TRAIN_LOSS_WORDS = {"train", "training", "trn", "loss", "total", "avg", "mean", "epoch", "step"}
LR_WORDS = {"lr", "learning_rate", "learningrate"}


@dataclass
class Series:
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)

    def add(self, step: int, value: float) -> None:
        self.steps.append(step)
        self.values.append(value)


@dataclass
class LoggedMetrics:
    """The series a diagnosis can use; any may be empty."""

    source: Path
    loss: Series = field(default_factory=Series)
    val_loss: Series = field(default_factory=Series)
    val_accuracy: Series = field(default_factory=Series)
    lr: Series = field(default_factory=Series)
    columns: dict[str, str] = field(default_factory=dict)  # role -> the logged name it came from


def read_metrics(path: Path) -> LoggedMetrics:
    """The metrics in one log (a table file, an event file, or a folder of event files)."""
    if not path.exists():
        raise UsageError(f"{path}: no such log")
    if path.is_dir() or path.name.startswith(EVENT_FILE):
        named = _read_events(path)
    elif path.suffix.lower() in TABLE_SUFFIXES:
        named = _read_table(path)
    else:
        raise UsageError(
            f"{path}: not a metrics log (expected .csv, .jsonl or a TensorBoard event file/folder)"
        )
    metrics = _assign(path, named)
    if not metrics.loss.values and not metrics.val_loss.values:
        raise UsageError(
            f"{path}: no loss column found among {', '.join(sorted(named)) or 'no columns'}"
        )
    return metrics


def _words(name: str) -> list[str]:
    spaced = re.sub(r"([a-z])([A-Z])", r"\1_\2", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def role(name: str) -> str | None:
    """What a logged name measures: loss, val_loss, val_accuracy, lr, or None."""
    words = _words(name)
    joined = "_".join(words)
    validation = any(w in VALIDATION_WORDS for w in words)
    if any(w in LR_WORDS for w in words) or "learning_rate" in joined:
        return "lr"
    if "loss" in words or joined.endswith("loss"):
        return "val_loss" if validation else "loss"
    if validation and any(w.startswith("acc") for w in words):
        return "val_accuracy"
    return None


def _assign(path: Path, named: dict[str, Series]) -> LoggedMetrics:
    """Pick one logged series per role; for the training loss prefer the total over its parts."""
    metrics = LoggedMetrics(source=path)
    candidates: dict[str, list[str]] = {}
    for name in named:
        if (found := role(name)) is not None:
            candidates.setdefault(found, []).append(name)
    for found, names in candidates.items():
        best = min(
            names,
            key=lambda n: (
                not set(_words(n)) <= TRAIN_LOSS_WORDS | VALIDATION_WORDS | LR_WORDS,
                len(n),
            ),
        )
        setattr(metrics, found, _in_order(named[best]))
        metrics.columns[found] = best
    return metrics


def _in_order(series: Series) -> Series:
    """Sorted by step; a step logged twice (a resumed run) keeps its last value."""
    latest = dict(zip(series.steps, series.values))
    ordered = Series()
    for step in sorted(latest):
        ordered.add(step, latest[step])
    return ordered


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # "nan" and "inf" are kept: a NaN loss is the evidence
    except (TypeError, ValueError):
        return None
    return number


def _read_table(path: Path) -> dict[str, Series]:
    try:
        rows = _table_rows(path)
    except (OSError, UnicodeDecodeError, csv.Error, json.JSONDecodeError) as error:
        raise UsageError(f"{path}: cannot read the log ({error})") from None
    if not rows:
        raise UsageError(f"{path}: the log holds no rows")
    step_key = _step_column(rows)
    named: dict[str, Series] = {}
    for index, row in enumerate(rows):
        step = _number(row.get(step_key)) if step_key else None
        at = int(step) if step is not None and math.isfinite(step) else index
        for key, raw in row.items():
            if key == step_key or (value := _number(raw)) is None:
                continue
            named.setdefault(key, Series()).add(at, value)
    return named


def _table_rows(path: Path) -> list[dict[str, object]]:
    text = path.read_text(encoding="utf-8")
    if path.suffix.lower() in (".jsonl", ".ndjson"):
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
        return [row for row in rows if isinstance(row, dict)]
    dialect = "excel-tab" if path.suffix.lower() == ".tsv" else "excel"
    return [
        {k.strip(): v for k, v in row.items() if k and v not in (None, "")}
        for row in csv.DictReader(text.splitlines(), dialect=dialect)
    ]


def _step_column(rows: list[dict[str, object]]) -> str | None:
    keys = {key.lower(): key for row in rows[:50] for key in row}
    return next((keys[w] for w in STEP_WORDS if w in keys), None)


def _read_events(path: Path) -> dict[str, Series]:
    try:
        from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    except ImportError:
        raise UsageError(
            "reading TensorBoard logs needs the tensorboard package: "
            'pip install "nn-diagnose[tensorboard]"'
        ) from None
    if path.is_dir() and not any(path.rglob(f"{EVENT_FILE}*")):
        raise UsageError(f"{path}: no TensorBoard event file in this folder")
    accumulator = EventAccumulator(str(path), size_guidance={"scalars": 0})
    try:
        accumulator.Reload()
    except Exception as error:  # the reader raises many types for a damaged file
        raise UsageError(
            f"{path}: cannot read the event file ({type(error).__name__}: {error})"
        ) from None
    named: dict[str, Series] = {}
    for tag in accumulator.Tags().get("scalars", []):
        series = named.setdefault(tag, Series())
        for event in accumulator.Scalars(tag):
            series.add(int(event.step), float(event.value))
    return named


def find_logs(path: Path) -> list[Path]:
    """The logs under a path: the path itself, or each table file and each folder of event files."""
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise UsageError(f"{path}: no such log")
    event_dirs = sorted({p.parent for p in path.rglob(f"{EVENT_FILE}*")})
    tables = sorted(
        p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES
    )
    found = event_dirs + tables
    if not found:
        raise UsageError(
            f"{path}: no metrics log (.csv, .jsonl or TensorBoard event files) in this folder"
        )
    return found
