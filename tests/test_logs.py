"""`diagnose logs`: diagnosis from logged metrics (TensorBoard event files written by torch's
SummaryWriter, CSV and JSONL tables), as a user with only the logs of a failed run would call it."""

from __future__ import annotations

import csv
import json
import math
import random
from pathlib import Path

import pytest

from diagnose.cli.main import main
from diagnose.logs.metrics import read_metrics, role

pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
from torch.utils.tensorboard import SummaryWriter


def diverging(step: int) -> float:
    """Falls at first, then grows geometrically and overflows: an LR far too high."""
    if step < 30:
        return 2.3 * math.exp(-step / 20) + 0.5
    value = 1.0 * 1.2 ** (step - 30)
    return value if value < 1e6 else float("nan")


def healthy(step: int, noise: random.Random) -> float:
    return 2.3 * math.exp(-step / 60) + 0.15 + 0.05 * noise.random()


def write_events(folder: Path, scalars: dict[str, list[tuple[int, float]]]) -> Path:
    writer = SummaryWriter(str(folder))
    for tag, points in scalars.items():
        for step, value in points:
            writer.add_scalar(tag, value, step)
    writer.close()
    return folder


def overfitting_rows(epochs: int = 40) -> list[dict[str, float]]:
    """Training loss keeps falling; validation loss bottoms out at epoch 12 and climbs."""
    rows = []
    for epoch in range(epochs):
        train = 2.0 * math.exp(-epoch / 8) + 0.01
        val = 2.0 * math.exp(-epoch / 8) + 0.6 if epoch <= 12 else 0.69 + 0.01 * (epoch - 12) ** 1.5
        rows.append({"epoch": epoch, "train_loss": train, "val_loss": val})
    return rows


def report(out: Path) -> dict:
    return json.loads((out / "report.json").read_text())


def test_tensorboard_diverging_run_names_lr_too_high(tmp_path, capsys):
    log = write_events(
        tmp_path / "runs" / "big-lr",
        {
            "train/loss": [(s, diverging(s)) for s in range(120)],
            "lr": [(s, 0.5) for s in range(120)],
        },
    )
    code = main(["logs", str(log), "-o", str(tmp_path / "out"), "--no-color"])
    result = report(tmp_path / "out")
    assert code == 1
    assert result["causes"][0]["id"] == "lr_too_high"
    assert result["causes"][0]["confidence"] >= 0.5
    evidence = {e["symptom"] for e in result["causes"][0]["evidence"]}
    assert "loss_nonfinite" in evidence or "loss_diverging" in evidence
    # what a log cannot hold is listed, never silently passed
    not_evaluated = {s["id"] for s in result["not_evaluated"]}
    assert {"updates_too_large", "relu_dead", "nonfinite_inputs", "init_constant"} <= not_evaluated
    assert "lr_too_high" in capsys.readouterr().out


def test_csv_with_rising_validation_loss_names_overfitting(tmp_path):
    log = tmp_path / "history.csv"
    with open(log, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "train_loss", "val_loss"])
        writer.writeheader()
        writer.writerows(overfitting_rows())
    assert main(["logs", str(log), "-o", str(tmp_path / "out"), "-q"]) == 1
    top = report(tmp_path / "out")["causes"][0]
    assert top["id"] == "overfitting"
    assert any("validation loss" in e["detail"] for e in top["evidence"])


def test_tensorboard_healthy_run_is_healthy(tmp_path):
    noise = random.Random(0)
    log = write_events(
        tmp_path / "good",
        {
            "Loss/train": [(s, healthy(s, noise)) for s in range(300)],
            "Loss/valid": [(s, healthy(s, noise) + 0.1) for s in range(0, 300, 25)],
            "learning_rate": [
                (s, 1e-3 * 0.5 * (1 + math.cos(math.pi * s / 300))) for s in range(300)
            ],
        },
    )
    assert main(["logs", str(log), "-o", str(tmp_path / "out"), "-q"]) == 0
    result = report(tmp_path / "out")
    assert result["healthy"] and result["verdict"] == "healthy"
    assert all(c["confidence"] < 0.5 for c in result["causes"])


