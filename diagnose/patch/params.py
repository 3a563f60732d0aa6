"""Edits that let the loss train the model's parameters: reconnect a cut graph, unfreeze
parameters, give the optimizer the model it trains, register layers kept in plain lists.

Where to look comes from the run: the trained model's class (the model section), the optimizer's
construction, the training forward and the loss; what to change is the construct that cuts or
hides parameters there (``.detach()``, ``.data``, ``torch.no_grad()`` in the model, a tensor
rebuilt from ``.tolist()``, ``requires_grad = False``, a list of the layer types the run saw
running unregistered).
"""

from __future__ import annotations

import ast

from diagnose.patch.context import Change, Context
from diagnose.patch.flow import argument, assignments, call_name
from diagnose.patch.project import torch_nn
from diagnose.patch.source import Edit, NoEdit, SourceFile

LEAVES_AUTOGRAD = {"numpy", "tolist", "item"}
CHAIN = {"detach", "cpu", "clone", "numpy", "tolist"}
NO_GRAD = {"no_grad", "inference_mode"}
REBUILT = {"tensor", "as_tensor", "from_numpy"}


def reconnect_graph(ctx: Context) -> list[Change]:
    """Remove what cuts the loss from the model: in the model's methods and in the training code
    from the forward to the loss."""
    changes = []
    for source, region, in_model in _graph_regions(ctx):
        for node in region:
            changes += _cut(source, node, in_model)
    if not changes:
        raise NoEdit(
            "the loss leaves autograd in a way no local edit undoes (e.g. computed with numpy): "
            "rewrite it with torch operations on the model's output"
        )
    return list({c.edit: c for c in changes}.values())


def _graph_regions(ctx: Context) -> list[tuple[SourceFile, list[ast.AST], bool]]:
    """The model class's ``forward`` (and the methods it calls on ``self``), and the simple
    statements of the training code from the forward to the loss."""
    cls = ctx.run.model.cls if ctx.run.model else ""
    regions = [
        (source, [n for f in _forward_methods(node) for n in ast.walk(f)], True)
        for source, node in ctx.project.classes(cls)
    ]
    try:
        source, forward = ctx.statement("forward")
        loss_source, loss = ctx.statement("loss")
    except NoEdit:
        return regions
    scope = source.scope(forward)
    if loss_source is source and scope is source.scope(loss):
        simple = [
            s
            for s in ast.walk(scope)
            if isinstance(s, ast.stmt)
            and not hasattr(s, "body")
            and forward.lineno <= s.lineno <= loss.end_lineno
            and source.scope(s) is scope
        ]  # type: ignore[operator]
        regions.append((source, [n for s in simple for n in ast.walk(s)], False))
    return regions


def _forward_methods(cls: ast.ClassDef) -> list[ast.FunctionDef]:
    methods = {f.name: f for f in cls.body if isinstance(f, ast.FunctionDef)}
    forward = methods.get("forward")
    if forward is None:
        return []
    called = {
        n.func.attr
        for n in ast.walk(forward)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == "self"
    }
    return [
        forward,
        *(methods[name] for name in sorted(called) if name in methods and name != "forward"),
    ]


def _cut(source: SourceFile, node: ast.AST, in_model: bool) -> list[Change]:
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "detach"
        and not node.args
        and not _leaves_autograd(source, node)
    ):
        return [
            _without(source, node, node.func.value, f"`.detach()` removed at line {node.lineno}")
        ]
    if (
        isinstance(node, ast.Attribute)
        and node.attr == "data"
        and isinstance(node.ctx, ast.Load)
        and not isinstance(source.parents.get(node), ast.Attribute)
    ):
        return [_without(source, node, node.value, f"`.data` removed at line {node.lineno}")]
    if call_name(node) in REBUILT and isinstance(node, ast.Call) and node.args:
        inner = _before_chain(node.args[0])
        if inner is not node.args[0]:
            return [
                Change(
                    source,
                    source.replace(node, source.segment(inner)),
                    f"`{source.segment(node)}` → `{source.segment(inner)}` at line {node.lineno}",
                )
            ]
    if (
        in_model
        and isinstance(node, ast.With)
        and len(node.items) == 1
        and call_name(node.items[0].context_expr) in NO_GRAD
    ):
        return [_unwrap_block(source, node)]
    return []


