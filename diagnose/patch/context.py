"""What an edit reads: the user's code, and the run's record of where the key calls happened.

The run recorded, for each key call (the optimizer's construction, ``backward``, ``step``,
``zero_grad``, the loss, the training and validation forwards, the loader's iteration, ``train``
and ``eval``), the line of the user's code and the span of the call on it. An edit starts from
those nodes and follows the code's structure from there.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from diagnose.evidence import Evidence
from diagnose.patch.project import Project
from diagnose.patch.source import Edit, NoEdit, SourceFile
from diagnose.probes.sections import SourceLine

WHAT = {
    "optimizer": "the optimizer's construction",
    "backward": "backward()",
    "step": "optimizer.step()",
    "zero_grad": "zero_grad()",
    "loss": "the loss call",
    "forward": "the training forward",
    "eval_forward": "the validation forward",
    "loader": "the training loader's loop",
    "eval": "eval()",
    "train": "train()",
}


@dataclass(frozen=True)
class Change:
    """One edit of one file, and what it does in a line a reader understands."""

    source: SourceFile
    edit: Edit
    note: str


class Context:
    def __init__(self, project: Project, evidence: Evidence) -> None:
        self.project = project
        self.evidence = evidence
        self.run = evidence.observe

    def line(self, key: str) -> SourceLine | None:
        if key == "optimizer" and self.run.optimizer and self.run.optimizer.optimizers:
            created = self.run.optimizer.optimizers[0].created_at
            if created is not None:
                return created
        return self.run.sources.lines.get(key) if self.run.sources else None

    def node(self, key: str) -> tuple[SourceFile, ast.AST]:
        """The node the run recorded for ``key``: its exact span, else the one call on its line."""
        ref = self.line(key)
        if ref is None:
            raise NoEdit(f"the run did not record {WHAT.get(key, key)}")
        source = self.project.file(ref.file)
        if ref.col is not None:
            span = (ref.line, ref.col, ref.end_line, ref.end_col)
            exact = [
                n
                for n in ast.walk(source.tree)
                if (
                    getattr(n, "lineno", None),
                    getattr(n, "col_offset", None),
                    getattr(n, "end_lineno", None),
                    getattr(n, "end_col_offset", None),
                )
                == span
            ]
            if (
                exact
            ):  # a call and the statement that is only that call share the span: the call it is
                return source, next((n for n in exact if isinstance(n, ast.Call)), exact[-1])
        outer = [
            c
            for c in source.calls_on_line(ref.line)
            if not any(
                isinstance(a, ast.Call) and a.lineno == ref.line for a in source.ancestors(c)
            )
        ]
        if len(outer) == 1:
            return source, outer[0]
        raise NoEdit(
            f"cannot tell which call on {source.path.name}:{ref.line} is {WHAT.get(key, key)}"
        )

    def call(self, key: str) -> tuple[SourceFile, ast.Call]:
        source, node = self.node(key)
        if not isinstance(node, ast.Call):
            raise NoEdit(f"{WHAT.get(key, key)} at {source.path.name}:{node.lineno} is not a call")  # type: ignore[attr-defined]
        return source, node

    def statement(self, key: str) -> tuple[SourceFile, ast.stmt]:
        source, node = self.node(key)
        return source, source.statement(node)

    def model_text(self, key: str = "forward") -> tuple[SourceFile, str]:
        """How the code names the trained model where it calls it (``model``, ``self.net``)."""
        source, call = self.call(key)
        return source, model_name(source, call)


def model_name(source: SourceFile, call: ast.Call) -> str:
    if not isinstance(call.func, (ast.Name, ast.Attribute)):
        raise NoEdit(f"the model is not called by name at {source.path.name}:{call.lineno}")
    return source.segment(call.func)
