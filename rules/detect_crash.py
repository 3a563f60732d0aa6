"""Detectors of how the run ended: crashes by exception type and message, exits, hangs."""

from __future__ import annotations

import re
from collections.abc import Sequence

from diagnose.evidence import ObservedRun
from diagnose.rules.findings import Finding, detector


@detector
def exception_matches(run: ObservedRun, patterns: Sequence[str] = (), types: Sequence[str] = ()) -> Finding:
    """The run raised an exception whose type is one of ``types`` or whose message matches a pattern."""
    exception = run.messages.exception if run.messages else None
    if exception is None:
        return Finding.no("the script raised no exception")
    by_type = exception.type in types
    by_message = any(re.search(p, exception.message, re.IGNORECASE) for p in patterns)
    if not (by_type or by_message):
        return Finding.no()
    during = f" during {exception.during}" if exception.during and exception.during != "script" else ""
    call = f" in {exception.loss_call}" if exception.loss_call else ""
    return Finding.yes(1.0, f"{exception.type}{during}{call}: {exception.message.splitlines()[0][:300]}",
                       where="exception")


@detector
def run_crashed(run: ObservedRun) -> Finding:
    if run.run.status != "crashed":
        return Finding.no()
    return Finding.yes(1.0, run.run.reason, where="exception")


@detector
def run_timed_out(run: ObservedRun) -> Finding:
    if run.run.status not in {"timeout", "killed"}:
        return Finding.no()
    return Finding.yes(1.0, f"{run.run.reason} after {run.run.steps} optimizer steps")


@detector
def no_training(run: ObservedRun) -> Finding:
    if run.run.steps or run.run.backward_calls or run.run.status == "crashed":
        return Finding.no()
    how = {"exited": f"exited ({run.run.reason})", "completed": "finished"}.get(run.run.status, run.run.status)
    return Finding.yes(1.0, f"the script {how} without a single backward pass or optimizer step")
