"""Load rule files, validate them, and build the rule graph (a networkx DiGraph).

Errors name the file, the rule and the field, in one line: a malformed rule file is a usage
error the user can fix, not a traceback.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import networkx as nx
import yaml
from pydantic import ValidationError

from diagnose.rules.detectors import DETECTORS
from diagnose.rules.findings import Verdict
from diagnose.rules.schema import Cause, Edge, RuleFile, Symptom, Threshold

RuleT = TypeVar("RuleT", Symptom, Cause)


class RuleError(ValueError):
    """A rule file that cannot be used, with the file, rule and field that are wrong."""


@dataclass
class RuleBook:
    """All rules, by id, and the graph symptom → edge → cause (plus cause → cause "explains")."""

    symptoms: dict[str, Symptom]
    causes: dict[str, Cause]
    edges: list[Edge]
    graph: nx.DiGraph
    shared: dict[str, dict[str, Threshold]] = field(default_factory=dict)

    @property
    def reading(self) -> Verdict:
        """How the healthy verdict reads a run: the shared sets ``curve``, ``adversarial`` and
        ``horizon``, as the symptoms that take them read it."""
        names = ("curve", "adversarial", "horizon")
        values = {key: t for name in names for key, t in self.shared.get(name, {}).items()}
        return Verdict.model_validate({k: t.value for k, t in values.items()})

    def edges_into(self, cause: str) -> list[Edge]:
        return [
            self.graph.nodes[node]["edge"]
            for node in self.graph.predecessors(f"cause:{cause}")
            if self.graph.nodes[node]["kind"] == "edge"
        ]

    def explanation_order(self) -> list[str]:
        """Cause ids with every explaining cause before the causes it explains."""
        causes = [
            n for n in nx.topological_sort(self.graph) if self.graph.nodes[n]["kind"] == "cause"
        ]
        return [n.split(":", 1)[1] for n in causes]


def load_rules(extra: Sequence[Path] = ()) -> RuleBook:
    """The bundled rules plus any extra rule files (or folders of them)."""
    sources = [
        (f"rules/{item.name}", item.read_text())
        for item in sorted(resources.files("diagnose.rules").iterdir(), key=lambda i: i.name)
        if item.name.endswith(".yaml")
    ]
    sources += [(str(path), path.read_text()) for path in _rule_paths(extra)]
    return build([(label, parse(label, text)) for label, text in sources])


def _rule_paths(extra: Sequence[Path]) -> Iterable[Path]:
    for path in extra:
        if path.is_dir():
            yield from sorted(path.glob("*.yaml"))
        elif path.is_file():
            yield path
        else:
            raise RuleError(f"{path}: no such rule file or folder")


def parse(label: str, text: str) -> RuleFile:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark, problem = getattr(error, "problem_mark", None), getattr(error, "problem", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise RuleError(
            f"{label}: not valid YAML{where}" + (f" ({problem})" if problem else "")
        ) from None
    if data is None:
        return RuleFile()
    if not isinstance(data, dict):
        raise RuleError(f"{label}: expected a mapping with 'symptoms', 'causes' and 'edges'")
    try:
        return RuleFile.model_validate(data)
    except ValidationError as error:
        raise RuleError(_describe(label, data, error.errors()[0])) from None


def _describe(label: str, data: dict[str, Any], error: Any) -> str:
    loc = error["loc"]
    if len(loc) >= 2 and isinstance(loc[1], int):
        items = data.get(loc[0]) or []
        item = items[loc[1]] if loc[1] < len(items) and isinstance(items[loc[1]], dict) else {}
        rule = item.get("id") or item.get("cause") or f"#{loc[1] + 1}"
        field = ".".join(str(part) for part in loc[2:]) or "(the entry)"
        return f"{label}: rule '{rule}' ({loc[0]}[{loc[1]}]), field '{field}': {error['msg']}"
    return f"{label}: field '{'.'.join(str(p) for p in loc)}': {error['msg']}"


def _add_once(label: str, kind: str, items: list[RuleT], known: dict[str, RuleT]) -> None:
    for index, item in enumerate(items):
        if item.id in known:
            raise RuleError(
                f"{label}: rule '{item.id}' ({kind}[{index}]), field 'id': defined twice"
            )
        known[item.id] = item


def build(files: list[tuple[str, RuleFile]]) -> RuleBook:
    symptoms: dict[str, Symptom] = {}
    causes: dict[str, Cause] = {}
    shared: dict[str, dict[str, Threshold]] = {}
    for label, rules in files:
        for name, values in rules.shared.items():
            if name in shared:
                raise RuleError(f"{label}: shared parameter set '{name}': defined twice")
            shared[name] = values
        _add_unique(label, "symptoms", rules.symptoms, symptoms)
        _add_unique(label, "causes", rules.causes, causes)
    for label, rules in files:
        for index, symptom in enumerate(rules.symptoms):
            _settle_params(f"{label}: rule '{symptom.id}' (symptoms[{index}])", symptom, shared)
    edges: list[Edge] = []
    for label, rules in files:
        for index, edge in enumerate(rules.edges):
            _check_edge(label, index, edge, symptoms, causes)
            edges.append(edge)
    for label, rules in files:
        for index, cause in enumerate(rules.causes):
            unknown = [c for c in cause.explained_by if c not in causes]
            if unknown:
                raise RuleError(
                    f"{label}: rule '{cause.id}' (causes[{index}]), field 'explained_by': "
                    f"unknown cause '{unknown[0]}'"
                )
    return RuleBook(symptoms, causes, edges, _graph(symptoms, causes, edges), shared)


Rule = TypeVar("Rule", Symptom, Cause)


def _add_unique(label: str, kind: str, items: list[Rule], known: dict[str, Rule]) -> None:
    for index, item in enumerate(items):
        if item.id in known:
            raise RuleError(
                f"{label}: rule '{item.id}' ({kind}[{index}]), field 'id': defined twice"
            )
        known[item.id] = item


def _settle_params(where: str, symptom: Symptom, shared: dict[str, dict[str, Threshold]]) -> None:
    """Check the symptom's parameters against its detector's ``Params`` model (every one set, no
    unknown one, each of its type) and keep them, typed, on the symptom."""
    detector = DETECTORS.get(symptom.detector)
    if detector is None:
        raise RuleError(f"{where}, field 'detector': unknown detector '{symptom.detector}'")
    given = dict(symptom.params)
    for name in symptom.shared:
        if name not in shared:
            raise RuleError(f"{where}, field 'shared': unknown shared parameter set '{name}'")
        for key, threshold in shared[name].items():
            if key in given:
                raise RuleError(f"{where}, field 'params.{key}': also set by shared set '{name}'")
            given[key] = threshold
    expected = detector.params.model_fields
    missing = [name for name in expected if name not in given]
    if missing:
        raise RuleError(
            f"{where}, field 'params.{missing[0]}': missing (detector '{detector.name}' takes "
            f"{', '.join(expected) or 'no parameters'})"
        )
    unknown = [name for name in given if name not in expected]
    if unknown:
        raise RuleError(
            f"{where}, field 'params.{unknown[0]}': unknown parameter of detector "
            f"'{detector.name}' (it takes {', '.join(expected) or 'no parameters'})"
        )
    try:
        symptom._settings = detector.params.model_validate(
            {name: threshold.value for name, threshold in given.items()}
        )
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"])
        raise RuleError(f"{where}, field 'params.{field}': {first['msg']}") from None


def _check_edge(
    label: str, index: int, edge: Edge, symptoms: dict[str, Symptom], causes: dict[str, Cause]
) -> None:
    where = f"{label}: rule '{edge.cause}' (edges[{index}])"
    if edge.cause not in causes:
        raise RuleError(f"{where}, field 'cause': unknown cause '{edge.cause}'")
    for role, names in (("all", edge.all_of), ("any", edge.any_of), ("not", edge.none_of)):
        unknown = [n for n in names if n not in symptoms]
        if unknown:
            raise RuleError(f"{where}, field '{role}': unknown symptom '{unknown[0]}'")


def _graph(symptoms: dict[str, Symptom], causes: dict[str, Cause], edges: list[Edge]) -> nx.DiGraph:
    graph = nx.DiGraph()
    for symptom in symptoms.values():
        graph.add_node(f"symptom:{symptom.id}", kind="symptom", level=symptom.level)
    for cause in causes.values():
        graph.add_node(f"cause:{cause.id}", kind="cause", level=cause.level)
    for index, edge in enumerate(edges):
        node = f"edge:{index}"
        graph.add_node(node, kind="edge", edge=edge)
        for role, names in (("all", edge.all_of), ("any", edge.any_of), ("not", edge.none_of)):
            for name in names:
                graph.add_edge(f"symptom:{name}", node, role=role)
        graph.add_edge(node, f"cause:{edge.cause}", weight=edge.weight, refutes=edge.refutes)
    for cause in causes.values():
        for explainer in cause.explained_by:
            graph.add_edge(f"cause:{explainer}", f"cause:{cause.id}", kind="explains")
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " → ".join(a for a, _ in nx.find_cycle(graph))
        raise RuleError(f"rules: 'explained_by' forms a cycle ({cycle})")
    return graph
