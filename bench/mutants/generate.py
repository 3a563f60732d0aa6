"""Apply operators to hosts and write each mutant to a folder whose name says nothing.

A mutant folder holds the host's files (the mutated ones unparsed from the edited AST, so no
comment survives) and nothing else: labels live only in `labels.json` beside the folders, and
folder names are hashes, so neither the file, its path nor its text tells the tool the answer.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

from .hosts import Host
from .operators import Operator


@dataclass(frozen=True)
class Mutant:
    id: str
    host: str
    operator: str
    cause: str
    also_ok: tuple[str, ...]
    changed: tuple[str, ...]  # the host files the operator edited
    files: dict[str, str]  # every file of the mutant folder: name -> source


def digest(files: dict[str, str]) -> str:
    """A hash of a folder's files: the key of its cached plain run."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return h.hexdigest()[:16]


def neutral_id(host: str, operator: str) -> str:
    """A folder name that is stable across runs and selections but reveals neither part."""
    return "m" + hashlib.sha1(f"{host}/{operator}".encode()).hexdigest()[:7]


def mutate(host: Host, op: Operator) -> Mutant | None:
    """The mutant of `host` under `op`, or None when the operator finds nothing to change."""
    if not op.needs <= host.tags:
        return None
    files = host.sources()
    changed = {}
    for name, text in files.items():
        tree = ast.parse(text)
        if op.mutate(tree):
            mutated = ast.unparse(ast.fix_missing_locations(tree))
            if mutated != text:
                changed[name] = mutated
    if not changed:
        return None
    return Mutant(
        neutral_id(host.name, op.name),
        host.name,
        op.name,
        op.cause,
        op.also_ok,
        tuple(sorted(changed)),
        files | changed,
    )


def build(hosts: list[Host], ops: list[Operator]) -> list[Mutant]:
    """Every (host, operator) mutant that applies, host by host in catalogue order."""
    return [m for h in hosts for op in ops if (m := mutate(h, op)) is not None]


def write_folder(files: dict[str, str], folder: Path) -> Path:
    """Write a fresh folder holding exactly these files."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text + "\n")
    return folder


def write_labels(mutants: list[Mutant], out: Path) -> None:
    """The side file that says what each neutral folder plants."""
    labels = {
        m.id: {k: v for k, v in asdict(m).items() if k not in ("id", "files")} for m in mutants
    }
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True))
