"""The scoring rules: edges with all/any/not, noisy-OR support, refutation, explaining away."""

from __future__ import annotations

import pytest

from diagnose.diagnosis import Confirmation
from diagnose.rules.engine import SymptomResult, edge_strength, score_causes
from diagnose.rules.loader import build
from diagnose.rules.schema import Cause, Edge, RuleFile, Symptom


def symptom(sid: str, level: str = "optimization") -> Symptom:
    return Symptom(id=sid, title=f"symptom {sid}", level=level, detector="loss_nonfinite")


def result(sid: str, status: str, strength: float = 1.0) -> SymptomResult:
    return SymptomResult(symptom(sid), status, strength if status == "fired" else 0.0)


def edge(**fields) -> Edge:
    return Edge.model_validate({"cause": "c", "weight": 0.8, **fields})


@pytest.mark.parametrize(
    "fields, states, expected",
    [
        ({"all": ["a", "b"]}, {"a": "fired", "b": "fired"}, 0.8),
        ({"all": ["a", "b"]}, {"a": "fired", "b": "clear"}, 0.0),
        ({"all": ["a", "b"]}, {"a": "fired", "b": "not_evaluated"}, None),
        ({"any": ["a", "b"]}, {"a": "clear", "b": "fired"}, 0.8),
        ({"any": ["a", "b"]}, {"a": "clear", "b": "not_evaluated"}, None),
        ({"any": ["a", "b"]}, {"a": "clear", "b": "clear"}, 0.0),
        ({"all": ["a"], "not": ["b"]}, {"a": "fired", "b": "fired"}, 0.0),
        ({"all": ["a"], "not": ["b"]}, {"a": "fired", "b": "not_evaluated"}, 0.8),
    ],
)
def test_edge_strength(fields, states, expected):
    strength = edge_strength(
        edge(**fields), {sid: result(sid, status) for sid, status in states.items()}
    )
    if expected is None:
        assert strength is None
    else:
        assert strength == pytest.approx(expected)


def test_edge_strength_scales_with_the_weakest_required_symptom():
    results = {"a": result("a", "fired", 0.5), "b": result("b", "fired", 0.9)}
    assert edge_strength(edge(all=["a", "b"]), results) == pytest.approx(0.4)


def book(edges: list[dict], causes: list[dict]):
    rules = RuleFile(
        symptoms=[symptom(s) for s in ("a", "b", "c")],
        causes=[
            Cause.model_validate(
                {
                    "level": "optimization",
                    "title": f"cause {c['id']}",
                    "why": "because of it",
                    "fix": "fix it",
                    "unconfirmable": "a test cause",
                    **c,
                }
            )
            for c in causes
        ],
        edges=[Edge.model_validate(e) for e in edges],
    )
    return build([("test.yaml", rules)])


def test_supporting_edges_combine_as_noisy_or_and_refutes_damp():
    rules = book(
        [
            {"cause": "c", "all": ["a"], "weight": 0.5},
            {"cause": "c", "all": ["b"], "weight": 0.5},
            {"cause": "c", "all": ["c"], "weight": 0.5, "refutes": True},
        ],
        [{"id": "c"}],
    )
    fired = {s: result(s, "fired") for s in "ab"} | {"c": result("c", "clear")}
    assert score_causes(rules, fired)[0].confidence == pytest.approx(0.75)
    fired["c"] = result("c", "fired")
    score = score_causes(rules, fired)[0]
    assert score.confidence == pytest.approx(0.375)
    assert [r.symptom.id for r in score.refuted_by] == ["c"]


def test_a_likely_explaining_cause_discounts_the_explained_one():
    rules = book(
        [
            {"cause": "low", "all": ["a"], "weight": 0.9},
            {"cause": "high", "all": ["b"], "weight": 0.9},
        ],
        [{"id": "low"}, {"id": "high", "explained_by": ["low"]}],
    )
    scores = {s.cause.id: s for s in score_causes(rules, {s: result(s, "fired") for s in "abc"})}
    assert scores["low"].confidence == pytest.approx(0.9)
    assert scores["high"].confidence == pytest.approx(0.9 * (1 - 0.6 * 0.9))
    assert scores["high"].explained_by == ["low"]


def test_cause_with_only_unevaluable_edges_is_not_evaluated():
    rules = book([{"cause": "c", "all": ["a"], "weight": 0.9}], [{"id": "c"}])
    score = score_causes(
        rules,
        {"a": result("a", "not_evaluated"), "b": result("b", "clear"), "c": result("c", "clear")},
    )[0]
    assert not score.evaluated and score.confidence == 0


def test_an_unhelpful_fix_halves_inferred_support_but_not_a_direct_observation():
    rules = book(
        [
            {"cause": "seen", "all": ["a"], "weight": 0.9, "direct": True},
            {"cause": "inferred", "all": ["b"], "weight": 0.9},
        ],
        [{"id": "seen"}, {"id": "inferred"}],
    )
    fired = {s: result(s, "fired") for s in "abc"}
    unhelpful = Confirmation(scenario="fix", confirmed=False, summary="no better")
    scores = {
        s.cause.id: s
        for s in score_causes(rules, fired, {"seen": unhelpful, "inferred": unhelpful})
    }
    assert scores["seen"].confidence == pytest.approx(0.9)
    assert scores["inferred"].confidence == pytest.approx(0.45)
    assert not scores["seen"].confirmed and scores["seen"].confirmation is unhelpful
