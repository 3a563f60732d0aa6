"""Edits of how the loss is computed: probabilities into a loss that expects logits, and a loss
summed over the batch.

The loss call the run recorded is the start; its input is followed back to a softmax (at the
call, in the assignment that feeds it, or at the end of the model), its criterion object back to
the constructor where ``reduction`` or the loss class is written.
"""

from __future__ import annotations

import ast

from diagnose.patch.context import Change, Context
from diagnose.patch.flow import argument, call_name, origins
from diagnose.patch.source import NoEdit, SourceFile

# A sigmoid output into BCE-with-logits: the loss that takes probabilities computes the same thing
# (BCEWithLogits(logit(p)) == BCE(p)) and leaves the model's outputs, which the script may
# threshold at 0.5, as they are.
PROBABILITY_LOSS = {
    "BCEWithLogitsLoss": "BCELoss",
    "binary_cross_entropy_with_logits": "binary_cross_entropy",
}
SOFTMAX = {"softmax", "Softmax"}
FUNCTIONAL = {"torch", "F", "functional", "nn"}


def logits_into_loss(ctx: Context) -> list[Change]:
    source, call = ctx.call("loss")
    if ctx.run.loss is not None and ctx.run.loss.kind == "binary_cross_entropy_with_logits":
        return _probability_loss(source, call)
    for origin in origins(source, argument(call, 0, "input") or call):
        inner = _softmax_input(origin.source, origin.node)
        if inner is not None:
            return [_unwrap(origin.source, origin.node, inner)]  # type: ignore[arg-type]
    return _softmax_in_model(ctx)


def mean_reduction(ctx: Context) -> list[Change]:
    """``reduction="sum"`` → ``"mean"`` where written (the call or the criterion's constructor)."""
    source, call = ctx.call("loss")
    given = [(source, call)] + [
        (o.source, o.node) for o in origins(source, call.func) if isinstance(o.node, ast.Call)
    ]
    for where, node in given:
        value = argument(node, None, "reduction")  # type: ignore[arg-type]
        for origin in origins(where, value) if value is not None else []:
            literal = origin.node
            if isinstance(literal, ast.Constant) and literal.value == "sum":
                text = origin.source.segment(literal)
                quote = text[-1]
                return [
                    Change(
                        origin.source,
                        origin.source.replace(literal, f"{quote}mean{quote}"),
                        f"reduction {text} → {quote}mean{quote} at line {literal.lineno}",
                    )
                ]
    raise NoEdit('the summed reduction is not written as reduction="sum" where the loss is built')


def _probability_loss(source: SourceFile, call: ast.Call) -> list[Change]:
    builders = (
        [(source, call)]
        if call_name(call) in PROBABILITY_LOSS
        else [
            (o.source, o.node)
            for o in origins(source, call.func)
            if call_name(o.node) in PROBABILITY_LOSS
        ]
    )
    if len(builders) != 1:
        raise NoEdit("the logit loss is not built in one place of the script")
    where, builder = builders[0]
    if argument(builder, None, "pos_weight") is not None:  # type: ignore[arg-type]
        raise NoEdit(
            "the loss weighs the positives (pos_weight), which the probability loss cannot"
        )
    func = builder.func  # type: ignore[attr-defined]
    old = call_name(builder)
    text = where.segment(func)
    new = text[: len(text) - len(old)] + PROBABILITY_LOSS[old]
    return [
        Change(
            where,
            where.replace(func, new),
            f"{text} → {new} at line {func.lineno}: the model's sigmoid outputs are probabilities",
        )
    ]


def _softmax_input(source: SourceFile, node: ast.AST) -> ast.expr | None:
    """``x`` when ``node`` applies a softmax to it: ``F.softmax(x, 1)``, ``x.softmax(1)``,
    ``nn.Softmax(1)(x)``, or a call of a layer built as ``nn.Softmax``; else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if call_name(node) in SOFTMAX and isinstance(func, ast.Attribute):
        owner = source.segment(func.value).split(".")[-1]
        if owner in FUNCTIONAL or owner == "self":
            return node.args[0] if node.args else None
        return func.value
    if call_name(node) == "softmax":
        return node.args[0] if node.args else None
    layers = [func] if isinstance(func, ast.Call) else [o.node for o in origins(source, func)]
    return (
        node.args[0]
        if node.args and any(call_name(layer) == "Softmax" for layer in layers)
        else None
    )


def _unwrap(source: SourceFile, call: ast.Call, inner: ast.expr) -> Change:
    """The softmax replaced by its input; ``x = F.softmax(x, 1)`` goes away as a whole."""
    text = source.segment(inner)
    stmt = source.statement(call)
    if (
        isinstance(stmt, ast.Assign)
        and stmt.value is call
        and [source.segment(t) for t in stmt.targets] == [text]
    ):
        return Change(
            source,
            source.delete(stmt),
            f"`{source.statement_text(stmt)}` removed from line {stmt.lineno}",
        )
    return Change(
        source,
        source.replace(call, text),
        f"softmax removed at line {call.lineno}: the loss gets `{text}`",
    )


def _softmax_in_model(ctx: Context) -> list[Change]:
    """The softmax at the end of the trained model: the last layer of an ``nn.Sequential``, or the
    last operation of the model class's ``forward``."""
    cls = ctx.run.model.cls if ctx.run.model else ""
    if cls == "Sequential":
        source, call = ctx.call("forward")
        built = [
            (o.source, o.node)
            for o in origins(source, call.func)
            if call_name(o.node) == "Sequential"
        ]
    else:
        built = [
            (s, n)
            for s, c in ctx.project.classes(cls)
            for n in ast.walk(c)
            if call_name(n) == "Sequential"
        ]
    for source, sequential in built:
        last = sequential.args[-1] if sequential.args else None  # type: ignore[attr-defined]
        if last is not None and call_name(last) == "Softmax":
            return [
                Change(
                    source,
                    source.remove_item(sequential.args, last),  # type: ignore[attr-defined]
                    f"`{source.segment(last)}` removed from line {last.lineno}",
                )
            ]
    for source, node in ctx.project.classes(cls):
        forward = next(
            (f for f in node.body if isinstance(f, ast.FunctionDef) and f.name == "forward"), None
        )
        returned = (
            [
                r.value
                for r in ast.walk(forward)
                if isinstance(r, ast.Return) and r.value is not None
            ]
            if forward
            else []
        )
        for value in returned:
            for origin in origins(source, value):
                inner = _softmax_input(origin.source, origin.node)
                if inner is not None:
                    return [_unwrap(origin.source, origin.node, inner)]  # type: ignore[arg-type]
    raise NoEdit("no softmax found at the loss call or at the end of the model")
