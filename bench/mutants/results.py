"""Rows per variant and host, and the summary and tables built from them.

`mutants.json` starts with the summary other tools read (`kept`, `dropped`, `hosts`,
`operators`, `top1`, `top3`, `called_healthy`, `confirmed_wrong`, `median_s`, then the precision
figures: `healthy_variants`, `false_alarms`, `confirmed_on_healthy`, `invariance`,
`extra_causes`, `benign_operators`, `public_hosts`, and `by_origin`), then one row per mutant,
healthy variant and pair, then the tables and the hosts' own rows.

Recall is measured on mutants (top-1, top-3, called healthy, confirmed wrong); precision on
healthy variants (a false alarm: not called healthy, or a cause listed at confidence 0.5 or
more; a confirmation on one is worse still), on mutants (`extra_causes`: a wrong cause listed at
0.5 or more) and on pairs (`invariance`: the pair's diagnosis names the same top cause as its
mutant's alone).
"""

from __future__ import annotations

import statistics
from collections.abc import Callable

Row = dict
ORIGINS = ("own", "public")


def rate(rows: list[Row], key: str) -> float | None:
    return round(sum(bool(r[key]) for r in rows) / len(rows), 3) if rows else None


def median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def scored(rows: list[Row]) -> list[Row]:
    """Kept rows that were diagnosed: the ones the accuracy figures are over."""
    return [r for r in rows if r["kept"] and r.get("diagnosed")]


def compared(pairs: list[Row]) -> list[Row]:
    """Diagnosed pairs whose mutant alone was diagnosed too: what invariance is measured on."""
    return [r for r in scored(pairs) if r.get("same_top") is not None]


def figures(mutants: list[Row], healthy: list[Row], pairs: list[Row], hosts: list[Row]) -> dict:
    """Every figure of the summary, over the rows given (all of them, or one origin's)."""
    done, well = scored(mutants), scored(healthy)
    return {
        "kept": sum(r["kept"] for r in mutants),
        "dropped": sum(not r["kept"] for r in mutants),
        "hosts": len(hosts),
        "top1": rate(done, "top1"),
        "top3": rate(done, "top3"),
        "called_healthy": sum(r["healthy"] for r in done),
        "confirmed_wrong": sum(r["confirmed_wrong"] for r in done),
        "median_s": median([r["seconds"] for r in done]),
        "diagnosed": len(done),
        "buildable": len(mutants),
        "hosts_healthy": sum(bool(h.get("healthy_ok")) for h in hosts if h.get("diagnosed")),
        "hosts_diagnosed": sum(bool(h.get("diagnosed")) for h in hosts),
        "healthy_variants": sum(r["kept"] for r in healthy),
        "healthy_dropped": sum(not r["kept"] for r in healthy),
        "healthy_diagnosed": len(well),
        "false_alarms": sum(not r["healthy_ok"] for r in well),
        "confirmed_on_healthy": sum(r["confirmed"] for r in well),
        "pairs": sum(r["kept"] for r in pairs),
        "pairs_dropped": sum(not r["kept"] for r in pairs),
        "pairs_diagnosed": len(compared(pairs)),
        "invariance": rate(compared(pairs), "same_top"),
        "pairs_top1": rate(scored(pairs), "top1"),
        "extra_causes": sum(bool(r["extra"]) for r in done),
        "extra_causes_rate": round(sum(bool(r["extra"]) for r in done) / len(done), 3)
        if done
        else None,
        "benign_operators": len({r["benign"][0] for r in healthy if r["kept"]}),
        "public_hosts": sum(h.get("origin") == "public" for h in hosts),
    }


def summary(
    rows: dict[str, list[Row]], hosts: list[Row], operators: int, benign: int, notes: list[str]
) -> dict:
    """The summary: the published recall keys first, then precision, notes and by origin."""
    every = figures(rows["mutants"], rows["healthy"], rows["pairs"], hosts)
    return {
        **{k: every[k] for k in ("kept", "dropped", "hosts")},
        "operators": operators,
        **{k: v for k, v in every.items() if k not in ("kept", "dropped", "hosts")},
        "benign_operators": benign,
        "notes": notes,
        "by_origin": {
            origin: figures(
                *(
                    [r for r in rows[kind] if r["origin"] == origin]
                    for kind in ("mutants", "healthy", "pairs")
                ),
                [h for h in hosts if h.get("origin") == origin],
            )
            for origin in ORIGINS
        },
    }


def table(rows: list[Row], key: str, extra: Callable[[str], dict] = lambda _: {}) -> list[dict]:
    """One line per value of `key` (operator or host) over mutants, in first-seen order."""
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
                "extra_causes": sum(bool(r["extra"]) for r in done),
                "median_s": median([r["seconds"] for r in done]),
                **{
                    f"top1_{o}": rate([r for r in done if r["origin"] == o], "top1")
                    for o in ORIGINS
                },
            }
        )
    return lines


def precision_table(
    healthy: list[Row], pairs: list[Row], key: Callable[[Row], list[str]], names: list[str]
) -> list[dict]:
    """Per benign operator (or host): healthy variants kept and diagnosed, false alarms,
    confirmations, and the invariance of the pairs it takes part in."""
    lines = []
    for name in names:
        mine = [r for r in healthy if name in key(r)]
        well = scored(mine)
        joined = compared([p for p in pairs if name in key(p)])
        lines.append(
            {
                "name": name,
                "buildable": len(mine),
                "kept": sum(r["kept"] for r in mine),
                "diagnosed": len(well),
                "false_alarms": sum(not r["healthy_ok"] for r in well),
                "confirmed": sum(r["confirmed"] for r in well),
                "pairs": len(joined),
                "invariance": rate(joined, "same_top"),
                "median_s": median([r["seconds"] for r in well]),
            }
        )
    return lines


def wrong_answers(rows: list[Row]) -> dict[str, dict[str, int]]:
    """Per operator, what the tool ranked first instead when top-1 missed ('healthy' when it said
    so)."""
    found: dict[str, dict[str, int]] = {}
    for r in scored(rows):
        if not r["top1"]:
            said = "healthy" if r["healthy"] else (r["got"][0] if r["got"] else "no cause")
            counts = found.setdefault(r["operator"], {})
            counts[said] = counts.get(said, 0) + 1
    return found


def findings(rows: dict[str, list[Row]]) -> dict[str, list[dict]]:
    """What a reader acting on the figures needs, case by case: each false alarm (the symptoms
    that fired and the causes listed), each pair whose top cause changed, each extra cause."""

    def brief(r: Row, *keys: str) -> dict:
        return {k: r.get(k) for k in ("id", "origin", "host", "operator", "benign", *keys)}

    return {
        "false_alarms": [
            brief(r, "verdict", "top", "fired")
            for r in scored(rows["healthy"])
            if not r["healthy_ok"]
        ],
        "invariance_breaks": [
            brief(r, "cause", "alone_top", "top_cause", "fired")
            for r in compared(rows["pairs"])
            if not r["same_top"]
        ],
        "extra_causes": [
            brief(r, "cause", "extra", "top") for r in scored(rows["mutants"]) if r["extra"]
        ],
    }
