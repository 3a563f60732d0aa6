"""How a fix replay is judged against the observed run (rules/confirm.py), on evidence built by
hand: the same steps on both sides, the probe's jitter, a fix that changes the loss itself, and a
fix that makes a slow run learn at once. No training run needed."""

from __future__ import annotations

import dataclasses

from symptom_cases import fit, replay, run_info

from diagnose.evidence import ObservedRun
from diagnose.probes.sections import LossSection, TaskInfo
from diagnose.rules.confirm import judge_fix

REGRESSION = TaskInfo(kind="regression", loss="mse_loss")
CLASSES = TaskInfo(kind="classification", loss="cross_entropy", classes=10)


def losses(values: list[float], accuracies: list[float] | None = None) -> LossSection:
    """A running loss at steps 0, 1, ...; accuracies sampled every step from the start."""
    accuracies = accuracies or []
    return LossSection(
        kind="cross_entropy",
        steps=list(range(len(values))),
        values=values,
        train_accuracy=accuracies,
        train_accuracy_steps=list(range(len(accuracies))),
    )


def observed(loss: LossSection, **sections: object) -> ObservedRun:
    return ObservedRun(run=run_info(), loss=loss, **sections)


def test_an_extended_observation_is_compared_over_the_replays_steps_only():
    """The observation ran 600 steps (its loss was still falling) and caught up late; the replay
    ran 200. Over those 200 steps the broken run sat at 30 % and the fixed one at 97 %."""
    slow = [0.1] * 50 + [0.3] * 150 + [0.9] * 400
    before = observed(losses([2.0] * 600, slow))
    after = replay("fix", loss=losses([0.3] * 200, [0.5] * 20 + [0.97] * 180))
    confirmed, summary, _, _ = judge_fix("training_improves", before, after)
    assert confirmed
    assert summary == "training accuracy 30.0% → 97.0% over the same steps"


def test_a_fix_that_makes_a_slow_run_learn_at_once_is_confirmed_by_its_average():
    """Both runs end within a few points of each other; averaged over the same steps the fix is 28
    points ahead: it removed the slowness the long horizon let the broken run make up for."""
    before = observed(losses([1.0] * 100, [i / 50 * 0.9 for i in range(50)] + [0.9] * 50))
    after = replay("fix", loss=losses([1.0] * 100, [0.9] * 5 + [0.95] * 95))
    confirmed, summary, _, _ = judge_fix("training_improves", before, after)
    assert confirmed
    assert summary == "training accuracy averaged over the same steps 67.0% → 94.8%"


def test_a_fix_a_few_points_ahead_on_average_is_not_confirmed():
    before = observed(losses([1.0] * 100, [0.8] * 100))
    after = replay("fix", loss=losses([1.0] * 100, [0.85] * 100))
    confirmed, summary, _, _ = judge_fix("training_improves", before, after)
    assert not confirmed
    assert summary == "training accuracy 80.0% → 85.0% over the same steps"


def test_a_fix_of_an_unstable_run_is_confirmed_below_anything_the_run_reached_lately():
    """The observed run jitters by more than the fix's gain (Adam at lr=1); the replay ends below
    every one of its last probe losses."""
    jitter = fit(REGRESSION, train=[0.36, 114.0, 5.4, 3.0, 0.59, 0.33, 0.51, 0.21, 0.23])
    fixed = fit(REGRESSION, train=[0.36, 0.2, 0.1, 0.08, 0.05, 0.04, 0.03, 0.026, 0.025])
    before = observed(losses([0.5] * 200), fit=jitter)
    after = replay("fix", loss=losses([0.03] * 200), fit=dataclasses.replace(fixed, loaded=True))
    confirmed, summary, _, _ = judge_fix("training_improves", before, after)
    assert confirmed
    assert summary == "probe loss on the first training batches at step 200 0.23 → 0.025 per sample"


def test_a_fix_that_changes_the_loss_is_not_judged_by_the_probes_old_loss():
    """The fix reshapes the target: the probe's loss is still the broadcast one the script
    computed, which a model that now fits the right targets scores worse on. Judged on the
    replay's running loss instead."""
    before = observed(losses([2.1] * 200), fit=fit(REGRESSION, sampled=[130.0, 128.0, 127.0]))
    changed = dataclasses.replace(
        fit(REGRESSION, sampled=[130.0, 200.0, 238.0]), loaded=True, loss_changed=True
    )
    after = replay("fix", loss=losses([0.06] * 200), fit=changed)
    confirmed, summary, _, _ = judge_fix("training_improves", before, after)
    assert confirmed
    assert summary == "mean training loss 2.1 → 0.06 over the same steps"
