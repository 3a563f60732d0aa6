"""Rule files: bundled ones are valid and canonical; broken ones fail with file, rule and field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from conftest import ZOO

from diagnose.rules.detectors import DETECTORS
from diagnose.rules.loader import RuleError, load_rules
from diagnose.rules.schema import LEVELS, RuleFile

CANONICAL = ZOO.parent / "causes.yaml"
PROJECT_CAUSES = {
    "input_dtype": "crash",
    "custom_backward_wrong": "learnability",
    "sampler_epoch_not_set": "data",
    "ranks_out_of_sync": "learnability",
    "metrics_not_reduced": "evaluation",
}


def canonical_causes() -> dict[str, str]:
    if not CANONICAL.exists():
        pytest.skip("shared/causes.yaml is not beside the repository")
    data = yaml.safe_load(CANONICAL.read_text())
    return {cause: level for level, causes in data.items() for cause in causes}


def test_bundled_rules_use_the_canonical_ids_and_levels(rule_book):
    canonical = canonical_causes()
    for cause in rule_book.causes.values():
        assert canonical.get(cause.id, PROJECT_CAUSES.get(cause.id)) == cause.level, cause.id


def test_every_canonical_cause_has_a_definition(rule_book):
    assert set(canonical_causes()) <= set(rule_book.causes)


def test_every_symptom_names_a_detector_and_every_detector_is_used(rule_book):
    used = {s.detector for s in rule_book.symptoms.values()}
    assert used <= set(DETECTORS)
    assert set(DETECTORS) == used, f"unused detectors: {set(DETECTORS) - used}"


def test_graph_links_symptoms_to_causes(rule_book):
    graph = rule_book.graph
    assert graph.has_edge(
        "symptom:grads_not_cleared", next(n for n in graph.successors("symptom:grads_not_cleared"))
    )
    edges = rule_book.edges_into("missing_zero_grad")
    assert any("grads_not_cleared" in e.all_of for e in edges)
    order = rule_book.explanation_order()
    assert order.index("inputs_not_normalized") < order.index("dead_relu")


def test_json_schema_is_published():
    schema = RuleFile.model_json_schema(by_alias=True)
    assert set(schema["properties"]) == {"symptoms", "causes", "edges"}
    assert schema["$defs"]["Symptom"]["additionalProperties"] is False


SYMPTOM = {
    "id": "s1",
    "title": "A symptom",
    "level": "data",
    "detector": "class_imbalance",
    "needs": ["data"],
}
CAUSE = {
    "id": "c1",
    "level": "data",
    "title": "A cause",
    "why": "Because it is so.",
    "fix": "Do this.",
    "unconfirmable": "only a code change fixes it",
}


def write(tmp_path: Path, data: object, text: str | None = None) -> Path:
    path = tmp_path / "mine.yaml"
    path.write_text(text if text is not None else yaml.safe_dump(data))
    return path


@pytest.mark.parametrize(
    "data, message",
    [
        (
            {"symptoms": [{**SYMPTOM, "colour": "red"}]},
            "rule 's1' (symptoms[0]), field 'colour': Extra inputs",
        ),
        (
            {
                "causes": [CAUSE],
                "symptoms": [SYMPTOM],
                "edges": [{"cause": "c1", "all": ["s1"], "weight": 1.5}],
            },
            "rule 'c1' (edges[0]), field 'weight': Input should be less than or equal to 1",
        ),
        (
            {"causes": [CAUSE], "edges": [{"cause": "c1", "all": ["nope"], "weight": 0.5}]},
            "rule 'c1' (edges[0]), field 'all': unknown symptom 'nope'",
        ),
        (
            {"edges": [{"cause": "ghost", "all": ["loss_nonfinite"], "weight": 0.5}]},
            "rule 'ghost' (edges[0]), field 'cause': unknown cause 'ghost'",
        ),
        (
            {"symptoms": [{**SYMPTOM, "detector": "no_such_detector"}]},
            "rule 's1' (symptoms[0]), field 'detector': unknown detector 'no_such_detector'",
        ),
        (
            {"causes": [{**CAUSE, "id": "lr_too_high"}]},
            "rule 'lr_too_high' (causes[0]), field 'id': defined twice",
        ),
        (
            {"causes": [{**CAUSE, "level": "cosmic"}]},
            "rule 'c1' (causes[0]), field 'level': Input should be",
        ),
        (
            {"causes": [CAUSE], "edges": [{"cause": "c1", "weight": 0.5}]},
            "an edge needs symptoms in 'all' or 'any'",
        ),
        (
            {"causes": [{**CAUSE, "explained_by": ["c9"]}]},
            "field 'explained_by': unknown cause 'c9'",
        ),
        (
            {"causes": [{**CAUSE, "unconfirmable": "", "confirm": {"scenario": "label_control"}}]},
            "'label_control' is a control experiment, not a fix: it cannot confirm a cause",
        ),
        ({"causes": [{**CAUSE, "unconfirmable": ""}]}, "a cause names exactly one of 'confirm'"),
        (["a", "list"], "expected a mapping"),
    ],
)
def test_broken_rule_files_name_file_rule_and_field(tmp_path, data, message):
    path = write(tmp_path, data)
    with pytest.raises(RuleError) as error:
        load_rules([path])
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_invalid_yaml_names_the_line(tmp_path):
    path = write(tmp_path, None, "symptoms:\n  - id: x\n    title: a: b\n")
    with pytest.raises(RuleError, match=r"mine.yaml: not valid YAML at line 3"):
        load_rules([path])


def test_explained_by_cycle_is_refused(tmp_path):
    causes = [
        {**CAUSE, "id": "c1", "explained_by": ["c2"]},
        {**CAUSE, "id": "c2", "explained_by": ["c1"]},
    ]
    with pytest.raises(RuleError, match="cycle"):
        load_rules([write(tmp_path, {"causes": causes})])


def test_extra_rules_add_causes_and_edges(tmp_path):
    data = {"causes": [CAUSE], "edges": [{"cause": "c1", "all": ["loss_nonfinite"], "weight": 0.5}]}
    book = load_rules([write(tmp_path, data)])
    assert "c1" in book.causes and book.edges_into("c1")[0].weight == 0.5


def test_levels_are_the_pyramid():
    assert LEVELS[:4] == ("data", "learnability", "optimization", "evaluation")
