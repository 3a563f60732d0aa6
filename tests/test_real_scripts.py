"""Public-style example scripts (tests/scripts/realistic): a recurrent model unrolled per time step
and trained with LBFGS and a closure, a word-level LSTM language model updated by hand, and a small
character-level GPT. Healthy, they are healthy: not hung, and no label, class-balance or init alarm
(next-token targets are skewed by nature; GPT-2 style inits are 0.02). With a planted bug, the bug
ranks first and nothing else is confirmed."""

from __future__ import annotations

import pytest
from conftest import SCRIPTS, two_at_a_time

from diagnose.diagnosis import Diagnosis
from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge

REALISTIC = SCRIPTS / "realistic"
TASK_ALARMS = {"class_imbalance", "labels_misaligned", "label_noise", "bad_init_scale"}
# (script, arguments, the cause ranked first; None: healthy)
RUNS = [
    ("sequence_lbfgs.py", (), None),
    ("sequence_lbfgs.py", ("--bug", "no_zero_grad"), "missing_zero_grad"),
    ("lstm_lm.py", (), None),
    ("lstm_lm.py", ("--bug", "no_zero_grad"), "missing_zero_grad"),
    ("char_gpt.py", (), None),
    ("char_gpt.py", ("--bug", "lr_x100"), "lr_too_high"),
]


@pytest.fixture(scope="module")
def diagnoses(rule_book) -> dict[tuple, Diagnosis]:
    def diagnose(run: tuple) -> Diagnosis:
        script, args, _ = run
        return judge(investigate(resolve(REALISTIC / script, list(args)), rule_book), rule_book)

    return two_at_a_time(diagnose, RUNS)


@pytest.mark.parametrize("run", RUNS, ids=lambda run: " ".join([run[0], *run[1]]))
def test_public_style_scripts_are_diagnosed(diagnoses, run):
    diagnosis = diagnoses[run]
    ranked = [(c.id, round(c.confidence, 2), c.status) for c in diagnosis.causes]
    assert diagnosis.verdict != "hung" and not diagnosis.probe_errors, diagnosis.scenarios[0].reason
    expected = run[2]
    if expected is None:
        assert diagnosis.healthy, ranked
        assert not TASK_ALARMS & {c.id for c in diagnosis.causes}, ranked
    else:
        assert not diagnosis.healthy and diagnosis.causes[0].id == expected, ranked
    assert all(c.id == expected for c in diagnosis.causes if c.confirmed), ranked


def test_next_token_targets_are_recognised(diagnoses):
    """The language models' targets are their input tokens shifted by one: that, not a name, is what
    tells the rules that a skewed label distribution is the text's own."""
    for run in RUNS:
        fired = {s.id for s in diagnoses[run].symptoms if s.status == "fired"}
        assert ("targets_are_input_tokens" in fired) == (run[0] != "sequence_lbfgs.py"), (
            run,
            fired,
        )
