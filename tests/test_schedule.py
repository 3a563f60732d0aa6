"""The LR schedule projected over the run's planned length (issue 15): a schedule that collapses
after the observed steps is seen before it happens, one that reaches ~0 only at the planned end is
healthy, and projecting never touches the script's own scheduler or optimizer."""

from __future__ import annotations

import copy
import runpy
import time
import warnings

import pytest
import torch
from conftest import SCRIPTS
from torch.optim import lr_scheduler

from diagnose.child.loopbound import planned_passes
from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.probes.projection import Curve, project
from diagnose.probes.schedule import PassStart, Plan, Unplanned, plan_steps
from diagnose.rules.judge import judge

SCRIPT = SCRIPTS / "realistic" / "planned_schedule.py"
STEPS = (
    40  # the observation ends before the per-batch StepLR falls below 1e-3 of its LR (step 60-80)
)
PLANNED = 3 * 500  # the script's epochs x its loader's batches


@pytest.mark.parametrize("schedule", ["step_per_batch", "poly_one_epoch"])
def test_a_schedule_collapsing_after_the_observed_steps_is_diagnosed(diagnosed, schedule):
    diagnosis = diagnosed(SCRIPT, "--schedule", schedule, steps=STEPS)
    fired = {s.id for s in diagnosis.symptoms if s.status == "fired"}
    assert "lr_decays_early" not in fired  # the observed steps alone do not show it
    assert "lr_schedule_collapses_projected" in fired
    assert not diagnosis.healthy, diagnosis.summary
    assert diagnosis.causes[0].id == "lr_schedule_too_aggressive", [
        (c.id, c.confidence) for c in diagnosis.causes
    ]
    assert diagnosis.causes[0].where.code == "scheduler.step()"


@pytest.mark.parametrize("schedule", ["cosine", "onecycle"])
def test_a_schedule_reaching_zero_at_the_planned_end_is_healthy(observed, rule_book, schedule):
    evidence = observed(SCRIPT, "--schedule", schedule, steps=STEPS)
    (projected,) = evidence.observe.schedule.schedulers
    assert (projected.planned_steps, projected.planned_from) == (PLANNED, "loop"), projected
    assert (
        projected.observed_steps == evidence.observe.run.steps
    )  # the constructor's own step is not the script's
    assert projected.steps[-1] > 0.99 * PLANNED and not projected.stopped
    diagnosis = judge(evidence, rule_book)
    symptom = next(s for s in diagnosis.symptoms if s.id == "lr_schedule_collapses_projected")
    assert symptom.status == "clear"
    assert diagnosis.healthy, [(c.id, c.confidence) for c in diagnosis.causes]


def test_holding_the_lr_confirms_a_projected_collapse(rule_book):
    """The hold_lr replay steps with the first LR whatever the scheduler says: the schedule no
    longer describes that run, which learns with nothing collapsing ahead."""
    evidence = investigate(resolve(SCRIPT, ["--schedule", "poly_one_epoch"]), rule_book)
    (held,) = evidence.scenarios["hold_lr"].schedule.schedulers
    assert "other LRs than this scheduler set" in held.note and not held.lrs
    top = judge(evidence, rule_book).causes[0]
    assert top.id == "lr_schedule_too_aggressive" and top.confirmed, top


def test_reduce_lr_on_plateau_is_not_projected_and_breaks_nothing(observed, rule_book):
    evidence = observed(SCRIPT, "--schedule", "plateau", steps=STEPS)
    assert evidence.observe.run.probe_errors == []
    (plateau,) = evidence.observe.schedule.schedulers
    assert (
        plateau.cls == "ReduceLROnPlateau"
        and "cannot be projected" in plateau.note
        and not plateau.lrs
    )
    diagnosis = judge(evidence, rule_book)
    assert any(s.id == "lr_schedule_collapses_projected" for s in diagnosis.not_evaluated)
    assert diagnosis.healthy, [(c.id, c.confidence) for c in diagnosis.causes]


# -- the projection itself -------------------------------------------------------------------------

SCHEDULERS = {
    "step (closed form)": lambda opt: lr_scheduler.StepLR(opt, step_size=7, gamma=0.5),
    "one cycle (cycles momentum)": lambda opt: lr_scheduler.OneCycleLR(
        opt, max_lr=0.3, total_steps=60
    ),
    "warmup then cosine (composite)": lambda opt: lr_scheduler.SequentialLR(
        opt,
        [
            lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=5),
            lr_scheduler.CosineAnnealingLR(opt, 30),
        ],
        milestones=[5],
    ),
    "lambda": lambda opt: lr_scheduler.LambdaLR(opt, lambda step: 0.97**step),
}


