"""``diagnose rules``: the rule book explained, one rule at a time or as the docs/rules.md page."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from diagnose.rules.explain import catalogue

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules.md"


def rules(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "diagnose", "rules", *args],
        capture_output=True,
        text=True,
        cwd=DOCS.parent,  # not the repository root: its folders would shadow the installed package
    )


def test_a_symptom_is_explained_with_its_parameters_reasons_and_causes(rule_book) -> None:
    shown = rules("--explain", "loss_at_chance")
    assert shown.returncode == 0, shown.stderr
    symptom = rule_book.symptoms["loss_at_chance"]
    for name, threshold in symptom.params.items():
        assert f"`{name}` = {threshold.value!r}: {threshold.why}" in shown.stdout
    for name in rule_book.shared["curve"]:  # the shared sets it takes, with theirs
        assert f"`{name}` = " in shown.stdout
    fed = {edge.cause for edge in rule_book.edges if "loss_at_chance" in edge.symptoms}
    assert fed and all(f"`{cause}`" in shown.stdout for cause in fed)


def test_a_cause_is_explained_with_its_replay_and_its_symptoms() -> None:
    shown = rules("--explain", "missing_zero_grad")
    assert shown.returncode == 0, shown.stderr
    assert "confirmed by the `insert_zero_grad` replay" in shown.stdout
    assert "all of grads_not_cleared" in shown.stdout


def test_an_unknown_rule_is_a_one_line_usage_error() -> None:
    shown = rules("--explain", "no_such_rule")
    assert shown.returncode == 2 and shown.stdout == ""
    assert shown.stderr == (
        "diagnose: error: no symptom or cause 'no_such_rule' (diagnose rules lists them)\n"
    )


def test_the_list_names_every_rule(rule_book) -> None:
    listed = rules().stdout
    assert all(f"  {rule_id} " in listed for rule_id in [*rule_book.symptoms, *rule_book.causes])


def test_docs_rules_page_is_generated_from_the_rule_files(rule_book) -> None:
    """docs/rules.md is what `diagnose rules --markdown > docs/rules.md` writes today."""
    assert DOCS.read_text() == catalogue(rule_book)
