"""One of the user's files as text and syntax tree: find nodes by position, and edit the text in
place (a line inserted with its neighbours' indentation, an argument's text replaced), so that
everything the edit does not touch (comments, formatting, names) stays byte for byte."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path


class NoEdit(Exception):
    """Why no local edit can be made for a cause in this code (shown in the report)."""


@dataclass(frozen=True)
class Edit:
    """Replace the characters ``start:end`` of a file's text by ``text``."""

    start: int
    end: int
    text: str


class SourceFile:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.text = text
        self.tree = ast.parse(text)
        self.lines = text.splitlines(keepends=True)
        self.newline = "\r\n" if self.lines and self.lines[0].endswith("\r\n") else "\n"
        self._starts = [0]
        for line in self.lines:
            self._starts.append(self._starts[-1] + len(line))
        self.parents: dict[ast.AST, ast.AST] = {
            child: node for node in ast.walk(self.tree) for child in ast.iter_child_nodes(node)
        }

    @classmethod
    def read(cls, path: Path) -> SourceFile:
        with open(path, encoding="utf-8", newline="") as handle:
            return cls(path, handle.read())

    # -- positions ---------------------------------------------------------------------------
    def offset(self, line: int, col: int) -> int:
        """Character offset of a (1-based line, UTF-8 byte column) position, as ast gives them."""
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        return self._starts[line - 1] + len(
            text.encode("utf-8")[:col].decode("utf-8", errors="ignore")
        )

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),  # type: ignore[attr-defined]
            self.offset(node.end_lineno, node.end_col_offset),
        )  # type: ignore[attr-defined]

    def segment(self, node: ast.AST) -> str:
        start, end = self.span(node)
        return self.text[start:end]

    def line_start(self, line: int) -> int:
        return self._starts[line - 1]

    # -- structure ---------------------------------------------------------------------------
    def statement(self, node: ast.AST) -> ast.stmt:
        while not isinstance(node, ast.stmt):
            node = self.parents[node]
        return node

    def ancestors(self, node: ast.AST) -> list[ast.AST]:
        found = []
        while node in self.parents:
            node = self.parents[node]
            found.append(node)
        return found

    def scope(self, node: ast.AST) -> ast.AST:
        """The function (or the module) whose body holds ``node``."""
        return next(
            (
                a
                for a in self.ancestors(node)
                if isinstance(a, (ast.FunctionDef, ast.AsyncFunctionDef))
            ),
            self.tree,
        )

    def enclosing_class(self, node: ast.AST) -> ast.ClassDef | None:
        return next((a for a in self.ancestors(node) if isinstance(a, ast.ClassDef)), None)

    def calls_on_line(self, line: int) -> list[ast.Call]:
        return [n for n in ast.walk(self.tree) if isinstance(n, ast.Call) and n.lineno == line]

    def indentation(self, stmt: ast.stmt) -> str:
        text = self.lines[stmt.lineno - 1]
        return text[: len(text) - len(text.lstrip())]

    def owns_its_lines(self, stmt: ast.stmt) -> bool:
        """Nothing starts on its first line before it (not ``for x in y: stmt``, ``a; stmt``)."""
        start = self.offset(stmt.lineno, stmt.col_offset)
        return not self.text[self.line_start(stmt.lineno) : start].strip()

    def contains(self, outer: ast.AST, inner: ast.AST) -> bool:
        return outer is inner or outer in self.ancestors(inner)

    # -- edits -------------------------------------------------------------------------------
    def _own(self, stmt: ast.stmt) -> None:
        if not self.owns_its_lines(stmt):
            raise NoEdit(
                f"line {stmt.lineno} holds more than one statement; no safe place to add a line"
            )

    def insert_before(self, stmt: ast.stmt, code: str) -> Edit:
        """``code`` on a new line above ``stmt``, indented like it."""
        self._own(stmt)
        start = self.line_start(stmt.lineno)
        return Edit(start, start, self.indentation(stmt) + code + self.newline)

    def insert_after(self, stmt: ast.stmt, code: str) -> Edit:
        """``code`` on a new line below ``stmt``, indented like it."""
        self._own(stmt)
        end = (
            self.line_start(stmt.end_lineno + 1)
            if stmt.end_lineno < len(self.lines)
            else len(self.text)
        )  # type: ignore[operator]
        lead = "" if self.text[:end].endswith(("\n", "\r")) else self.newline
        return Edit(end, end, lead + self.indentation(stmt) + code + self.newline)

    def delete(self, stmt: ast.stmt) -> Edit:
        """Remove the whole lines of ``stmt``."""
        self._own(stmt)
        end_text = self.lines[stmt.end_lineno - 1]  # type: ignore[operator]
        after = self.offset(stmt.end_lineno, stmt.end_col_offset) - self.line_start(stmt.end_lineno)  # type: ignore[arg-type]
        if end_text[after:].strip() and not end_text[after:].lstrip().startswith("#"):
            raise NoEdit(
                f"line {stmt.end_lineno} holds more than one statement; it cannot be removed alone"
            )
        return Edit(
            self.line_start(stmt.lineno),
            self.line_start(stmt.end_lineno + 1)  # type: ignore[operator]
            if stmt.end_lineno < len(self.lines)
            else len(self.text),
            "",
        )  # type: ignore[operator]

    def remove_item(self, items: list[ast.expr], item: ast.expr) -> Edit:
        """Drop one element of an argument list or list display with its comma: its whole line when
        it has one to itself."""
        index = items.index(item)
        start, end = self.span(item)
        line_start = self.line_start(item.lineno)
        next_line = (
            self.line_start(item.end_lineno + 1)
            if item.end_lineno < len(self.lines)
            else len(self.text)
        )  # type: ignore[operator]
        rest = self.text[end:next_line].strip().removeprefix(",").strip()
        if not self.text[line_start:start].strip() and (not rest or rest.startswith("#")):
            start, end = line_start, next_line
        elif index > 0:
            start = self.span(items[index - 1])[1]
        elif len(items) > 1:
            end = self.span(items[1])[0]
        return Edit(start, end, "")

    def replace(self, node: ast.AST, text: str) -> Edit:
        start, end = self.span(node)
        return Edit(start, end, text)

    def statement_text(self, stmt: ast.stmt) -> str:
        """The statement's own lines, without the indentation of its first line."""
        return "".join(self.lines[stmt.lineno - 1 : stmt.end_lineno]).strip()


def apply(text: str, edits: list[Edit]) -> str:
    """The text with every edit made (no overlaps; insertions at one point keep their order)."""
    ordered = sorted(enumerate(edits), key=lambda item: (item[1].start, item[1].end, item[0]))
    pieces, cursor = [], 0
    for _, edit in ordered:
        if edit.start < cursor:
            raise NoEdit("two edits of the patch overlap")
        pieces += [text[cursor : edit.start], edit.text]
        cursor = edit.end
    return "".join(pieces) + text[cursor:]
