"""What a batch diagnoses: scripts and notebooks, folders holding them, or files that list runs.

A run list is JSON Lines (one ``{"script": ..., "args": [...], "cwd": ..., "name": ...}`` per
line, plus ``"nproc_per_node": N`` for a run launched torchrun-style) or TOML (``[[run]]`` tables
with the same keys). Relative paths are relative to the list.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from diagnose.compat import tomllib
from diagnose.driver.targets import resolve
from diagnose.errors import UsageError

LIST_SUFFIXES = (".jsonl", ".toml")
TORCH_IMPORT = re.compile(r"^\s*(import torch|from torch)", re.MULTILINE)


@dataclass
class Run:
    name: str
    script: Path
    args: list[str] = field(default_factory=list)
    cwd: Path = field(default_factory=Path.cwd)
    nproc_per_node: int = 1

    def launch_args(self) -> list[str]:
        """The single-run command's options that launch this run torchrun-style, if it is one."""
        return ["--nproc-per-node", str(self.nproc_per_node)] if self.nproc_per_node > 1 else []


def collect(paths: list[Path]) -> list[Run]:
    """Every run the paths name, with unique, file-system-safe names (stable for a given input)."""
    runs: list[Run] = []
    for path in paths:
        if path.is_file() and path.suffix in LIST_SUFFIXES:
            runs += _from_list(path)
        elif path.is_dir() and not _holds_script(path):
            runs += [_run(p, []) for p in _training_scripts(path) + _training_notebooks(path)]
        else:
            runs.append(_run(path, None))
    if not runs:
        raise UsageError("nothing to diagnose: no script found in " + ", ".join(map(str, paths)))
    return _unique(runs)


def _training_scripts(folder: Path) -> list[Path]:
    """In a folder of scripts, the ones to run: they use torch, and no sibling imports them
    (a shared module of helpers is imported; setup.py and tests are not training scripts)."""
    texts = {
        p: p.read_text(errors="replace")
        for p in sorted(folder.glob("*.py"))
        if not p.name.startswith(("_", "test_")) and p.name not in {"setup.py", "conftest.py"}
    }
    imported = {
        stem
        for stem in (p.stem for p in texts)
        for other, text in texts.items()
        if other.stem != stem and re.search(rf"^\s*(from|import)\s+{re.escape(stem)}\b", text, re.M)
    }
    return [p for p, text in texts.items() if TORCH_IMPORT.search(text) and p.stem not in imported]


def _training_notebooks(folder: Path) -> list[Path]:
    """In a folder, the notebooks whose code uses torch (reading them needs the notebooks extra)."""
    found = sorted(folder.glob("*.ipynb"))
    if not found:
        return []
    from diagnose.notebooks.program import read_program

    return [p for p in found if TORCH_IMPORT.search(read_program(p).code)]


def _holds_script(folder: Path) -> bool:
    return any((folder / name).is_file() for name in ("diagnose.toml", "train.py", "main.py"))


def _run(
    path: Path, args: list[str] | None, cwd: Path | None = None, name: str | None = None
) -> Run:
    target = resolve(path, args)
    folder = path.name if path.is_dir() else target.script.stem
    return Run(name=name or folder, script=target.script, args=target.args, cwd=cwd or Path.cwd())


def _from_list(path: Path) -> list[Run]:
    entries = _read_list(path)
    runs = []
    for number, entry in enumerate(entries, 1):
        if not isinstance(entry, dict) or "script" not in entry:
            raise UsageError(f"{path}: run {number} needs a 'script'")
        base = path.parent
        cwd = (base / entry["cwd"]).resolve() if entry.get("cwd") else base
        script = Path(entry["script"])
        run = _run(
            script if script.is_absolute() else cwd / script,
            [str(a) for a in entry.get("args", [])],
            cwd,
            entry.get("name"),
        )
        run.nproc_per_node = _nproc(entry.get("nproc_per_node", 1), path, number)
        runs.append(run)
    return runs


def _nproc(value: Any, path: Path, number: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{path}: run {number}: nproc_per_node must be a positive integer")
    return value


def _read_list(path: Path) -> list[Any]:
    text = path.read_text()
    try:
        if path.suffix == ".toml":
            return tomllib.loads(text).get("run", [])
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    except (ValueError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"{path}: not a valid run list ({error})") from None


def _unique(runs: list[Run]) -> list[Run]:
    for run, name in zip(runs, unique_names([run.name for run in runs])):
        run.name = name
    return runs


def unique_names(names: list[str]) -> list[str]:
    """File-system-safe names, numbered where they repeat (stable for a given input)."""
    seen: dict[str, int] = {}
    unique = []
    for name in names:
        base = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "run"
        seen[base] = seen.get(base, 0) + 1
        unique.append(base if seen[base] == 1 else f"{base}-{seen[base]}")
    return unique
