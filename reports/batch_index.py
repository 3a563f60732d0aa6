"""Batch index page: every run's verdict and top cause, runs grouped by cause, links to reports."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from diagnose import __version__
from diagnose.reports.render import environment

if TYPE_CHECKING:
    from diagnose.batch.summary import BatchRow


@dataclass
class IndexRow:
    name: str
    status: str
    verdict: str
    top_cause: str
    confidence: str
    cause_status: str
    seconds: str
    reason: str
    link: str
    patch: str
    patch_link: str
    run_id: str
    params: list[tuple[str, str]]  # a tracked run's values of the params that tell groups apart
    tags: list[tuple[str, str]]  # and its tags


def render_index(
    rows: list[BatchRow], groups: list[dict[str, Any]], notes: Sequence[str] = ()
) -> str:
    """The page; ``notes`` on the batch as a whole come first in its notes, then the runs'."""
    telling = sorted({key for group in groups for key in group.get("params", {})})
    view = [
        IndexRow(
            name=r.name,
            status=r.status,
            verdict=r.verdict or r.status,
            top_cause=r.top_cause,
            confidence=f"{r.confidence:.0%}" if r.confidence is not None else "",
            cause_status=r.cause_status,
            seconds=f"{r.seconds:.1f}",
            reason=r.reason,
            link=r.report,
            patch=r.patch,
            patch_link=r.patch_link,
            run_id=r.run_id,
            params=[(key, r.params.get(key, "-")) for key in telling],
            tags=sorted(r.tags.items()),
        )
        for r in rows
    ]
    patches = any(r.patch for r in rows)
    tracked = any(r.run_id for r in rows)
    noted = [*notes, *(f"{r.name}: {note}" for r in rows for note in r.notes)]
    return (
        environment()
        .get_template("batch_index.html.j2")
        .render(
            rows=view,
            groups=groups,
            patches=patches,
            tracked=tracked,
            notes=noted,
            version=__version__,
        )
    )
