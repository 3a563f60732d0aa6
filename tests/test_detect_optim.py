"""Detectors of optimization health, on evidence built by hand: the edge cases a training run
rarely produces on demand."""

from __future__ import annotations

import pytest

from diagnose.evidence import Evidence, ObservedRun, RunInfo
from diagnose.probes.sections import ActivationSample, ActivationSection, ActivationStat
from diagnose.rules.detect_optim import relu_dead
from diagnose.rules.findings import NotEvaluated


def stat(kind: str, dead: float, name: str = "layer") -> ActivationStat:
    return ActivationStat(
        name=name,
        kind=kind,
        units=64,
        mean=0.1,
        std=0.2,
        zero_fraction=dead,
        dead_fraction=dead,
        saturated_fraction=0.0,
        input_std=1.0,
    )


def evidence(*samples: list[ActivationStat]) -> Evidence:
    return Evidence(
        script="train.py",
        observe=ObservedRun(
            run=RunInfo(scenario="observe", status="completed"),
            activations=ActivationSection(
                samples=[ActivationSample(step, stats) for step, stats in enumerate(samples)]
            ),
        ),
    )


def test_relu_dead_by_the_end_fires_at_its_later_weight():
    found = relu_dead(evidence([stat("relu", 0.1)], [stat("relu", 0.8, "fc2")]))
    assert found.fired and found.strength == pytest.approx(0.6 * 0.8)
    assert "by the end" in found.detail and "fc2" in found.detail


def test_relu_dead_is_clear_below_both_thresholds_and_reports_the_larger_share():
    found = relu_dead(evidence([stat("relu", 0.1)], [stat("relu", 0.3)]))
    assert not found.fired and found.detail == "30% of ReLU units dead"


def test_relu_dead_from_the_start_fires_whatever_the_last_sample_holds():
    found = relu_dead(evidence([stat("relu", 0.7)], [stat("tanh", 0.0)]))
    assert found.fired and found.strength == pytest.approx(0.7)
    assert "from the first step" in found.detail


def test_relu_dead_is_not_evaluated_when_the_last_sample_has_no_relu():
    """ReLUs alive at the first sample and none in the last: dying later cannot be judged (it
    raised a TypeError, reported as a detector error)."""
    with pytest.raises(NotEvaluated, match="last activation sample"):
        relu_dead(evidence([stat("relu", 0.1)], [stat("tanh", 0.0)]))
