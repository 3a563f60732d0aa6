"""The level of a regression model that learned nothing: the loss of predicting each batch's
target mean (median for L1), measured with torch's own loss functions as the reference."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from diagnose.probes.loss import constant_prediction_loss

TARGETS = (
    torch.randn(64, 3, generator=torch.Generator().manual_seed(0)) * torch.tensor([0.5, 2.0, 4.0])
    + 3.0
)


@pytest.mark.parametrize(
    "name, kwargs, centre",
    [
        ("mse_loss", {}, TARGETS.mean(0, keepdim=True)),
        ("l1_loss", {}, TARGETS.median(0, keepdim=True).values),
        ("huber_loss", {"delta": 2.0}, TARGETS.mean(0, keepdim=True)),
        ("smooth_l1_loss", {"beta": 0.5}, TARGETS.mean(0, keepdim=True)),
        ("smooth_l1_loss", {}, TARGETS.mean(0, keepdim=True)),
    ],
)
def test_the_baseline_is_the_loss_of_a_constant_prediction(name, kwargs, centre):
    prediction = torch.zeros_like(TARGETS, requires_grad=True)
    expected = getattr(F, name)(centre.expand_as(TARGETS), TARGETS, **kwargs).item()
    assert constant_prediction_loss(name, prediction, TARGETS, kwargs) == pytest.approx(
        expected, rel=1e-5
    )


def test_a_constant_prediction_is_what_a_model_that_learned_nothing_scores():
    """Fitting only a bias to targets that no input explains ends at the baseline, not below it."""
    bias = torch.zeros(1, 3, requires_grad=True)
    optimizer = torch.optim.Adam([bias], lr=0.1)
    for _ in range(300):
        optimizer.zero_grad()
        loss = F.mse_loss(bias.expand_as(TARGETS), TARGETS)
        loss.backward()
        optimizer.step()
    baseline = constant_prediction_loss("mse_loss", bias.expand_as(TARGETS), TARGETS, {})
    assert loss.item() == pytest.approx(baseline, rel=1e-3)


@pytest.mark.parametrize(
    "name, prediction, target",
    [
        ("cross_entropy", torch.randn(8, 4), torch.randint(0, 4, (8,))),
        (
            "mse_loss",
            torch.randn(8, 1),
            torch.randn(8),
        ),  # a broadcast: not a per-element comparison
        ("mse_loss", torch.randn(1, 3), torch.randn(1, 3)),  # one row has no spread to predict
        ("l1_loss", torch.randn(8), torch.randint(0, 4, (8,))),
    ],
)
def test_no_baseline_where_a_constant_prediction_means_nothing(name, prediction, target):
    assert constant_prediction_loss(name, prediction, target, {}) is None
