"""Replays on small real training runs: each experiment, the fork server and its cold fallback,
fixes that confirm causes, the agent's choices, and the user's files left untouched."""

from __future__ import annotations

import copy
import hashlib
import shutil
from pathlib import Path

import pytest
import torch
from conftest import SCRIPTS, fired, live_runs

from diagnose.child.forkserver import ForkClient
from diagnose.driver.agent import Replays
from diagnose.driver.scenarios import OVERFIT_STEPS, PLANS, plan
from diagnose.driver.targets import resolve
from diagnose.facade import investigate, observe
from diagnose.reports.render import render_markdown
from diagnose.rules.judge import judge

NOTHING_FIRED: frozenset[str] = frozenset()  # these replays' plans read only the evidence

pytestmark = pytest.mark.heavy

TARGET = SCRIPTS / "replay_target.py"


@pytest.fixture(scope="module")
def healthy(tmp_path_factory):
    """The healthy target observed with a fork server, and a runner for its replays."""
    workdir = tmp_path_factory.mktemp("replays")
    target = resolve(TARGET, [])
    evidence = observe(target, workdir=workdir, serve=True)
    client = ForkClient(workdir)
    replays = Replays(target, workdir, client, evidence, timeout=60, every=10)
    for name in (
        "overfit_loop",
        "overfit_isolated",
        "lr_range",
        "subset",
        "label_control",
        "zeroed_input",
    ):
        evidence.scenarios[name] = replays.run(plan(name, evidence, NOTHING_FIRED), "test", 60)
    yield evidence
    client.close()


def test_replays_fork_from_the_first_optimizer_step(healthy):
    replay = healthy.scenarios["overfit_loop"]
    assert (
        replay.mode == "fork"
        and replay.run.status == "budget"
        and replay.run.steps == OVERFIT_STEPS
    )
    assert replay.run.wall_seconds < 5
    assert replay.intervention.activated_at_step == 0


def test_a_healthy_model_memorizes_one_batch_in_the_loop_and_in_isolation(healthy, rule_book):
    assert fired(healthy, "overfit_loop_fits", rule_book)
    assert fired(healthy, "isolated_fits", rule_book)
    isolated = healthy.scenarios["overfit_isolated"].isolated
    assert isolated.optimizer == "SGD" and isolated.lr == 0.01 and isolated.accuracies[-1] == 1.0


def test_lr_range_rises_geometrically_and_brackets_the_users_lr(healthy, rule_book):
    section = healthy.scenarios["lr_range"].lr_range
    assert section.lrs[0] == pytest.approx(1e-7)
    ratios = [b / a for a, b in zip(section.lrs, section.lrs[1:])]
    assert max(ratios) == pytest.approx(min(ratios))
    assert section.stopped in {"the loss diverged", "the LR reached its end"}
    assert len(section.losses) == len(section.lrs) > 50
    suggestion = judge(healthy, rule_book).lr_suggestion
    assert 1e-4 <= suggestion.suggested_lr <= 1.0 and abs(suggestion.decades_off) < 2
    assert not fired(healthy, "lr_above_range", rule_book)
    assert not fired(healthy, "lr_below_range", rule_book)


def test_true_labels_are_learned_faster_than_shuffled_ones(healthy, rule_book):
    assert not fired(healthy, "labels_no_signal", rule_book)
    curves = (healthy.scenarios[n].loss.values for n in ("subset", "label_control"))
    true, shuffled = (sum(values) / len(values) for values in curves)  # the area under each curve
    assert true < 0.75 * shuffled


def test_shuffling_is_only_tried_where_batches_may_come_in_order(healthy):
    """The target's DataLoader already shuffles: a shuffle replay would change nothing but the RNG,
    and a run that learns by chance with it would 'confirm' unshuffled data."""
    assert plan("shuffle", healthy, NOTHING_FIRED) is None
    in_order = copy.deepcopy(healthy)
    for loader in in_order.observe.data.loaders:
        loader.sampler = "SequentialSampler"
    assert plan("shuffle", in_order, NOTHING_FIRED).intervention == "shuffle"


def test_zeroed_inputs_change_the_loss(healthy, rule_book):
    assert not fired(healthy, "input_ignored", rule_book)


@pytest.fixture(scope="module")
def agent_runs(rule_book):
    cache = {}

    def run(*args: str, budget: float = 60):
        if args not in cache:
            cache[args] = investigate(resolve(TARGET, list(args)), rule_book, budget=budget)
        return cache[args], judge(cache[args], rule_book)

    return run


@pytest.mark.parametrize(
    "bug, cause, replay",
    [
        ("no_zero_grad", "missing_zero_grad", "insert_zero_grad"),
        ("high_lr", "lr_too_high", "lower_lr"),
        ("tiny_batches", "batch_too_small", "larger_batch"),
    ],
)
def test_agent_confirms_the_cause_with_a_replay(agent_runs, bug, cause, replay):
    evidence, diagnosis = agent_runs("--bug", bug)
    top = diagnosis.causes[0]
    assert top.id == cause and top.confirmed and top.confidence >= 0.85
    assert top.confirmation.scenario == replay
    assert replay in evidence.scenarios and evidence.scenarios[replay].mode == "fork"
    assert [step.scenario for step in evidence.agent][-1] == replay


