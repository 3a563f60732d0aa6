"""The two words users act on: *healthy* only for a run that demonstrably learns, *confirmed* only
for a cause whose own fix removed the failure (issue: verdicts and confirmations that hold)."""

from __future__ import annotations

import pytest
from conftest import SCRIPTS

from diagnose.child.fixes import FIXES
from diagnose.cli.main import main
from diagnose.driver.scenarios import PLANS
from diagnose.driver.targets import resolve
from diagnose.facade import investigate
from diagnose.rules.judge import judge
from diagnose.rules.loader import load_rules
from diagnose.rules.schema import SCENARIOS

FAILING = SCRIPTS / "failing.py"


@pytest.mark.parametrize(
    "failure, symptom",
    [
        ("flat", "loss_not_improving"),
        ("chance", "loss_at_chance"),
        ("diverge", "loss_nonfinite"),
        ("nan", "loss_nonfinite"),
        ("collapse", "predictions_one_class"),
        ("val_chance", "val_at_chance"),
    ],
)
def test_a_failing_run_is_never_healthy(diagnosed, failure, symptom):
    diagnosis = diagnosed(FAILING, "--failure", failure)
    assert not diagnosis.healthy and diagnosis.verdict in {"problems", "not_learning"}
    assert symptom in {s.id for s in diagnosis.failures}, [s.id for s in diagnosis.failures]
    assert not diagnosis.learning.learns


def test_a_run_that_learns_is_healthy_and_says_why(diagnosed):
    diagnosis = diagnosed(FAILING)
    assert diagnosis.healthy and diagnosis.verdict == "healthy" and not diagnosis.failures
    assert diagnosis.learning.learns and "below chance level" in diagnosis.learning.detail


def test_a_run_that_does_not_learn_without_a_likely_cause_exits_1(tmp_path, capsys):
    """Observed only (--quick): no replay can name the cause, so the verdict says so; exit 1."""
    out = tmp_path / "out"
    assert (
        main(
            [str(FAILING), "-o", str(out), "--quick", "--no-color", "--", "--failure", "val_chance"]
        )
        == 1
    )
    printed = capsys.readouterr().out
    assert "Not learning: cause not established" in printed
    report = (out / "report.md").read_text()
    assert "Validation stays at chance level" in report and "Does it learn?" in report


def test_every_cause_names_its_fix_replay_or_why_it_has_none(observed):
    """Controls (overfit, LR range, label permutation, zeroed input) are evidence and never
    confirm; a cause is confirmed only by a replay of its own fix."""
    evidence = observed(FAILING)
    for cause in load_rules().causes.values():
        if cause.confirm is None:
            assert cause.unconfirmable, cause.id
            continue
        scenario = cause.confirm.scenario
        assert scenario in PLANS and scenario not in SCENARIOS, (cause.id, scenario)
        built = PLANS[scenario](evidence, frozenset())  # None: the fix would change nothing here
        assert built is None or built.intervention in FIXES, (cause.id, scenario)


def test_a_symptom_level_cause_loses_to_the_upstream_cause_whose_fix_also_resolves_it(rule_book):
    """A summed loss makes the gradients explode: clipping "repairs" the explosion, averaging the
    loss repairs it too and removes its symptoms. The summed loss is the confirmed root; the
    exploding gradients are its consequence, never confirmed."""
    evidence = investigate(resolve(SCRIPTS / "replay_target.py", ["--bug", "sum_loss"]), rule_book)
    diagnosis = judge(evidence, rule_book)
    top = diagnosis.causes[0]
    assert top.id == "loss_reduction_sum" and top.confirmed, [
        (c.id, c.status) for c in diagnosis.causes
    ]
    exploding = next((c for c in diagnosis.causes if c.id == "exploding_gradients"), None)
    assert exploding is None or (
        not exploding.confirmed and exploding.consequence_of == "loss_reduction_sum"
    )