def test_sparse_lightning_style_csv_and_jsonl_read_alike(tmp_path):
    """Lightning's CSVLogger writes training and validation metrics on separate rows."""
    rows = overfitting_rows()
    sparse = tmp_path / "lightning" / "metrics.csv"
    sparse.parent.mkdir()
    with open(sparse, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(
            ["epoch", "step", "train_loss_step", "train_loss_epoch", "val_loss", "lr-Adam"]
        )
        for row in rows:
            step = row["epoch"] * 10
            writer.writerow([row["epoch"], step, row["train_loss"], "", "", 1e-3])
            writer.writerow([row["epoch"], step, "", row["train_loss"], row["val_loss"], ""])
    lines = tmp_path / "run.jsonl"
    lines.write_text(
        "".join(
            json.dumps(
                {"step": r["epoch"] * 10, "loss": r["train_loss"], "val/loss": r["val_loss"]}
            )
            + "\n"
            for r in rows
        )
    )
    from_csv, from_jsonl = read_metrics(sparse), read_metrics(lines)
    assert from_csv.columns["loss"] == "train_loss_step" and from_csv.columns["lr"] == "lr-Adam"
    assert from_csv.val_loss.values == from_jsonl.val_loss.values
    assert from_csv.loss.steps == from_jsonl.loss.steps == [r["epoch"] * 10 for r in rows]
    assert main(["logs", str(sparse), str(lines), "-o", str(tmp_path / "out"), "-q"]) == 1
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["groups"] == [{"group": "overfitting", "count": 2, "runs": ["lightning", "run"]}]
    assert (tmp_path / "out" / "index.html").is_file() and (
        tmp_path / "out" / "run" / "report.md"
    ).is_file()


def test_lightning_log_at_chance_is_not_called_healthy(tmp_path):
    """Validation accuracy at 10 % on 10 classes with a validation loss of ln 10 is a model that
    predicts uniformly: whatever the training loss did, the run is not learning."""
    noise = random.Random(2)
    log = tmp_path / "lightning_logs" / "version_0" / "metrics.csv"
    log.parent.mkdir(parents=True)
    with open(log, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "step", "train_loss_step", "val_loss", "val_acc"])
        for epoch in range(10):
            for step in range(epoch * 50, epoch * 50 + 50, 10):
                writer.writerow(
                    [epoch, step, 2.30 - 0.2 * epoch / 10 + 0.02 * noise.random(), "", ""]
                )
            writer.writerow(
                [
                    epoch,
                    epoch * 50 + 49,
                    "",
                    math.log(10) + 0.002 * noise.random(),
                    0.1 + 0.004 * noise.random(),
                ]
            )
    assert main(["logs", str(log), "-o", str(tmp_path / "out"), "-q"]) == 1
    result = report(tmp_path / "out")
    assert not result["healthy"] and result["verdict"] == "not_learning"
    assert "val_at_chance" in {s["id"] for s in result["failures"]}


@pytest.mark.parametrize(
    "name, expected",
    [
        ("loss", "loss"),
        ("train/loss", "loss"),
        ("Loss/valid", "val_loss"),
        ("valLoss", "val_loss"),
        ("eval_loss", "val_loss"),
        ("lr-AdamW", "lr"),
        ("learning_rate", "lr"),
        ("val_acc", "val_accuracy"),
        ("grad_norm", None),
        ("epoch", None),
    ],
)
def test_column_roles(name, expected):
    assert role(name) == expected


def test_folder_of_runs_is_diagnosed_as_a_batch(tmp_path):
    noise = random.Random(1)
    write_events(tmp_path / "runs" / "a", {"loss": [(s, diverging(s)) for s in range(120)]})
    write_events(tmp_path / "runs" / "b", {"loss": [(s, healthy(s, noise)) for s in range(200)]})
    assert main(["logs", str(tmp_path / "runs"), "-o", str(tmp_path / "out"), "-q"]) == 1
    rows = {
        r["name"]: r for r in json.loads((tmp_path / "out" / "summary.json").read_text())["rows"]
    }
    assert rows["a"]["top_cause"] == "lr_too_high" and rows["b"]["healthy"]


@pytest.mark.parametrize(
    "content, message",
    [
        ("epoch,accuracy\n1,0.5\n", "no loss column"),
        ("", "no rows"),
    ],
)
def test_unusable_logs_are_one_line_errors(tmp_path, capsys, content, message):
    log = tmp_path / "m.csv"
    log.write_text(content)
    assert main(["logs", str(log), "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_missing_and_foreign_files_are_refused(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("loss went up\n")
    assert main(["logs", str(tmp_path / "nope.csv")]) == 2
    assert main(["logs", str(tmp_path / "notes.txt")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "no such log" in err[0] and "not a metrics log" in err[1]