@pytest.mark.parametrize("make", SCHEDULERS.values(), ids=SCHEDULERS.keys())
def test_projecting_leaves_the_scripts_scheduler_and_optimizer_alone(make):
    weight = torch.nn.Parameter(torch.ones(3))
    optimizer = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    scheduler = make(optimizer)
    for _ in range(5):
        weight.grad = torch.ones(3)
        optimizer.step()
        scheduler.step()
    scheduler_state = copy.deepcopy(scheduler.state_dict())
    groups = [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups]
    weights, buffer = weight.detach().clone(), optimizer.state[weight]["momentum_buffer"].clone()

    curve = Curve(60)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        stopped = project(scheduler, 5, 60, curve, deadline=time.perf_counter() + 5)

    assert stopped == "" and caught == []
    assert scheduler.state_dict() == scheduler_state
    assert [{k: v for k, v in g.items() if k != "params"} for g in optimizer.param_groups] == groups
    assert optimizer.param_groups[0]["params"] == [weight]
    assert torch.equal(weight, weights) and torch.equal(
        optimizer.state[weight]["momentum_buffer"], buffer
    )
    expected = []
    for _ in range(55):  # what the scheduler does when the script goes on stepping it
        optimizer.step()
        scheduler.step()
        expected.append(optimizer.param_groups[0]["lr"])
    assert curve.steps == list(range(6, 61))
    assert curve.lrs == pytest.approx(expected, rel=1e-9)


def test_a_projection_is_bounded_in_time_and_by_the_schedulers_own_end():
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1, momentum=0.9)
    slow = lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    started = time.perf_counter()
    stopped = project(slow, 0, 10**9, Curve(10**9), deadline=started)
    assert stopped.startswith("time limit") and time.perf_counter() - started < 1.0
    one_cycle = lr_scheduler.OneCycleLR(optimizer, max_lr=0.3, total_steps=100)
    stopped = project(one_cycle, 0, 200, Curve(200), deadline=time.perf_counter() + 5)
    assert stopped.startswith(
        "the scheduler raised ValueError at step 101"
    )  # the script would crash there too


def test_a_long_curve_keeps_each_spans_largest_lr():
    curve = Curve(1000)  # spans of 5 steps
    for step in range(1, 1001):
        curve.put(
            step, 1.0 if step % 10 == 3 else 0.0
        )  # a peak every 10 steps, between sampled points
    assert len(curve.steps) == 200 and curve.steps[:3] == [1, 6, 11]
    assert curve.lrs[:4] == [1.0, 0.0, 1.0, 0.0]


# -- the planned length ----------------------------------------------------------------------------


def test_planned_steps_follow_the_batches_or_the_epochs():
    per_epoch = [
        PassStart(0, 0, 5),
        PassStart(13, 1, 5),
        PassStart(26, 2, 5),
    ]  # passes compressed to 13 batches
    assert plan_steps(per_epoch, PassStart(30, 3, None), 500, None) == Plan(5, 1.0, 5, "loop")
    per_batch = [PassStart(0, 0, None), PassStart(13, 13, None), PassStart(26, 26, None)]
    assert plan_steps(per_batch, PassStart(30, 30, None), 500, None) == Plan(
        1000, 500.0, 2, "passes"
    )
    # the loop's length is unknown: a scheduler given a longer length of its own is planned for it
    assert plan_steps(per_batch, PassStart(30, 30, None), 500, 4000) == Plan(4000, 500.0)
    assert plan_steps([], PassStart(0, 30, None), None, 250) == Plan(250)
    with pytest.raises(Unplanned, match="planned length is unknown"):
        plan_steps([], PassStart(0, 30, None), None, None)
    with pytest.raises(Unplanned, match="less than one pass"):
        plan_steps(
            [PassStart(0, 0, 5)], PassStart(40, 0, None), 500, None
        )  # a per-epoch scheduler within epoch 1


LOOPS = {
    "for epoch in range(args.epochs):\n    for xb in loader:\n        pass\n": 4,
    "for epoch in range(1, config['epochs'] + 1):\n    for i, xb in "
    "enumerate(loader):\n        pass\n": 5,
    "def one_epoch():\n    for xb in loader:\n        pass\n"
    "for epoch in enumerate(range(args.epochs * 2)):\n    one_epoch()\n": 8,
    "def run():\n    for epoch in range(len(sizes)):\n        for xb in loader:\n"
    "            pass\nrun()\n": 3,
    "for epoch in range(9):\n    for xb in loader:\n        pass\n    if epoch == 1:\n"
    "        break\n": None,
    "for epoch in range(9):\n    for xb in loader:\n        break\n": 9,
    "while True:\n    for xb in loader:\n        pass\n    break\n": None,
    "it = iter(loader)\nfor step in range(9):\n    next(it, None)\n": None,
    "for epoch in wrap(range(9)):\n    for xb in loader:\n        pass\n": None,
}


@pytest.mark.parametrize("source, expected", LOOPS.items(), ids=range(len(LOOPS)))
def test_the_loop_around_a_pass_gives_the_planned_passes(tmp_path, source, expected):
    script = tmp_path / "train.py"
    script.write_text(
        "import argparse\nargs = argparse.Namespace(epochs=4)\nconfig = {'epochs': 5}\n"
        "sizes = [1, 2, 3]\ndef wrap(x):\n    return x\n" + source
    )
    seen = []

    class Loader:
        def __iter__(self):
            seen.append(
                planned_passes(__import__("sys")._getframe(1), lambda name: name == str(script))
            )
            return iter([0])

    runpy.run_path(str(script), {"loader": Loader()})
    assert seen and set(seen) == {expected}