def _without(source: SourceFile, node: ast.expr, kept: ast.expr, note: str) -> Change:
    """``node`` replaced by ``kept``; a statement left as ``z = z`` goes away as a whole."""
    stmt = source.statement(node)
    if (
        isinstance(stmt, ast.Assign)
        and stmt.value is node
        and [source.segment(t) for t in stmt.targets] == [source.segment(kept)]
    ):
        return Change(
            source,
            source.delete(stmt),
            f"`{source.statement_text(stmt)}` removed from line {stmt.lineno}",
        )
    return Change(source, source.replace(node, source.segment(kept)), note)


def _leaves_autograd(source: SourceFile, node: ast.AST) -> bool:
    """Is ``node`` followed by ``.numpy()``/``.tolist()``/``.item()``: a value leaving autograd."""
    for parent in source.ancestors(node):
        if isinstance(parent, ast.Attribute):
            if parent.attr in LEAVES_AUTOGRAD:
                return True
        elif not isinstance(parent, ast.Call):
            return False
    return False


def _before_chain(node: ast.expr) -> ast.expr:
    """``out`` in ``out.detach().cpu().tolist()``."""
    while (
        isinstance(node, ast.Call)
        and not node.args
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in CHAIN
    ):
        node = node.func.value
    return node


def _unwrap_block(source: SourceFile, block: ast.With) -> Change:
    """``with torch.no_grad():`` removed, its body dedented by one level."""
    first, last = block.body[0], block.body[-1]
    header_end = block.items[-1].context_expr.end_lineno or block.lineno
    if first.lineno == header_end:
        raise NoEdit(f"the no_grad block at line {block.lineno} is on one line")
    depth = len(source.indentation(first)) - len(source.indentation(block))  # type: ignore[arg-type]
    lines = source.lines[header_end : last.end_lineno]
    body = "".join(line[depth:] if line[:depth].isspace() else line for line in lines)
    end = (
        source.line_start(last.end_lineno + 1)
        if last.end_lineno < len(source.lines)
        else len(source.text)
    )  # type: ignore[operator]
    return Change(
        source,
        Edit(source.line_start(block.lineno), end, body),
        f"`{source.lines[block.lineno - 1].strip()}` removed at line {block.lineno}, "
        "its body dedented",
    )


def train_all_parameters(ctx: Context) -> list[Change]:
    """Unfreeze the parameters the script froze and build the optimizer over the model it trains."""
    changes, reasons = [], []
    for edit in (_unfreeze, _rebind):
        try:
            changes += edit(ctx)
        except NoEdit as reason:
            reasons.append(str(reason))
    if not changes:
        raise NoEdit("; ".join(reasons))
    return changes


def _unfreeze(ctx: Context) -> list[Change]:
    model = ctx.run.model
    if model is None or model.trainable >= model.params:
        raise NoEdit("no parameter of the model was frozen")
    changes = [
        _drop(source, stmt)
        for source in ctx.project.modules()
        for stmt in ast.walk(source.tree)
        if isinstance(stmt, ast.stmt) and _freezes(stmt)
    ]
    if not changes:
        raise NoEdit("no `requires_grad = False` or `requires_grad_(False)` found in the script")
    return changes


def _freezes(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.Assign):
        return (
            isinstance(stmt.value, ast.Constant)
            and stmt.value.value is False
            and any(
                isinstance(t, ast.Attribute) and t.attr == "requires_grad" for t in stmt.targets
            )
        )
    call = stmt.value if isinstance(stmt, ast.Expr) else None
    if call_name(call) != "requires_grad_" or not isinstance(call, ast.Call):
        return False
    flag = argument(call, 0, "requires_grad")
    return isinstance(flag, ast.Constant) and flag.value is False


def _drop(source: SourceFile, stmt: ast.stmt) -> Change:
    """Remove the statement, or the loop it is the only statement of."""
    parent = source.parents.get(stmt)
    if isinstance(parent, (ast.For, ast.AsyncFor)) and parent.body == [stmt] and not parent.orelse:
        stmt = parent
    return Change(
        source,
        source.delete(stmt),
        f"`{source.statement_text(stmt)}` removed from line {stmt.lineno}".replace("\n", " "),
    )


def _rebind(ctx: Context) -> list[Change]:
    """The optimizer over ``model.parameters()`` of the model the loop trains: built after the
    model's last re-assignment, or over all of it instead of one of its parts."""
    optimizer = ctx.run.optimizer
    if optimizer is None or optimizer.model_params_optimized >= optimizer.model_params_trainable:
        raise NoEdit("the optimizer holds all of the model's trainable parameters")
    source, call = ctx.call("optimizer")
    forward_source, model = ctx.model_text("forward")
    params = argument(call, 0, "params")
    if forward_source is not source or call_name(params) != "parameters" or params is None:
        raise NoEdit(
            "the optimizer is not built from a `.parameters()` of the model the loop trains"
        )
    owner = source.segment(params.func.value)  # type: ignore[attr-defined]
    if owner.startswith(model + "."):
        return [
            Change(
                source,
                source.replace(params, f"{model}.parameters()"),
                f"`{source.segment(params)}` → `{model}.parameters()` at line {params.lineno}",
            )
        ]
    if owner == model:
        return _move_after_rebinding(source, source.statement(call), model)
    raise NoEdit(
        f"the optimizer is built over {owner}, not over the model the loop trains ({model})"
    )


