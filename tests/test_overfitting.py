"""Overfitting is judged on the task's own measure, against chance: a classifier by its accuracy
on validation against a guess's error, never by a ratio of two losses near zero. Two real runs: a
binary classifier that learns 150 rows by heart and scores three in four on validation
(overfitting), and a digits classifier right 95 times in 100 on validation whose training loss
reaches a hundredth of its validation loss (healthy)."""

from __future__ import annotations

import importlib.util
import textwrap

import pytest

from diagnose.rules.engine import evaluate_symptoms

# The shape of the classic overfit: 40 features of which 3 carry the label, a wide MLP, 150 rows.
MEMORIZER = textwrap.dedent("""
    import torch
    from torch import nn

    torch.manual_seed(0)

    def rows(n):
        x = torch.randn(n, 40)
        y = (1.5 * x[:, 0] - x[:, 1] + 0.5 * x[:, 2] + torch.randn(n) > 0).float()
        return x, y.unsqueeze(1)

    x, y = rows(150)
    x_val, y_val = rows(1000)
    model = nn.Sequential(nn.Linear(40, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                          nn.Linear(256, 1))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(60):
        model.train()
        for batch in torch.randperm(150).split(32):
            optimizer.zero_grad()
            loss_fn(model(x[batch]), y[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            loss_fn(model(x_val), y_val)
""")

# Handwritten digits (shipped with scikit-learn): an MLP fits the training rows to ~100 % and
# validation to ~95 %; its validation loss stays many times its training loss.
CONFIDENT = textwrap.dedent("""
    import torch
    from sklearn.datasets import load_digits
    from torch import nn

    torch.manual_seed(0)
    digits = load_digits()
    order = torch.randperm(len(digits.target))
    x = torch.tensor(digits.data, dtype=torch.float32)[order] / 16
    y = torch.tensor(digits.target)[order]
    x, y, x_val, y_val = x[:400], y[:400], x[1400:], y[1400:]
    model = nn.Sequential(nn.Linear(64, 512), nn.ReLU(), nn.Linear(512, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(20):
        model.train()
        for batch in torch.randperm(400).split(16):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            nn.functional.cross_entropy(model(x_val), y_val)
""")


@pytest.fixture(scope="module")
def scripts(tmp_path_factory):
    folder = tmp_path_factory.mktemp("overfitting")
    for name, text in (("memorizer.py", MEMORIZER), ("confident.py", CONFIDENT)):
        (folder / name).write_text(text)
    return folder


def test_a_binary_classifier_that_learns_its_rows_by_heart_overfits(
    scripts, observed, diagnosed, rule_book
):
    """Its validation loss climbs above a constant prediction's, yet it is right three times in
    four where the majority label is right half the time: it learned, and carries less than it
    fit. The binary task's majority share is what its accuracy is judged against."""
    evidence = observed(scripts / "memorizer.py", steps=300)
    assert evidence.observe.fit is not None
    task = evidence.observe.fit.task
    assert task.kind == "binary" and 0.4 < task.majority["val"] < 0.6
    symptoms = evaluate_symptoms(rule_book, evidence)
    assert symptoms["val_at_chance"].status == "clear", symptoms["val_at_chance"].detail
    assert symptoms["generalization_gap"].status == "fired"
    assert "of a guess's error" in symptoms["generalization_gap"].detail
    diagnosis = diagnosed(scripts / "memorizer.py", steps=300)
    assert not diagnosis.healthy and diagnosis.causes[0].id == "overfitting"
    assert diagnosis.causes[0].confidence >= 0.5


@pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="needs scikit-learn")
def test_a_classifier_right_on_most_of_validation_does_not_overfit(
    scripts, observed, diagnosed, rule_book
):
    """The training probe loss ends tens of times below the validation probe loss (the old ratio
    reading called that memorization), but the accuracies are a few points apart, within a small
    share of a guess's error."""
    evidence = observed(scripts / "confident.py", steps=300)
    fit = evidence.observe.fit
    assert fit is not None and fit.task.kind == "classification"
    last = fit.checkpoints[-1]
    assert last.val is not None and last.train is not None and last.val > 10 * last.train
    assert last.val_accuracy is not None and last.val_accuracy > 0.9
    gap = evaluate_symptoms(rule_book, evidence)["generalization_gap"]
    assert gap.status == "clear" and "score" in gap.detail, gap.detail
    diagnosis = diagnosed(scripts / "confident.py", steps=300)
    assert diagnosis.healthy, [(c.id, c.confidence) for c in diagnosis.causes]
