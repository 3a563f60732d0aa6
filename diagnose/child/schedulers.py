"""Scheduler hooks of the tap: each ``step()`` the script itself calls on an LR scheduler.

PyTorch has no global hook for schedulers, so the ``step`` of every scheduler class in
``torch.optim.lr_scheduler`` that defines its own (``LRScheduler``, ``ReduceLROnPlateau``,
``SequentialLR``, ``ChainedScheduler``, ``CosineAnnealingWarmRestarts``) is wrapped, reversibly.
Only the outermost call counts: ``SequentialLR`` and ``ChainedScheduler`` step their parts
themselves, and the step a scheduler's constructor takes (``_initial_step``, which sets
``_step_count`` to 0 first) is not the script's. Nothing is stored on the scheduler: its
``state_dict`` holds every attribute, and a checkpoint must not carry ours.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from torch.optim import lr_scheduler

if TYPE_CHECKING:
    from diagnose.child.tap import Tap


def scheduler_classes() -> list[type]:
    """torch's scheduler classes that define ``step`` themselves (others inherit a wrapped one)."""
    found = []
    for value in vars(lr_scheduler).values():
        if (
            isinstance(value, type)
            and "step" in value.__dict__
            and (
                issubclass(value, lr_scheduler.LRScheduler)
                or value is lr_scheduler.ReduceLROnPlateau
            )
        ):
            found.append(value)
    return found


class SchedulerHooks:
    def __init__(self, tap: Tap) -> None:
        self.tap = tap
        self.depth = (
            0  # scheduler steps in progress: a composite scheduler's parts run inside its own
        )

    def install(self) -> None:
        for cls in scheduler_classes():
            self.tap.patches.replace(cls, "step", self._wrap)

    def _wrap(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def step(scheduler: Any, *args: Any, **kwargs: Any) -> Any:
            if self.depth or self.tap.state.muted or getattr(scheduler, "_step_count", None) == 0:
                return original(scheduler, *args, **kwargs)
            self.depth += 1
            try:
                result = original(scheduler, *args, **kwargs)
            finally:
                self.depth -= 1
            self.tap.emit("on_scheduler_step", scheduler)
            return result

        return step