def test_a_control_supports_but_never_confirms(agent_runs):
    """The label-permutation control speaks about the labels (the loop can fit a batch, and shuffled
    labels are learned as well as the real ones), but no replay can fix misaligned labels: the
    cause is supported, not confirmed."""
    evidence, diagnosis = agent_runs("--bug", "shuffled_labels")
    top = diagnosis.causes[0]
    assert top.id == "labels_misaligned" and top.status == "supported" and not top.confirmed
    assert top.confidence >= 0.85 and top.confirmation is None and top.unconfirmable
    assert {"overfit_loop", "subset", "label_control"} <= set(evidence.scenarios)
    assert any(item.symptom == "labels_no_signal" for item in top.evidence)


def test_lr_too_high_is_measured_by_the_lr_range_test(agent_runs):
    evidence, diagnosis = agent_runs("--bug", "high_lr")
    assert "lr_range" in evidence.scenarios
    assert diagnosis.lr_suggestion.decades_off >= 1
    assert evidence.scenarios["lower_lr"].intervention.params["factor"] < 0.1


def test_healthy_run_needs_no_replay(agent_runs):
    evidence, diagnosis = agent_runs()
    assert diagnosis.healthy and evidence.scenarios == {}


def test_replays_start_cold_when_the_script_uses_loader_workers(agent_runs):
    evidence, diagnosis = agent_runs("--bug", "no_zero_grad", "--workers", "2")
    assert "worker processes" in evidence.replays
    replay = evidence.scenarios["insert_zero_grad"]
    assert replay.mode == "cold" and diagnosis.causes[0].confirmed


def test_no_process_outlives_the_diagnosis(agent_runs):
    agent_runs("--bug", "high_lr")
    assert live_runs() == []


def checksums(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.md5(p.read_bytes()).hexdigest()
        if p.is_file()
        else "dir"
        for p in sorted(folder.rglob("*"))
    }


def test_no_scenario_changes_the_users_files(tmp_path, rule_book):
    project = tmp_path / "project"
    shutil.copytree(SCRIPTS / "checkpointing", project)
    (project / "checkpoints").mkdir()
    torch.save({"step": 7, "model": {}}, project / "checkpoints" / "best.pt")
    (project / "old_run").mkdir()
    (project / "old_run" / "notes.txt").write_text("last night's notes\n")
    (project / "stale.txt").write_text("stale\n")
    before = checksums(project)
    target = resolve(project / "train.py", [])
    evidence = investigate(target, rule_book, budget=30)
    diagnosis = judge(evidence, rule_book)
    assert diagnosis.causes[0].id == "lr_too_high"
    assert any(path.endswith("/checkpoints/best.pt") for path in diagnosis.redirected)
    assert "checkpoints/best.pt" in render_markdown(
        diagnosis, evidence
    )  # the report lists what was redirected
    workdir = tmp_path / "work"
    workdir.mkdir()
    observed = observe(target, workdir=workdir, serve=True)
    client = ForkClient(workdir)
    try:
        replays = Replays(target, workdir, client, observed, timeout=60, every=10)
        for name in PLANS:
            item = plan(name, observed, NOTHING_FIRED) or plan(name, evidence, NOTHING_FIRED)
            if item is not None:
                assert replays.run(item, "every scenario", 60).run.status in {
                    "budget",
                    "completed",
                }, name
    finally:
        client.close()
    assert checksums(project) == before


@pytest.mark.parametrize("args, wrong", [((), False), (("--wrong",), True)])
def test_gradcheck_compares_custom_backwards_with_finite_differences(rule_book, args, wrong):
    evidence = investigate(
        resolve(SCRIPTS / "custom_backward.py", list(args)), rule_book, budget=30
    )
    assert evidence.observe.graph.custom_functions == ["__main__.Square"]
    result = evidence.scenarios["gradcheck"].gradcheck.results[0]
    assert (result.relative_error > 0.5) == wrong and (result.relative_error < 1e-6) != wrong
    diagnosis = judge(evidence, rule_book)
    assert diagnosis.healthy != wrong
    assert (diagnosis.causes[0].id == "custom_backward_wrong") if wrong else not diagnosis.causes


def test_class_weights_confirm_an_imbalance_that_validation_does_not_share(rule_book):
    """A class cut to a few percent of the training split only: weighting the loss lets the model
    recognise that class on validation data, which confirms the imbalance (its predictions never
    collapsed, so the share of the most predicted class could not)."""
    evidence = investigate(
        resolve(SCRIPTS.parent / "cases" / "case67.py", []), rule_book, budget=60
    )
    top = judge(evidence, rule_book).causes[0]
    assert top.id == "class_imbalance" and top.confirmed, top
    assert (
        top.confirmation.scenario == "class_weights"
        and "recall of the rarest" in top.confirmation.summary
    )
    assert top.confirmation.after >= top.confirmation.before + 0.1
