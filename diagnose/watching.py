"""``diagnose.watch``: observe a training loop the user runs themself (a notebook, a custom loop).

    with diagnose.watch(model, optimizer) as w:
        for x, y in loader:
            ...
    print(w.diagnosis.summary)
    w.report("diagnose-report")

The same tap and probes as a script's observed run, installed in this process for the duration of
the block and removed after it. There is no child process, so there are no replays (the loop is
the user's, not a script the tool can rerun), no time limit and no write redirection: the user's
code runs exactly as it would, only observed. Model and optimizer are optional hints; the tap finds
them on its own as it does in a script. (The module is not called ``watch`` so that the submodule
never shadows the ``diagnose.watch`` function.)
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any, Literal

import torch
from torch import nn

from diagnose import defaults
from diagnose.child.budget import Budget
from diagnose.child.session import plain_sections
from diagnose.child.state import Schedule, TrainingState
from diagnose.child.tap import Tap
from diagnose.child.userframe import UserCode
from diagnose.probes.registry import observe_probes

SCENARIO = "watch"


class Watch:
    """A context manager; after the block, ``diagnosis`` and ``evidence`` hold the result."""

    def __init__(
        self,
        model: nn.Module | None = None,
        optimizer: torch.optim.Optimizer | None = None,
        *,
        every: int = defaults.EVERY,
        out: str | Path | None = None,
        formats: Sequence[str] = ("md", "html", "json"),
        rules: Sequence[Path] = (),
        code: str | None = None,
    ) -> None:
        self.model, self.optimizer = model, optimizer
        self.every, self.out, self.formats, self.rules = every, out, list(formats), list(rules)
        self.code = Path(code) if code else _caller_file()
        self.diagnosis: Any = None
        self.evidence: Any = None
        self._tap: Tap | None = None

    def __enter__(self) -> Watch:
        if self.out is not None:
            from diagnose.reports.writer import check_formats, check_output

            check_formats(self.formats)
            check_output(Path(self.out), self.formats)
        state = TrainingState(UserCode(self.code), Schedule(every=self.every))
        self._tap = Tap(
            state, observe_probes(state), Budget(sys.maxsize // 4, float("inf")), watching=True
        )
        self._started = time.monotonic()
        self._tap.install()
        if self.model is not None:
            state.chosen_model = self.model
        if self.optimizer is not None:
            self._tap.adopt_optimizer(self.optimizer)
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> Literal[False]:
        tap, self._tap = self._tap, None
        assert tap is not None, "the watch was not entered"
        run: dict[str, Any] = {"status": "completed", "reason": ""}
        if error is not None:
            status = "interrupted" if isinstance(error, KeyboardInterrupt) else "crashed"
            run.update(status=status, reason=f"{type(error).__name__}: {error}"[:500])
            tap.on_exception(error)
        tap.remove()
        run.update(
            seconds=round(time.monotonic() - self._started, 3),
            **tap.state.record(),
            torch_version=torch.__version__,
        )
        self._conclude(run, plain_sections(tap.sections()))
        return False  # the user's exception is theirs: it goes on after being recorded

    def _conclude(self, run: dict[str, Any], sections: dict[str, Any]) -> None:
        from diagnose.driver.runner import ChildResult
        from diagnose.evidence import Evidence, ObservedRun
        from diagnose.facade import rule_book
        from diagnose.rules.judge import judge

        result = ChildResult(
            name=SCENARIO,
            run=run,
            sections=sections,
            stdout_tail="",
            stderr_tail="",
            wall_seconds=run["seconds"],
        )
        self.evidence = Evidence(
            script=str(self.code), torch=torch.__version__, observe=ObservedRun.from_child(result)
        )
        self.diagnosis = judge(self.evidence, rule_book(self.rules))
        if self.out is not None:
            self.report(self.out, self.formats)

    def report(
        self,
        out: str | Path,
        formats: Sequence[str] = ("md", "html", "json"),
        templates: Path | None = None,
    ) -> dict[str, Path]:
        """Write report.md/html/json and evidence.json of the watched loop into ``out``."""
        from diagnose.reports.writer import write_reports

        if self.diagnosis is None:
            raise RuntimeError("nothing to report yet: the watched block has not ended")
        return write_reports(self.diagnosis, self.evidence, Path(out), list(formats), templates)


def watch(
    model: nn.Module | None = None, optimizer: torch.optim.Optimizer | None = None, **options: Any
) -> Watch:
    """Observe the training loop run inside the ``with`` block; see :class:`Watch`."""
    return Watch(model, optimizer, **options)


def _caller_file() -> Path:
    """The user's file (a notebook cell's too): source lines in findings point into it."""
    frame: FrameType | None = sys._getframe(1)
    here = Path(__file__).resolve()
    while frame is not None and Path(frame.f_code.co_filename).resolve() == here:
        frame = frame.f_back
    filename = frame.f_code.co_filename if frame is not None else "<unknown>"
    return Path(filename) if not filename.startswith("<") else Path.cwd() / "<interactive>"
