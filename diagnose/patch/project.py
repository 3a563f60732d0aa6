"""The user's code a patch may touch: the script and the modules of its folder it imports.

Only files under the script's folder are editable (they are the ones the run counted as the
user's code); the diff's paths are relative to that folder.
"""

from __future__ import annotations

import ast
from pathlib import Path

from diagnose.patch.source import NoEdit, SourceFile

MAX_MODULES = 40


class Project:
    def __init__(self, script: Path) -> None:
        self.script = script.resolve()
        self.root = self.script.parent
        self._files: dict[Path, SourceFile] = {}

    def file(self, path: str | Path) -> SourceFile:
        """A file of the user's folder, read once (edits from several causes share one parse)."""
        resolved = Path(path).resolve()
        if not resolved.is_relative_to(self.root):
            raise NoEdit(f"{path} is outside the script's folder")
        if resolved not in self._files:
            try:
                self._files[resolved] = SourceFile.read(resolved)
            except (OSError, SyntaxError, UnicodeDecodeError) as error:
                raise NoEdit(f"{resolved.name} cannot be read as Python ({error})") from None
        return self._files[resolved]

    def relative(self, source: SourceFile) -> str:
        return source.path.resolve().relative_to(self.root).as_posix()

    def modules(self) -> list[SourceFile]:
        """The script, then the modules of its folder it imports (transitively), in that order."""
        found, queue = [self.file(self.script)], [self.file(self.script)]
        while queue and len(found) < MAX_MODULES:
            for path in self._imported(queue.pop(0)):
                source = self.file(path)
                if source not in found:
                    found.append(source)
                    queue.append(source)
        return found

    def _imported(self, source: SourceFile) -> list[Path]:
        names = []
        for node in ast.walk(source.tree):
            if isinstance(node, ast.Import):
                names += [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names += [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        base = source.path.resolve().parent
        paths = []
        for name in names:
            stem = Path(*name.split("."))
            for folder in dict.fromkeys((self.root, base)):
                paths += [
                    p
                    for p in (folder / stem.with_suffix(".py"), folder / stem / "__init__.py")
                    if p.is_file()
                ]
        return list(dict.fromkeys(paths))

    def classes(self, name: str) -> list[tuple[SourceFile, ast.ClassDef]]:
        """Every class of that name defined in the script or the modules it imports."""
        return [
            (source, node)
            for source in self.modules()
            for node in ast.walk(source.tree)
            if isinstance(node, ast.ClassDef) and node.name == name
        ]


def torch_nn(source: SourceFile) -> str:
    """How this file spells ``torch.nn`` (``nn`` after ``from torch import nn``), to add a layer."""
    for node in ast.walk(source.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "torch.nn":
                    return alias.asname or "torch.nn"
        elif isinstance(node, ast.ImportFrom) and node.module == "torch" and not node.level:
            for alias in node.names:
                if alias.name == "nn":
                    return alias.asname or "nn"
    if any(
        isinstance(n, ast.Import) and any(a.name == "torch" and not a.asname for a in n.names)
        for n in ast.walk(source.tree)
    ):
        return "torch.nn"
    raise NoEdit(f"{source.path.name} does not import torch.nn under a name the edit could use")
