"""What every symptom and its detector owe the rule book (issue 24):

- its thresholds live once, in the rule file, each with its reason: no default in the detector, no
  judgement written as a number in its code;
- it reads only the evidence its rule declares (``needs`` and ``uses``);
- a hand-built case fires it and a near miss leaves it clear (tests/test_symptoms_*.py).
"""

from __future__ import annotations

import ast
import importlib
import inspect
from pathlib import Path

import pytest
from evidence_reads import sections_read
from symptom_cases import Case

from diagnose.rules.detectors import DETECTORS

TESTS = Path(__file__).parent
RULES = TESTS.parent / "rules"
# Numbers that are arithmetic, not judgement: none, one, a pair, an empty or whole share.
ARITHMETIC = {0, 1, 2, -1}


def all_cases() -> list[Case]:
    cases: list[Case] = []
    for path in sorted(TESTS.glob("test_symptoms_*.py")):
        cases += importlib.import_module(path.stem).CASES
    return cases


def test_no_detector_has_a_default_threshold() -> None:
    for name, detector in DETECTORS.items():
        defaults = [
            p.name
            for p in inspect.signature(detector.function).parameters.values()
            if p.default is not inspect.Parameter.empty
        ]
        assert not defaults, f"{name} has defaults: {defaults}"
        optional = [f for f, info in detector.params.model_fields.items() if not info.is_required()]
        assert not optional, f"{name}'s parameters {optional} have defaults"


def test_every_rule_reads_only_the_evidence_it_declares(rule_book) -> None:
    for sid, symptom in rule_book.symptoms.items():
        read = sections_read(DETECTORS[symptom.detector].function)
        undeclared = read - set(symptom.needs) - set(symptom.uses)
        assert not undeclared, f"{sid} reads {sorted(undeclared)} without declaring it"


def test_every_parameter_gives_its_reason(rule_book) -> None:
    missing = [
        f"{sid}.{name}"
        for sid, symptom in rule_book.symptoms.items()
        for name, threshold in symptom.params.items()
        if threshold.why.startswith("TODO")
    ]
    assert not missing, f"{len(missing)} parameters without a reason: {missing[:10]}"


def test_every_symptom_has_a_case_that_fires_and_a_near_miss(rule_book) -> None:
    seen: dict[str, set[str]] = {sid: set() for sid in rule_book.symptoms}
    for case in all_cases():
        seen[case.symptom].add(case.status)
    lacking = [sid for sid, statuses in seen.items() if not {"fired", "clear"} <= statuses]
    assert not lacking, f"{len(lacking)} symptoms lack a firing case or a near miss: {lacking}"


def judgement_literals(path: Path) -> list[str]:
    """Numbers in a detector module that are neither arithmetic nor inside a slice (how much of a
    message a report shows is presentation, not judgement)."""
    tree = ast.parse(path.read_text())
    in_slices = {id(n) for s in ast.walk(tree) if isinstance(s, ast.Slice) for n in ast.walk(s)}
    return [
        f"{path.name}:{node.lineno}: {node.value!r}"
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
        and node.value not in ARITHMETIC
        and id(node) not in in_slices
    ]


@pytest.mark.parametrize("module", sorted(p.name for p in RULES.glob("detect_*.py")))
def test_detectors_write_no_judgement_as_a_number(module: str) -> None:
    found = judgement_literals(RULES / module)
    assert not found, f"{len(found)} numbers belong in the rule file: {found}"
