"""Edits of a number: the learning rate and the dropout probability, where the script writes them.

The value is followed from where it is used (the optimizer the run recorded, each dropout layer)
back to the literal that sets it: a constant, an argparse default, a config field or dict entry.
Only a literal holding the value the run observed is edited; the new value is the one the
confirming replay used.
"""

from __future__ import annotations

import ast
import math

from diagnose.driver.scenarios import PLANS
from diagnose.patch.context import Change, Context
from diagnose.patch.flow import Origin, argument, call_name, number, origins, unpacked
from diagnose.patch.source import Edit, NoEdit, SourceFile

DROPOUT = {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"}
DEFAULT_DROPOUT = 0.2  # the lower_dropout replay's limit
REFERENCES = (ast.Name, ast.Attribute, ast.Subscript)


def set_lr(ctx: Context, scenario: str) -> list[Change]:
    """The optimizer's learning rate set to the one the ``scenario`` replay trained with."""
    source, call = ctx.call("optimizer")
    user_lr = (
        ctx.run.optimizer.optimizers[0].lr
        if ctx.run.optimizer and ctx.run.optimizer.optimizers
        else None
    )
    if not user_lr:
        raise NoEdit("the run recorded no learning rate")
    new = replay_lr(ctx, scenario, user_lr)
    given = argument(call, 1, "lr")
    if given is None and any(k.arg is None for k in call.keywords):
        found = [o for o in unpacked(source, call, "lr") if number(o.node) is not None]
    elif given is None:
        return [add_keyword(source, call, "lr", literal(new, ""))]
    else:
        found = [o for o in origins(source, given) if number(o.node) is not None]
    matching = [o for o in found if math.isclose(number(o.node) or 0.0, user_lr, rel_tol=1e-6)]
    if matching:
        return [_set(o, new, "learning rate") for o in matching]
    if found or given is None or isinstance(given, REFERENCES):
        raise NoEdit(
            f"the learning rate {user_lr:g} is not written in the script (it comes from the "
            f"command line or a file); use {literal(new, '')}"
        )
    return [
        Change(
            source,
            source.replace(given, literal(new, "")),
            f"learning rate `{source.segment(given)}` → {literal(new, '')} at line {given.lineno}",
        )
    ]


def replay_lr(ctx: Context, scenario: str, user_lr: float) -> float:
    """The LR the replay used (its factor x the script's LR), rounded to one significant digit."""
    replay = ctx.evidence.scenarios.get(scenario)
    factor = replay.intervention.params.get("factor") if replay and replay.intervention else None
    if not isinstance(factor, (int, float)):
        plan = PLANS[scenario](ctx.evidence)
        factor = plan.params["factor"] if plan is not None else None
    if not isinstance(factor, (int, float)) or factor <= 0:
        raise NoEdit("no replay gave a learning rate to use")
    return float(f"{user_lr * factor:.1g}")


def lower_dropout(ctx: Context) -> list[Change]:
    """Every dropout probability above the replay's limit, where it is written, set to the limit."""
    replay = ctx.evidence.scenarios.get("lower_dropout")
    limit = replay.intervention.params.get("p") if replay and replay.intervention else None
    if not isinstance(limit, (int, float)):
        plan = PLANS["lower_dropout"](ctx.evidence)
        limit = plan.params["p"] if plan is not None else DEFAULT_DROPOUT
    limit = float(limit)
    observed = [p for p in (ctx.run.model.dropout if ctx.run.model else []) if p > limit]
    changes, seen = [], set()
    for source in ctx.project.modules():
        for call in (n for n in ast.walk(source.tree) if isinstance(n, ast.Call)):
            value = (
                argument(call, 0, "p")
                if call_name(call) in DROPOUT
                else (argument(call, 1, "p") if call_name(call) == "dropout" else None)
            )
            for origin in origins(source, value) if value is not None else []:
                p = number(origin.node)
                if (
                    p is not None
                    and id(origin.node) not in seen
                    and any(math.isclose(p, o) for o in observed)
                ):
                    seen.add(id(origin.node))
                    changes.append(_set(origin, limit, "dropout probability"))
    if not changes:
        raise NoEdit(
            "no dropout probability written in the script matches the dropout the run observed"
        )
    return changes


def _set(origin: Origin, value: float, what: str) -> Change:
    old = origin.source.segment(origin.node)
    new = literal(value, old)
    return Change(
        origin.source,
        origin.source.replace(origin.node, new),
        f"{what} {old} → {new} at line {origin.node.lineno}",
    )


def literal(value: float, like: str) -> str:
    """A readable number, in the notation of the literal it replaces (``1e-3`` or ``0.001``)."""
    if "e" in like.lower() or 0 < abs(value) < 1e-4:
        mantissa, exponent = f"{value:.0e}".split("e")
        return f"{mantissa}e{int(exponent)}"
    text = f"{value:.10f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def add_keyword(source: SourceFile, call: ast.Call, name: str, text: str) -> Change:
    """``name=text`` appended to a call's arguments."""
    last = call.args + [k.value for k in call.keywords]
    if not last:
        raise NoEdit(f"the call at line {call.lineno} has no argument to add {name}= after")
    end = max(source.span(node)[1] for node in last)
    return Change(
        source, Edit(end, end, f", {name}={text}"), f"`{name}={text}` added at line {call.lineno}"
    )
