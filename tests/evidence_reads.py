"""Which evidence sections a detector reads, found on its source (and the helpers it calls)."""

from __future__ import annotations

import ast
import inspect
import textwrap
from collections.abc import Callable
from types import ModuleType
from typing import Any

from diagnose.evidence import ObservedRun

SECTIONS = set(ObservedRun.model_fields)
# Helpers whose second argument names the section or replay they read.
ACCESSORS = {"observed", "_replay"}


def sections_read(function: Callable[..., Any], seen: set[str] | None = None) -> set[str]:
    """Every section or replay ``function`` reads through its first parameter, following calls to
    functions of the rules package that it passes that parameter to."""
    seen = set() if seen is None else seen
    key = f"{function.__module__}.{function.__qualname__}"
    if key in seen:
        return set()
    seen.add(key)
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    node = tree.body[0]
    assert isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
    evidence = node.args.args[0].arg if node.args.args else ""
    module = inspect.getmodule(function)
    names = _loop_literals(node)
    found: set[str] = set()
    for sub in ast.walk(node):
        found |= _attribute_read(sub, evidence) | _subscript_read(sub, evidence, names)
        if isinstance(sub, ast.Call) and _passes(sub, evidence):
            found |= _call_read(sub, module, seen, names)
    return found


def _loop_literals(function: ast.AST) -> dict[str, set[str]]:
    """Names a loop or comprehension binds to each of a tuple of string literals in turn."""
    bound: dict[str, set[str]] = {}
    for node in ast.walk(function):
        if isinstance(node, ast.For | ast.comprehension) and isinstance(node.target, ast.Name):
            values = node.iter.elts if isinstance(node.iter, ast.Tuple | ast.List) else []
            strings = {v.value for v in values if isinstance(v, ast.Constant)}
            if values and len(strings) == len(values):
                bound.setdefault(node.target.id, set()).update(map(str, strings))
    return bound


def _passes(call: ast.Call, evidence: str) -> bool:
    return any(isinstance(a, ast.Name) and a.id == evidence for a in call.args)


def _attribute_read(node: ast.AST, evidence: str) -> set[str]:
    """``ev.observe.loss`` reads loss."""
    if (
        isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Attribute)
        and node.value.attr == "observe"
        and isinstance(node.value.value, ast.Name)
        and node.value.value.id == evidence
        and node.attr in SECTIONS
    ):
        return {node.attr}
    return set()


def _subscript_read(node: ast.AST, evidence: str, names: dict[str, set[str]]) -> set[str]:
    """``ev.scenarios["x"]``, ``ev.scenarios.get("x")``, ``"x" in ev.scenarios`` read replay x."""

    def scenarios(value: ast.AST) -> bool:
        return (
            isinstance(value, ast.Attribute)
            and value.attr == "scenarios"
            and isinstance(value.value, ast.Name)
            and value.value.id == evidence
        )

    if isinstance(node, ast.Subscript) and scenarios(node.value):
        return _literals(node.slice, names)
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "get"
        and scenarios(node.func.value)
    ):
        return _literals(node.args[0], names)
    if isinstance(node, ast.Compare) and any(scenarios(c) for c in node.comparators):
        return _literals(node.left, names)
    return set()


def _call_read(
    call: ast.Call, module: ModuleType | None, seen: set[str], names: dict[str, set[str]]
) -> set[str]:
    name = call.func.id if isinstance(call.func, ast.Name) else ""
    if name in ACCESSORS and len(call.args) >= 2:
        return _literals(call.args[1], names)
    callee = getattr(module, name, None) if name else None
    if callee is None or not inspect.isfunction(callee):
        return set()
    if not callee.__module__.startswith("diagnose.rules"):
        return set()
    return sections_read(callee, seen)


def _literals(node: ast.AST, names: dict[str, set[str]]) -> set[str]:
    """The section names an expression can take: a string literal, or a loop's literals."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    raise ValueError(f"a section read through an expression: {ast.unparse(node)}")
