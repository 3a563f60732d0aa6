"""Detectors of how the run ended: crashes by exception type and message, exits, hangs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from diagnose.evidence import Evidence
from diagnose.rules.findings import Finding, detector


@detector
def exception_matches(
    ev: Evidence, patterns: Sequence[str] = (), types: Sequence[str] = ()
) -> Finding:
    """The run raised an exception of a type in ``types`` or whose message matches a pattern."""
    exception = ev.observe.messages.exception if ev.observe.messages else None
    if exception is None:
        return Finding.no("the script raised no exception")
    by_type = exception.type in types
    by_message = any(re.search(p, exception.message, re.IGNORECASE) for p in patterns)
    if not (by_type or by_message):
        return Finding.no()
    during = (
        f" during {exception.during}" if exception.during and exception.during != "script" else ""
    )
    call = f" in {exception.loss_call}" if exception.loss_call else ""
    return Finding.yes(
        1.0,
        f"{exception.type}{during}{call}: {exception.message.splitlines()[0][:300]}",
        where="exception",
    )


@detector
def run_crashed(ev: Evidence) -> Finding:
    if ev.observe.run.status != "crashed":
        return Finding.no()
    return Finding.yes(1.0, ev.observe.run.reason, where="exception")


@detector
def run_timed_out(ev: Evidence) -> Finding:
    if ev.observe.run.status not in {"timeout", "killed"}:
        return Finding.no()
    return Finding.yes(1.0, f"{ev.observe.run.reason} after {ev.observe.run.steps} optimizer steps")


@detector
def no_training(ev: Evidence) -> Finding:
    if ev.observe.run.steps or ev.observe.run.backward_calls or ev.observe.run.status == "crashed":
        return Finding.no()
    how = {"exited": f"exited ({ev.observe.run.reason})", "completed": "finished"}.get(
        ev.observe.run.status, ev.observe.run.status
    )
    return Finding.yes(1.0, f"the script {how} without a single backward pass or optimizer step")
