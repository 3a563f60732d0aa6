"""The stand-in optimizer a loop that updates its weights by hand is stepped as.

A loop with no ``torch.optim`` optimizer (``p -= lr * p.grad``) still takes steps: the child's
hand-update tracking (``diagnose.child.handupdates``) steps this stand-in through the tap's step
path, and the probes and replays recognise it by its type.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import overload

import torch


class HandUpdate(torch.optim.Optimizer):
    """The stand-in optimizer of a hand-written update: it holds the trained parameters and never
    steps itself; its ``lr`` is the estimate of the user's step size once known (None before)."""

    def __init__(self, params: list[torch.Tensor]) -> None:
        super().__init__(params, {"lr": None})

    @overload
    def step(self, closure: None = None) -> None: ...

    @overload
    def step(self, closure: Callable[[], float]) -> float: ...

    def step(self, closure: Callable[[], float] | None = None) -> float | None:
        """Nothing to update: the user's own code updates the parameters. A closure (the tool
        never passes one) is evaluated as torch's optimizers do, for the loss it returns."""
        if closure is None:
            return None
        with torch.enable_grad():
            return closure()
