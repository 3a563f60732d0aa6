"""A loop that never validates still shows whether a rare class is learned: the class-weights fix
replay is judged by the rarest class's recall on the last training batches."""

from __future__ import annotations

from conftest import SCRIPTS

from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge

RARE = 3  # the class kept at 2 % of the rows


def test_class_weights_are_confirmed_by_the_rare_class_recall_on_training_batches(rule_book):
    evidence = investigate(resolve(SCRIPTS / "rare_class_no_validation.py", []), rule_book)
    observed_rare = evidence.observe.loss.train_confusion[RARE]
    assert (
        sum(observed_rare) >= 10 and observed_rare[RARE] / sum(observed_rare) < 0.1
    )  # never predicted
    top = judge(evidence, rule_book).causes[0]
    assert top.id == "class_imbalance" and top.confirmed
    assert top.confirmation.summary.startswith("training recall of the rarest training class")
    assert top.confirmation.after >= top.confirmation.before + 0.1
