"""A unified diff with ``a/`` and ``b/`` paths relative to the script's folder, for ``patch -p1``
and ``git apply`` run there."""

from __future__ import annotations

import difflib

NO_NEWLINE = "\\ No newline at end of file\n"


def unified_diff(changed: dict[str, tuple[str, str]]) -> str:
    """Diff of every file in ``changed`` (relative path → (old text, new text)), in path order."""
    parts: list[str] = []
    for path in sorted(changed):
        old, new = changed[path]
        lines = difflib.unified_diff(
            old.splitlines(keepends=True), new.splitlines(keepends=True), f"a/{path}", f"b/{path}"
        )
        parts += [line if line.endswith("\n") else line + "\n" + NO_NEWLINE for line in lines]
    return "".join(parts)
