"""The training loops people really write: each is diagnosed without a tool error and, being
healthy, reported healthy (issue: works on the scripts people really write)."""

from __future__ import annotations

import time

import pytest
from conftest import SCRIPTS

from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge

LOOPS = SCRIPTS / "loops"
HEALTHY = [
    "grad_accumulation",
    "gan",
    "schedulers",
    "amp",
    "compiled",
    "workers",
    "iterable",
    "dict_batches",
    "manual_sgd",
    "trainer_class",
    "lbfgs_closure",
    "transformer",
    "structured_outputs",
    "multilabel",
    "sequence_tagging",
]


@pytest.fixture(scope="module")
def diagnose_loop(rule_book):
    cache = {}

    def run(name: str):
        if name not in cache:
            started = time.monotonic()
            evidence = investigate(resolve(LOOPS / f"{name}.py", []), rule_book)
            cache[name] = evidence, judge(evidence, rule_book), time.monotonic() - started
        return cache[name]

    return run


@pytest.mark.parametrize("name", HEALTHY)
def test_real_loop_is_diagnosed_healthy(diagnose_loop, name):
    evidence, diagnosis, seconds = diagnose_loop(name)
    assert diagnosis.healthy, [(c.id, c.confidence) for c in diagnosis.causes]
    assert not diagnosis.probe_errors
    assert evidence.observe.run.status in {"budget", "completed"}
    assert seconds < 60


def test_gradient_accumulation_counts_four_backward_passes_per_step(diagnose_loop):
    book = diagnose_loop("grad_accumulation")[0].observe.bookkeeping
    assert book.backward_calls == 4 * book.steps + 4 * (book.backward_calls // 4 - book.steps)
    assert book.stale_steps == 0 and book.stale_checks > 3


def test_gan_trains_two_models_with_two_optimizers(diagnose_loop):
    evidence = diagnose_loop("gan")[0]
    assert len(evidence.observe.optimizer.optimizers) == 2
    assert evidence.observe.graph.params_reached > 0


def test_step_closure_runs_backward_inside_the_step(diagnose_loop):
    run = diagnose_loop("lbfgs_closure")[0].observe
    assert run.run.steps == 60 and run.run.backward_calls > 60
    assert run.bookkeeping.steps_without_grads == 0


def test_manual_sgd_without_torch_optim_is_stepped_like_an_optimizer(diagnose_loop):
    """Each hand-written update is a step of the clock: the step budget ends the run, gradients are
    checked for staleness and the update/weight ratio is measured, and the LR is estimated."""
    run = diagnose_loop("manual_sgd")[0].observe
    assert run.run.steps == 200 and run.run.status == "budget" and len(run.loss.values) == 200
    assert run.optimizer.optimizers[0].cls == "HandUpdate"
    assert run.optimizer.optimizers[0].lr == pytest.approx(0.05, rel=1e-3)
    assert run.bookkeeping.stale_checks > 5 and run.bookkeeping.stale_steps == 0
    assert all(
        ratio is not None and 0 < ratio < 0.1
        for sample in run.gradients.samples[1:]
        for ratio in sample.update_ratios
    )


def test_compiled_model_runs_eager_with_a_note(diagnose_loop):
    evidence, _diagnosis, seconds = diagnose_loop("compiled")
    assert "torch.compile was bypassed" in evidence.observe.run.notes[0]
    assert seconds < 20  # compiling would take longer than the whole diagnosis


def test_structured_batches_and_outputs_are_read(diagnose_loop):
    dict_run = diagnose_loop("dict_batches")[0].observe
    assert dict_run.data.inputs.shape == [32, 16] and dict_run.loss.n_classes == 4
    outputs = diagnose_loop("structured_outputs")[0].observe.loss
    assert outputs.kinds == ["cross_entropy", "mse_loss"]
    assert (
        diagnose_loop("iterable")[0].observe.data.loaders[0].sampler == "_InfiniteConstantSampler"
    )


def test_missing_import_is_a_crash_report(rule_book):
    evidence = investigate(resolve(LOOPS / "missing_import.py", []), rule_book)
    diagnosis = judge(evidence, rule_book)
    assert diagnosis.verdict == "crashed" and diagnosis.exception.type == "ModuleNotFoundError"
    assert diagnosis.exception.user_frame.line == 2
