"""Follow a value back through the code to where it is written.

``origins(source, expr)`` follows names (the assignment that reaches a use), parameters (the
arguments their callers pass, or the default), attributes (``self.x = ...``, a config class's
field, an argparse option's default, a keyword of the call that built the object) and string
keys (``cfg["lr"]`` to the dict literal). It stops at anything else: a literal, a call, an
expression. Several origins can come back (a field set in two places); the caller keeps the one
whose value the run observed, so a wrong guess never gets edited.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from diagnose.patch.source import SourceFile

MAX_DEPTH = 8
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)


@dataclass(frozen=True)
class Origin:
    source: SourceFile
    node: ast.expr


def origins(source: SourceFile, expr: ast.expr, depth: int = 0) -> list[Origin]:
    """The expressions that give ``expr`` its value; a terminal expression is its own origin."""
    if depth > MAX_DEPTH:
        return []
    if isinstance(expr, ast.Name):
        found = _name(source, expr, depth)
    elif isinstance(expr, ast.Attribute):
        found = _attribute(source, expr, depth)
    elif isinstance(expr, ast.Subscript) and _string(expr.slice) is not None:
        found = _key(source, str(_string(expr.slice)), depth)
    else:
        return [Origin(source, expr)]
    return list({id(o.node): o for o in found}.values())


def call_name(node: ast.AST) -> str:
    """``DataLoader`` for ``DataLoader(...)`` or ``torch.utils.data.DataLoader(...)``, else ""."""
    if not isinstance(node, ast.Call):
        return ""
    func = node.func
    return (
        func.id
        if isinstance(func, ast.Name)
        else func.attr
        if isinstance(func, ast.Attribute)
        else ""
    )


def number(node: ast.AST) -> float | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        inner = number(node.operand)
        return None if inner is None else (-inner if isinstance(node.op, ast.USub) else inner)
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    return None


def _string(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def argument(call: ast.Call, position: int | None, keyword: str) -> ast.expr | None:
    """The expression a call passes for a parameter, by keyword or position."""
    for kw in call.keywords:
        if kw.arg == keyword:
            return kw.value
    if (
        position is not None
        and position < len(call.args)
        and not any(isinstance(a, ast.Starred) for a in call.args[: position + 1])
    ):
        return call.args[position]
    return None


def unpacked(source: SourceFile, call: ast.Call, keyword: str) -> list[Origin]:
    """What a call passes for ``keyword`` through ``**mapping``: the entry of the dict literal (or
    ``dict(...)`` call) that the mapping comes from."""
    found = []
    for kw in (k for k in call.keywords if k.arg is None):
        for origin in origins(source, kw.value):
            mapping = origin.node
            if isinstance(mapping, ast.Dict):
                found += [
                    Origin(origin.source, v)
                    for k, v in zip(mapping.keys, mapping.values)
                    if k is not None and _string(k) == keyword
                ]
            elif call_name(mapping) == "dict":
                found += [
                    Origin(origin.source, k.value) for k in mapping.keywords if k.arg == keyword
                ]  # type: ignore[attr-defined]
    return [o for found_origin in found for o in origins(found_origin.source, found_origin.node)]


def _trace(source: SourceFile, values: list[ast.expr], depth: int) -> list[Origin]:
    return [origin for value in values for origin in origins(source, value, depth + 1)]


def _assigned(node: ast.stmt, name: str) -> ast.expr | None:
    """The value ``node`` gives ``name`` (one element of a tuple assignment), if it assigns it."""
    if (
        isinstance(node, ast.AnnAssign)
        and isinstance(node.target, ast.Name)
        and node.target.id == name
    ):
        return node.value
    if not isinstance(node, ast.Assign):
        return None
    for target in node.targets:
        if isinstance(target, ast.Name) and target.id == name:
            return node.value
        if isinstance(target, ast.Tuple):
            names = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
            if name in names:
                values = node.value.elts if isinstance(node.value, ast.Tuple) else None
                return (
                    values[names.index(name)]
                    if values and len(values) == len(names)
                    else node.value
                )
    return None


def body_statements(scope: ast.AST) -> list[ast.stmt]:
    """Statements of a function or module, nested blocks included, not nested functions/classes."""
    found, stack = [], list(getattr(scope, "body", []))
    while stack:
        node = stack.pop()
        found.append(node)
        if not isinstance(node, (*FUNCTIONS, ast.ClassDef)):
            stack.extend(
                child for child in ast.iter_child_nodes(node) if isinstance(child, ast.stmt)
            )
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def assignments(scope: ast.AST, name: str) -> list[tuple[ast.stmt, ast.expr]]:
    return [
        (stmt, value)
        for stmt in body_statements(scope)
        if (value := _assigned(stmt, name)) is not None
    ]


def _name(source: SourceFile, node: ast.Name, depth: int) -> list[Origin]:
    scope = source.scope(node)
    before = [
        (s, v)
        for s, v in assignments(scope, node.id)
        if s.lineno < node.lineno or (s.lineno == node.lineno and not source.contains(s, node))
    ]
    if before:
        return _trace(source, [before[-1][1]], depth)
    if _bound_otherwise(scope, node.id):
        return []
    if isinstance(scope, FUNCTIONS) and node.id in _parameters(scope):
        return _parameter(source, scope, node.id, depth)
    if scope is not source.tree:
        module = assignments(source.tree, node.id)
        return _trace(source, [module[-1][1]], depth) if module else []
    return []


def _bound_otherwise(scope: ast.AST, name: str) -> bool:
    """A loop variable, a ``with ... as`` name or an import: not a value this module writes down."""
    for stmt in body_statements(scope):
        targets = (
            [stmt.target]
            if isinstance(stmt, (ast.For, ast.AsyncFor))
            else [item.optional_vars for item in stmt.items if item.optional_vars is not None]
            if isinstance(stmt, (ast.With, ast.AsyncWith))
            else []
        )
        if any(isinstance(n, ast.Name) and n.id == name for t in targets for n in ast.walk(t)):
            return True
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) and any(
            (a.asname or a.name.split(".")[0]) == name for a in stmt.names
        ):
            return True
    return False


def _parameters(func: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    return [a.arg for a in (*func.args.posonlyargs, *func.args.args, *func.args.kwonlyargs)]


def _parameter(
    source: SourceFile, func: ast.FunctionDef | ast.AsyncFunctionDef, name: str, depth: int
) -> list[Origin]:
    """What the callers of ``func`` pass for ``name`` (found by the function's or class's name), or
    its default when no caller passes it."""
    positional = [a.arg for a in (*func.args.posonlyargs, *func.args.args)]
    owner = source.enclosing_class(func)
    method = owner is not None and bool(positional) and positional[0] in {"self", "cls"}
    callee = owner.name if owner is not None and func.name == "__init__" else func.name
    index = positional.index(name) - (1 if method else 0) if name in positional else None
    passed = []
    for call in (n for n in ast.walk(source.tree) if isinstance(n, ast.Call)):
        shift = _calls(call, callee)
        if shift is not None:
            value = argument(call, None if index is None else index + shift, name)
            if value is not None:
                passed.append(value)
    if passed:
        return _trace(source, passed, depth)
    default = _default(func, name)
    return _trace(source, [default], depth) if default is not None else []


def _calls(call: ast.Call, callee: str) -> int | None:
    """How many leading positional arguments to skip if ``call`` calls ``callee`` (directly, or
    through ``functools.partial(callee, ...)``); None when it does not."""
    if call_name(call) == callee:
        return 0
    if (
        call_name(call) == "partial"
        and call.args
        and isinstance(call.args[0], (ast.Name, ast.Attribute))
    ):
        first = call.args[0]
        named = first.id if isinstance(first, ast.Name) else first.attr
        return -1 if named == callee else None
    return None


def _default(func: ast.FunctionDef | ast.AsyncFunctionDef, name: str) -> ast.expr | None:
    args = func.args
    positional = [*args.posonlyargs, *args.args]
    defaults = dict(
        zip([a.arg for a in positional[len(positional) - len(args.defaults) :]], args.defaults)
    )
    defaults.update({a.arg: d for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None})
    return defaults.get(name)


def _attribute(source: SourceFile, node: ast.Attribute, depth: int) -> list[Origin]:
    """``obj.name``: where any object of this file gets an attribute ``name`` (restricted to the
    class when ``obj`` is ``self``)."""
    name, owner = node.attr, source.enclosing_class(node)
    own = isinstance(node.value, ast.Name) and node.value.id == "self" and owner is not None
    values = []
    for stmt in ast.walk(owner if own else source.tree):
        if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
            targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
            if stmt.value is not None and any(
                isinstance(t, ast.Attribute) and t.attr == name for t in targets
            ):
                values.append((stmt, stmt.value))
    if not own:
        values += _fields(source, name) + _options(source, name) + _keywords(source, name)
    return [o for stmt, value in values for o in origins(source, value, depth + 1)]


def _fields(source: SourceFile, name: str) -> list[tuple[ast.AST, ast.expr]]:
    """Class-level fields (a dataclass or config class): ``lr: float = 1e-3``."""
    return [
        (stmt, value)
        for cls in ast.walk(source.tree)
        if isinstance(cls, ast.ClassDef)
        for stmt in cls.body
        if (value := _assigned(stmt, name)) is not None
    ]


def _options(source: SourceFile, name: str) -> list[tuple[ast.AST, ast.expr]]:
    """The default of the argparse option whose destination is ``name``."""
    found = []
    for call in (n for n in ast.walk(source.tree) if call_name(n) == "add_argument"):
        flags = [s for a in call.args if (s := _string(a)) is not None]
        dest = _string(argument(call, None, "dest") or ast.Constant(None))
        longest = max(flags, key=lambda f: (f.startswith("--"), len(f)), default="")
        if (dest or longest.lstrip("-").replace("-", "_")) == name:
            default = argument(call, None, "default")
            if default is not None:
                found.append((call, default))
    return found


def _keywords(source: SourceFile, name: str) -> list[tuple[ast.AST, ast.expr]]:
    """``name=...`` where the object is built (``Config(lr=0.1)``, ``SimpleNamespace(lr=0.1)``)."""
    builders = {"SimpleNamespace", "Namespace"} | {
        c.name for c in ast.walk(source.tree) if isinstance(c, ast.ClassDef)
    }
    return [
        (call, kw.value)
        for call in ast.walk(source.tree)
        if call_name(call) in builders
        for kw in call.keywords
        if kw.arg == name
    ]  # type: ignore[attr-defined]


def _key(source: SourceFile, key: str, depth: int) -> list[Origin]:
    values = [
        v
        for d in ast.walk(source.tree)
        if isinstance(d, ast.Dict)
        for k, v in zip(d.keys, d.values)
        if k is not None and _string(k) == key
    ]
    values += [
        kw.value
        for call in ast.walk(source.tree)
        if call_name(call) == "dict"
        for kw in call.keywords
        if kw.arg == key
    ]  # type: ignore[attr-defined]
    return _trace(source, values, depth)
