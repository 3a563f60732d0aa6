"""Rows per mutant and host, and the summary and per-operator / per-host tables built from them.

`mutants.json` starts with the summary other tools read (`kept`, `dropped`, `hosts`,
`operators`, `top1`, `top3`, `called_healthy`, `confirmed_wrong`, `median_s`), then one row per
mutant, then the tables and the hosts' own rows.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

Row = dict


def rate(rows: list[Row], key: str) -> float | None:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 3) if rows else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def scored(rows: list[Row]) -> list[Row]:
    """Kept mutants that were diagnosed: the ones the accuracy figures are over."""
    return [r for r in rows if r["kept"] and r.get("diagnosed")]


def summary(rows: list[Row], hosts: list[Row], operators: int, notes: list[str]) -> dict:
    done = scored(rows)
    return {
        "kept": sum(r["kept"] for r in rows),
        "dropped": sum(not r["kept"] for r in rows),
        "hosts": len(hosts),
        "operators": operators,
        "top1": rate(done, "top1"),
        "top3": rate(done, "top3"),
        "called_healthy": sum(r["healthy"] for r in done),
        "confirmed_wrong": sum(r["confirmed_wrong"] for r in done),
        "median_s": median([r["seconds"] for r in done]),
        "diagnosed": len(done),
        "buildable": len(rows),
        "hosts_healthy": sum(bool(h.get("healthy_ok")) for h in hosts if h.get("diagnosed")),
        "hosts_diagnosed": sum(bool(h.get("diagnosed")) for h in hosts),
        "notes": notes,
    }


def table(rows: list[Row], key: str, extra: Callable[[str], dict] = lambda _: {}) -> list[dict]:
    """One line per value of `key` (operator or host), in first-seen order."""
    lines = []
    for name in dict.fromkeys(r[key] for r in rows):
        mine = [r for r in rows if r[key] == name]
        done = scored(mine)
        lines.append(
            {
                key: name,
                **extra(name),
                "buildable": len(mine),
                "kept": sum(r["kept"] for r in mine),
                "diagnosed": len(done),
                "top1": rate(done, "top1"),
                "top3": rate(done, "top3"),
                "called_healthy": sum(r["healthy"] for r in done),
                "confirmed_wrong": sum(r["confirmed_wrong"] for r in done),
                "median_s": median([r["seconds"] for r in done]),
            }
        )
    return lines


def wrong_answers(rows: list[Row]) -> dict[str, dict[str, int]]:
    """Per operator, what the tool ranked first when top-1 missed ('healthy' when it said so)."""
    found: dict[str, dict[str, int]] = {}
    for r in scored(rows):
        if not r["top1"]:
            said = "healthy" if r["healthy"] else (r["got"][0] if r["got"] else "no cause")
            counts = found.setdefault(r["operator"], {})
            counts[said] = counts.get(said, 0) + 1
    return found
