"""How a scenario ends early: exceptions the user's ``except Exception`` cannot swallow."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


class RunInterrupted(BaseException):
    """Base of the interruptions the tap raises inside the user's script.

    Derived from ``BaseException`` (like ``KeyboardInterrupt``) so that a training loop wrapped in
    ``try: ... except Exception:`` still stops.
    """

    status = "interrupted"


class BudgetExhausted(RunInterrupted):
    """The scenario took the optimizer steps (or seconds) it was allowed."""

    status = "budget"


class TimeBudgetSpent(BudgetExhausted):
    """The scenario's seconds ran out while it still took steps: a slow script, not a hung one."""


class TimeLimitReached(RunInterrupted):
    """The parent ran out of patience (SIGTERM): the script hung or never reached a step."""

    status = "timeout"


@dataclass
class Budget:
    """Limits of one scenario, checked at step boundaries."""

    max_steps: int
    seconds: float
    started: float = field(default_factory=time.monotonic)

    @property
    def max_backward_calls(self) -> int:
        """Backward passes allowed when the optimizer never steps (generous for accumulation)."""
        return 4 * self.max_steps

    def remaining(self) -> float:
        """Seconds left of the scenario's time budget."""
        return self.seconds - (time.monotonic() - self.started)

    def check(self, steps: int, backward_calls: int) -> None:
        if steps >= self.max_steps:
            raise BudgetExhausted(f"step budget reached ({self.max_steps} optimizer steps)")
        if backward_calls >= self.max_backward_calls:
            raise BudgetExhausted(f"backward budget reached ({backward_calls} backward passes)")
        if time.monotonic() - self.started > self.seconds:
            raise TimeBudgetSpent(f"time budget reached ({self.seconds:.0f} s)")
