"""Apply operators to hosts and write each variant to a folder whose name says nothing.

Three kinds of variant: a mutant (one mutation operator), a healthy variant (one benign operator)
and a pair (one or two benign operators, then a mutation operator: a broken script that also
differs from its host in ways that must not matter). A folder holds the host's files (the edited
ones unparsed from the AST, so no comment survives) and nothing else: labels live only in
`labels.json` beside the folders, and folder names are hashes, so neither the file, its path nor
its text tells the tool the answer.
"""

from __future__ import annotations

import ast
import hashlib
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from .hosts import Host
from .operators import Benign, Operator


@dataclass(frozen=True)
class Mutant:
    id: str
    host: str
    operator: str  # the mutation operator ("" for a healthy variant)
    cause: str  # the planted cause ("" for a healthy variant)
    also_ok: tuple[str, ...]
    changed: tuple[str, ...]  # the host files the operators edited
    files: dict[str, str]  # every file of the folder: name -> source
    kind: str = "mutant"  # "mutant", "healthy" or "pair"
    benign: tuple[str, ...] = ()  # the benign operators applied (healthy variants and pairs)
    origin: str = "own"  # the host's origin


def digest(files: dict[str, str]) -> str:
    """A hash of a folder's files: the key of its cached plain run."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return h.hexdigest()[:16]


def neutral_id(host: str, operator: str) -> str:
    """A folder name that is stable across runs and selections but reveals neither part."""
    return "m" + hashlib.sha1(f"{host}/{operator}".encode()).hexdigest()[:7]


def edit(host: Host, files: dict[str, str], op: Operator | Benign) -> dict[str, str] | None:
    """The files an operator changes (name -> new source), or None when it changes nothing (or
    does not fit the host). A host's fixed files (offline data) are never edited."""
    if not op.needs <= host.tags:
        return None
    changed = {}
    for name, text in files.items():
        if name in host.fixed:
            continue
        tree = ast.parse(text)
        if op.mutate(tree):
            edited = ast.unparse(ast.fix_missing_locations(tree))
            if edited != text:
                changed[name] = edited
    return changed or None


def mutate(host: Host, op: Operator | Benign) -> Mutant | None:
    """The mutant (or, for a benign operator, the healthy variant) of `host` under `op`; None when
    the operator finds nothing to change."""
    files = host.sources()
    changed = edit(host, files, op)
    if changed is None:
        return None
    healthy = isinstance(op, Benign)
    return Mutant(
        neutral_id(host.name, op.name),
        host.name,
        "" if healthy else op.name,
        op.cause,
        op.also_ok,
        tuple(sorted(changed)),
        files | changed,
        kind="healthy" if healthy else "mutant",
        benign=(op.name,) if healthy else (),
        origin=host.origin,
    )


def combine(host: Host, benign: list[Benign], fault: Operator) -> Mutant | None:
    """The pair: `benign` applied in turn, then `fault`; None unless every one changes something
    (a benign edit applied first, so the fault is the last word, as in the mutant alone)."""
    files, touched = host.sources(), set()
    for op in [*benign, fault]:
        changed = edit(host, files, op)
        if changed is None:
            return None
        files, touched = files | changed, touched | set(changed)
    names = [b.name for b in benign]
    return Mutant(
        neutral_id(host.name, "+".join([fault.name, *names])),
        host.name,
        fault.name,
        fault.cause,
        fault.also_ok,
        tuple(sorted(touched)),
        files,
        kind="pair",
        benign=tuple(names),
        origin=host.origin,
    )


def build(hosts: list[Host], ops: list[Operator] | list[Benign]) -> list[Mutant]:
    """Every (host, operator) variant that applies, host by host in catalogue order."""
    return [m for h in hosts for op in ops if (m := mutate(h, op)) is not None]


def write_folder(files: dict[str, str], folder: Path) -> Path:
    """Write a fresh folder holding exactly these files."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text + "\n")
    return folder


LABEL_KEYS = ("kind", "origin", "host", "operator", "benign", "cause", "also_ok", "changed")


def write_labels(rows: list[dict], out: Path) -> None:
    """The side file that says what each neutral folder plants (nothing, for a healthy variant)."""
    labels = {r["id"]: {k: r[k] for k in LABEL_KEYS} for r in rows}
    (out / "labels.json").write_text(json.dumps(labels, indent=1, sort_keys=True))
