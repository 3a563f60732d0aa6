"""Real scripts' whole life in one short run: epochs longer than the observation are compressed so
that bugs which show only after the first epoch are seen; a slow script stops observing once its
loss trend is settled (issue: real scripts, bounded overhead, slow is not hung)."""

from __future__ import annotations

import pytest
from conftest import SCRIPTS

from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge

EPOCHS = SCRIPTS / "realistic" / "epochs.py"


@pytest.fixture(scope="module")
def diagnose_epochs(rule_book):
    cache = {}

    def run(bug: str):
        if bug not in cache:
            evidence = investigate(resolve(EPOCHS, ["--bug", bug]), rule_book)
            cache[bug] = evidence, judge(evidence, rule_book)
        return cache[bug]

    return run


def test_long_epochs_are_compressed_to_show_three(diagnose_epochs):
    evidence, diagnosis = diagnose_epochs("none")
    train = next(loader for loader in evidence.observe.data.loaders if loader.role == "train")
    assert train.iterations >= 4, train  # three whole epochs, and the start of a fourth
    assert train.pass_steps[1] < 175, (
        train.pass_steps
    )  # a pass is shorter than the loader's 175 batches
    assert any(note.startswith("Epochs were compressed") for note in diagnosis.notes)
    assert diagnosis.healthy, [(c.id, c.confidence) for c in diagnosis.causes]


@pytest.mark.parametrize(
    "bug, cause",
    [
        ("train_not_restored", "train_mode_not_restored"),
        ("schedule_collapse", "lr_schedule_too_aggressive"),
        ("scheduler_per_batch", "lr_schedule_too_aggressive"),
    ],
)
def test_bugs_that_show_after_the_first_epoch_are_diagnosed(diagnose_epochs, bug, cause):
    _, diagnosis = diagnose_epochs(bug)
    assert not diagnosis.healthy and diagnosis.causes[0].id == cause, [
        (c.id, c.confidence) for c in diagnosis.causes
    ]