def _move_after_rebinding(source: SourceFile, stmt: ast.stmt, model: str) -> list[Change]:
    scope = source.scope(stmt)
    later = [s for s, _ in assignments(scope, model) if s.lineno > stmt.end_lineno]  # type: ignore[operator]
    if not later:
        raise NoEdit(f"{model} is not re-assigned after the optimizer is built")
    target = later[0]
    names = {source.segment(t) for t in getattr(stmt, "targets", [])}
    used = any(
        isinstance(n, (ast.Name, ast.Attribute)) and source.segment(n) in names
        for s in ast.walk(scope)
        if isinstance(s, ast.stmt) and stmt.end_lineno < s.lineno <= target.end_lineno  # type: ignore[operator]
        for n in ast.walk(s)
    )
    if (
        used
        or source.indentation(stmt) != source.indentation(target)
        or source.parents[stmt] is not source.parents[target]
    ):
        raise NoEdit("the optimizer cannot be moved below the model's re-assignment")
    text = source.statement_text(stmt)
    return [
        Change(source, source.delete(stmt), f"`{text}` moved from line {stmt.lineno}"),
        Change(
            source,
            source.insert_after(target, text),
            f"... to after line {target.end_lineno}, where {model} is the model that is trained",
        ),
    ]


def register_submodules(ctx: Context) -> list[Change]:
    """Layers the run saw running unregistered, held in a list or dict attribute: wrapped in
    ``nn.ModuleList`` / ``nn.ModuleDict``."""
    types = _holding(
        ctx,
        {label.split("(")[0] for label in (ctx.run.model.unregistered if ctx.run.model else [])},
    )
    changes = []
    for source in ctx.project.modules():
        for cls in (n for n in ast.walk(source.tree) if isinstance(n, ast.ClassDef)):
            for stmt in (
                s for s in ast.walk(cls) if isinstance(s, ast.Assign) and len(s.targets) == 1
            ):
                wrapper = _container(cls, stmt, types)
                if wrapper:
                    text = source.segment(stmt.value)
                    new = f"{torch_nn(source)}.{wrapper}({'' if text in ('[]', '{}') else text})"
                    changes.append(
                        Change(
                            source,
                            source.replace(stmt.value, new),
                            f"`{text}` → `{new}` at line {stmt.lineno}".replace("\n", " "),
                        )
                    )
    if not changes:
        raise NoEdit("no list or dict of the unregistered layers found in the model's classes")
    return changes


def _holding(ctx: Context, types: set[str]) -> set[str]:
    """The layer types the run saw unregistered, and the script's classes that build them (a
    ``Block`` whose own layers hold the parameters)."""
    classes = [
        c
        for source in ctx.project.modules()
        for c in ast.walk(source.tree)
        if isinstance(c, ast.ClassDef)
    ]
    found = set(types)
    for _ in range(3):
        found |= {c.name for c in classes if any(call_name(n) in found for n in ast.walk(c))}
    return found


def _container(cls: ast.ClassDef, stmt: ast.Assign, types: set[str]) -> str:
    """``ModuleList``/``ModuleDict`` when ``self.x = [...]``/``{...}`` holds layers of ``types``."""
    target, value = stmt.targets[0], stmt.value
    if not (
        isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    ):
        return ""
    if isinstance(value, (ast.List, ast.ListComp)):
        elements, wrapper = (
            (value.elts if isinstance(value, ast.List) else [value.elt]),
            "ModuleList",
        )
    elif isinstance(value, (ast.Dict, ast.DictComp)):
        elements, wrapper = (
            (value.values if isinstance(value, ast.Dict) else [value.value]),
            "ModuleDict",
        )
    else:
        return ""
    if not elements:
        elements = [
            c.args[0]
            for c in ast.walk(cls)
            if call_name(c) == "append"
            and c.args  # type: ignore[attr-defined]
            and isinstance(c.func.value, ast.Attribute)
            and c.func.value.attr == target.attr
        ]  # type: ignore[attr-defined]
    return wrapper if any(call_name(e) in types for e in elements) else ""
