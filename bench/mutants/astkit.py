"""Small AST helpers the operators share: naming calls, finding and moving statements, imports.

Operators edit a module's tree in place; these helpers keep each operator a few lines long and
keep the edits uniform (every inserted statement is parsed from plain source, so what a mutant
holds is always code a person could have written).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

Block = list[ast.stmt]


def dotted(node: ast.AST) -> str:
    """`torch.optim.Adam` for the callee of `torch.optim.Adam(...)`; '' when it is no plain name."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        head = dotted(node.value)
        return f"{head}.{node.attr}" if head else ""
    return ""


def leaf(node: ast.AST) -> str:
    """Last name of a callee or target: `zero_grad` for `self.opt.zero_grad`, `lr` for `cfg.lr`."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return ""


def calls(tree: ast.AST, *leaves: str) -> list[ast.Call]:
    """Every call whose callee ends with one of `leaves`, in source order."""
    found = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and leaf(n.func) in leaves]
    return sorted(found, key=lambda n: (n.lineno, n.col_offset))


def rename_callee(call: ast.Call, name: str) -> None:
    """`nn.A(...)` -> `nn.B(...)`, `A(...)` -> `B(...)`."""
    if isinstance(call.func, ast.Attribute):
        call.func.attr = name
    elif isinstance(call.func, ast.Name):
        call.func.id = name


def keyword(call: ast.Call, name: str) -> ast.keyword | None:
    return next((k for k in call.keywords if k.arg == name), None)


def set_keyword(call: ast.Call, name: str, value: ast.expr) -> None:
    """Set `name=value` on a call, replacing an existing keyword of that name."""
    found = keyword(call, name)
    if found:
        found.value = value
    else:
        call.keywords.append(ast.keyword(arg=name, value=value))


def is_number(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def blocks(tree: ast.AST) -> Iterator[Block]:
    """Every statement list of the tree (bodies, else branches, handlers, finally blocks)."""
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            value = getattr(node, field, None)
            if isinstance(value, list) and value and isinstance(value[0], ast.stmt):
                yield value


def locate(tree: ast.AST, target: ast.AST) -> tuple[Block, int]:
    """The statement list holding the statement that contains `target`, and its index there."""
    for block in blocks(tree):
        for index, stmt in enumerate(block):
            if any(node is target for node in ast.walk(stmt)) and not _nested_holds(stmt, target):
                return block, index
    raise LookupError("node not found in any block")


def _nested_holds(stmt: ast.stmt, target: ast.AST) -> bool:
    """True if a statement nested in `stmt` holds the target: then a deeper block is the answer."""
    return any(
        target is node for block in blocks(stmt) for inner in block for node in ast.walk(inner)
    )


def call_statements(tree: ast.AST, method: str) -> list[ast.Expr]:
    """Statements that are nothing but a call of `method` (e.g. `optimizer.zero_grad()`)."""
    return [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Expr)
        and isinstance(n.value, ast.Call)
        and isinstance(n.value.func, ast.Attribute)
        and n.value.func.attr == method
    ]


def remove(tree: ast.AST, stmt: ast.stmt) -> None:
    """Delete a statement; a block left empty gets `pass` so the module still compiles."""
    block, index = locate(tree, stmt)
    del block[index]
    if not block:
        block.append(ast.Pass())


def insert(tree: ast.AST, anchor: ast.AST, code: str, after: bool = False) -> None:
    """Insert the statements of `code` before (or after) the statement that holds `anchor`."""
    block, index = locate(tree, anchor)
    block[index + after : index + after] = ast.parse(code).body


def expr(code: str) -> ast.expr:
    return ast.parse(code, mode="eval").body


def source(node: ast.AST) -> str:
    return ast.unparse(node)


def enclosing_function(tree: ast.AST, target: ast.AST) -> ast.AST | None:
    """The innermost function holding `target` (None at module level)."""
    found = None
    for node in ast.walk(tree):
        if (
            isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and any(n is target for n in ast.walk(node))
            and (found is None or any(n is node for n in ast.walk(found)))
        ):
            found = node
    return found


def import_name(tree: ast.Module, module: str) -> str:
    """The name under which `module` is imported at the top level, importing it when it is not."""
    for stmt in tree.body:
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                if alias.name == module:
                    return alias.asname or module
    at = (
        1
        if tree.body
        and isinstance(tree.body[0], ast.Expr)
        and isinstance(getattr(tree.body[0], "value", None), ast.Constant)
        else 0
    )
    while (
        at < len(tree.body)
        and isinstance(tree.body[at], ast.ImportFrom)
        and tree.body[at].module == "__future__"
    ):
        at += 1
    tree.body.insert(at, ast.Import(names=[ast.alias(name=module)]))
    return module


class _Replace(ast.NodeTransformer):
    def __init__(self, mapping: dict[int, ast.AST]) -> None:
        self.mapping = mapping

    def visit(self, node: ast.AST) -> ast.AST:
        if id(node) in self.mapping:
            return self.mapping[id(node)]
        return self.generic_visit(node)


def replace(tree: ast.AST, mapping: dict[int, ast.AST]) -> None:
    """Swap nodes (keyed by `id`) for new ones; a replacement is not visited again, so it may
    contain the node it replaces."""
    _Replace(mapping).visit(tree)


def drop_self_assignments(tree: ast.AST) -> None:
    """Delete `x = x`, which removing a transformation leaves behind."""
    for node in list(ast.walk(tree)):
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and ast.dump(node.targets[0], include_attributes=False).replace("Store", "Load")
            == ast.dump(node.value, include_attributes=False)
        ):
            remove(tree, node)
