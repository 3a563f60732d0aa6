"""How many passes over a DataLoader the script plans: the length of the loop around the pass.

An observed run ends long before the script does, yet the script's length is written in it: in
``for epoch in range(epochs): for xb, yb in loader: ...`` each iteration of the outer loop is one
pass. When a pass begins, the frames of the user's code that began it are live. The innermost one
stands at the ``for`` statement over the loader; the loop around that statement (in the same
function, or around the call in a caller's frame) is the epoch loop, and its iterable is evaluated
again here, in that frame, when it is built only from what can be read without running user code:
constants, variables, attributes held in an object's or class's ``__dict__``, items of dicts, lists
and tuples, arithmetic, and ``range``/``enumerate``/``len``/``int``/``min``/``max`` (recognised as
the builtins themselves, not by name) over such values. No name is interpreted: the length of what
the loop iterates is the answer.

Anything else answers None (unknown): a ``while`` loop, a pass begun by ``iter()``/``next()``, an
iterable built by a call, a library's loop, and an epoch loop that may leave early (a ``break``
of its own or a ``return`` in its body): its bound is then only a maximum, not the plan.
"""

from __future__ import annotations

import ast
import inspect
import linecache
import operator
from collections.abc import Callable
from functools import lru_cache
from types import FrameType
from typing import Any

MAX_FRAMES = 8  # user frames searched outward for the loop around a pass
MAX_PASSES = 1_000_000
_SIZED = (range, list, tuple)
_CONTAINERS = (dict, list, tuple)
_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}
_NUMERIC: tuple[Callable[..., Any], ...] = (
    range,
    int,
    min,
    max,
)  # builtins that run no user code on numbers
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_LOOPS = (ast.For, ast.AsyncFor, ast.While)


class _Unreadable(Exception):
    """The expression needs more than reading values."""


def planned_passes(frame: FrameType | None, is_user_file: Callable[[str], bool]) -> int | None:
    """Iterations of the loop around the pass that the stack of ``frame`` is beginning, or None."""
    try:
        return _planned_passes(frame, is_user_file)
    except Exception:  # a frame or a file that cannot be read as expected: unknown, never an error
        return None


def _planned_passes(frame: FrameType | None, is_user_file: Callable[[str], bool]) -> int | None:
    while frame is not None and not is_user_file(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    chain = _chain(frame.f_code.co_filename, frame.f_lineno)
    starts = [
        i
        for i, node in enumerate(chain)
        if isinstance(node, ast.For) and _in_iter(node, frame.f_lineno)
    ]
    if not starts:
        return None  # the pass is not begun by a `for` statement
    chain = chain[: starts[-1]]
    for _ in range(MAX_FRAMES):
        loop = next(
            (
                node
                for node in reversed(chain)
                if isinstance(node, _LOOPS)
                and not (isinstance(node, ast.For) and _in_iter(node, frame.f_lineno))
            ),
            None,
        )
        if loop is not None:
            return _length(loop, frame)
        frame = frame.f_back
        if frame is None or not is_user_file(frame.f_code.co_filename):
            return None
        chain = _chain(frame.f_code.co_filename, frame.f_lineno)
    return None


def _in_iter(loop: ast.For, line: int) -> bool:
    return loop.iter.lineno <= line <= (loop.iter.end_lineno or loop.iter.lineno)


@lru_cache(maxsize=256)
def _chain(filename: str, line: int) -> tuple[ast.AST, ...]:
    """The statements and expressions around ``line``, outermost first, within its innermost
    function or class (loops outside a ``def`` do not run around its body)."""
    tree = _tree(filename)
    chain: list[ast.AST] = []
    node: ast.AST | None = tree
    while node is not None:
        node = next(
            (
                child
                for child in ast.iter_child_nodes(node)
                if hasattr(child, "lineno")
                and child.lineno <= line <= (getattr(child, "end_lineno", None) or child.lineno)
            ),
            None,
        )
        if isinstance(node, _SCOPES):
            chain = []
        elif node is not None:
            chain.append(node)
    return tuple(chain)


@lru_cache(maxsize=32)
def _tree(filename: str) -> ast.AST:
    try:
        return ast.parse("".join(linecache.getlines(filename)))
    except (SyntaxError, ValueError):
        return ast.Module(body=[], type_ignores=[])


def _length(loop: ast.AST, frame: FrameType) -> int | None:
    if not isinstance(loop, ast.For) or _leaves_early(loop):
        return None
    try:
        value = _evaluate(loop.iter, frame)
    except Exception:  # _Unreadable, or reading it failed: unknown
        return None
    if not isinstance(value, _SIZED) or not 0 < len(value) <= MAX_PASSES:
        return None
    return len(value)


def _leaves_early(loop: ast.For) -> bool:
    """A ``break`` of this loop, or a ``return`` anywhere in its body (a nested ``def`` aside)."""

    def leaves(node: ast.AST, nested: bool) -> bool:
        if isinstance(node, ast.Return):
            return True
        if isinstance(node, ast.Break):
            return not nested  # a nested loop's break leaves that loop only
        if isinstance(node, _SCOPES):
            return False
        if isinstance(node, _LOOPS):
            return any(leaves(c, True) for c in node.body) or any(
                leaves(c, nested) for c in node.orelse
            )
        return any(leaves(child, nested) for child in ast.iter_child_nodes(node))

    return any(leaves(statement, False) for statement in loop.body)


def _evaluate(node: ast.AST, frame: FrameType) -> Any:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str)):
        return node.value
    if isinstance(node, ast.Name):
        for scope in (frame.f_locals, frame.f_globals, frame.f_builtins):
            if node.id in scope:
                return scope[node.id]
        raise _Unreadable(node.id)
    if isinstance(node, ast.Attribute):
        value = inspect.getattr_static(_evaluate(node.value, frame), node.attr)
        if hasattr(type(value), "__get__"):  # a property or a method: reading it runs code
            raise _Unreadable(node.attr)
        return value
    if isinstance(node, ast.Subscript):
        container, key = _evaluate(node.value, frame), _evaluate(node.slice, frame)
        if type(container) not in _CONTAINERS or not isinstance(key, (int, str)):
            raise _Unreadable("subscript")
        return container[key]
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left, frame), _evaluate(node.right, frame)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (left, right)):
            raise _Unreadable("arithmetic")
        return _OPERATORS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_evaluate(node.operand, frame)
    if isinstance(node, ast.Call) and not node.keywords:
        return _call(_evaluate(node.func, frame), [_evaluate(a, frame) for a in node.args])
    raise _Unreadable(type(node).__name__)


def _call(function: Any, args: list[Any]) -> Any:
    if function is enumerate and len(args) == 1:
        return args[0]  # as many iterations as what it enumerates
    if function is len and len(args) == 1 and type(args[0]) in (*_SIZED, dict, str):
        return len(args[0])  # of a builtin container only: len() of a user object runs its __len__
    if any(function is known for known in _NUMERIC) and all(
        isinstance(a, (int, float)) for a in args
    ):
        return function(*args)
    raise _Unreadable("call")
