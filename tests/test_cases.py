"""The generalization corpus (tests/cases): scripts in styles unlike the zoo's, each labelled in
cases.yaml with the cause a right diagnosis ranks first, or as healthy.

Every script is diagnosed once per session, two at a time with one OpenMP thread each (the whole
corpus must fit in about 90 s on two cores). Causes that the observed run shows are judged from
that run alone; the ones marked ``replays`` need the agent's replays to rise above 0.5.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import yaml
from conftest import TESTS, two_at_a_time

from diagnose.diagnosis import Diagnosis
from diagnose.driver.targets import resolve
from diagnose.facade import investigate, observe
from diagnose.rules.judge import judge
from diagnose.rules.loader import RuleBook

CASES_DIR = TESTS / "cases"
LABELS: dict[str, dict] = yaml.safe_load((CASES_DIR / "cases.yaml").read_text())
LIKELY = 0.5

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.skipif(
        importlib.util.find_spec("sklearn") is None, reason="the corpus needs scikit-learn"
    ),
]


def _missing(label: dict) -> list[str]:
    """The packages a case needs (its ``needs`` list) that are not installed here."""
    return [module for module in label.get("needs", []) if importlib.util.find_spec(module) is None]


def _param(name: str, label: dict) -> pytest.param:
    marks = []
    if "xfail" in label:
        marks.append(pytest.mark.xfail(reason=label["xfail"], strict=False))
    if missing := _missing(label):
        marks.append(pytest.mark.skip(reason=f"needs {', '.join(missing)}"))
    return pytest.param(name, label, marks=marks, id=Path(name).stem)


def _diagnose(name: str, label: dict, book: RuleBook) -> Diagnosis:
    target = resolve(CASES_DIR / name, [])
    evidence = investigate(target, book) if label.get("replays") else observe(target)
    return judge(evidence, book)


def _selected(session: pytest.Session) -> list[str]:
    """The cases this session runs (``-k`` may pick a few), without those whose packages are
    missing: only these are diagnosed."""
    names = [
        item.callspec.params["name"]
        for item in session.items
        if item.module.__name__ == __name__ and hasattr(item, "callspec")
    ]
    return [name for name in names if not _missing(LABELS[name])]


@pytest.fixture(scope="module")
def diagnoses(request, rule_book) -> dict[str, Diagnosis]:
    """The selected cases, diagnosed two at a time."""
    names = _selected(request.session)
    return two_at_a_time(lambda name: _diagnose(name, LABELS[name], rule_book), names)


@pytest.mark.parametrize("name, label", [_param(n, lb) for n, lb in LABELS.items()])
def test_case_is_diagnosed(diagnoses, name, label):
    diagnosis = diagnoses[name]
    ranked = [(c.id, round(c.confidence, 2)) for c in diagnosis.causes]
    assert not diagnosis.probe_errors
    if label["expected"] == "healthy":
        assert diagnosis.healthy, ranked
        assert all(c.confidence < LIKELY for c in diagnosis.causes), ranked
        return
    top = diagnosis.causes[0] if diagnosis.causes else None
    assert top is not None and top.id in [label["expected"], *label.get("also_ok", [])], ranked
    assert top.confidence >= LIKELY and not diagnosis.healthy, ranked
