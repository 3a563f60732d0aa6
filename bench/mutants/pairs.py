"""Invariance pairs: a kept mutant combined with one or two benign operators.

A diagnosis should not change when a broken script also differs from its host in ways that do not
matter. Each kept mutant gets one pair; its benign operators are drawn from those whose healthy
variant on the same host is kept (or, in a sampled run, not yet run: the pair is then only kept
once that variant has been run and kept). The draw is a hash of the mutant's id, so every run
builds the same pairs, spread over the benign operators; every other mutant gets two of them.
"""

from __future__ import annotations

import hashlib

from .catalog import BENIGN, BENIGN_BY_NAME, BY_NAME
from .generate import Mutant, combine
from .hosts import Host


def candidates(host: str, healthy_rows: list[dict], buildable: set[tuple[str, str]]) -> list[str]:
    """Benign operators usable on a host: kept there, or buildable there and not run yet."""
    status = {r["benign"][0]: r["kept"] for r in healthy_rows if r["host"] == host}
    return [
        op.name
        for op in BENIGN
        if status.get(op.name) or (op.name not in status and (host, op.name) in buildable)
    ]


def draw(mutant_id: str, names: list[str]) -> list[list[str]]:
    """The benign operators to try with a mutant, in order: rotations of `names` from a hash of
    the id, one operator for half of the mutants and two for the other half."""
    if not names:
        return []
    k = int(hashlib.sha1(mutant_id.encode()).hexdigest(), 16)
    n, two = len(names), (k >> 8) % 2 == 1 and len(names) > 1
    tries = []
    for j in range(n):
        first = names[(k + j) % n]
        second = names[(k + j + 1 + (k >> 16) % (n - 1)) % n] if two else None
        tries.append([first, second] if second else [first])
    return tries


def build(
    hosts: dict[str, Host],
    mutant_rows: list[dict],
    healthy_rows: list[dict],
    buildable: set[tuple[str, str]],
) -> list[Mutant]:
    """One pair per kept mutant (among `mutant_rows`), when some draw applies to its host."""
    pairs = []
    for row in mutant_rows:
        if not row["kept"]:
            continue
        host, fault = hosts[row["host"]], BY_NAME[row["operator"]]
        for names in draw(row["id"], candidates(host.name, healthy_rows, buildable)):
            pair = combine(host, [BENIGN_BY_NAME[n] for n in names], fault)
            if pair is not None:
                pairs.append(pair)
                break
    return pairs
