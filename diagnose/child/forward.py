"""Forward-pass hooks of the tap: which top-level modules run, and what happens inside sampled ones.

Until the first backward pass every module call is watched (global hooks): that is how the
trained model is found. From then on only the top-level modules seen so far are hooked, and the
global hooks come back just for the few sampled forward passes whose inner layers the probes
inspect: a module call outside those costs nothing. Inside a sampled pass, each module's first
``CALLS_PER_MODULE`` calls reach the probes: a recurrent cell unrolled over a thousand time steps
costs what a few calls cost.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks

if TYPE_CHECKING:
    from diagnose.child.tap import Tap

FORWARD_SPARSITY = 5  # a sampled forward (every activation recorded) is the costliest sample
CALLS_PER_MODULE = 4


class ForwardHooks:
    def __init__(self, tap: Tap) -> None:
        self.tap = tap
        self.state = tap.state
        self.schedule = tap.state.schedule.sparse(FORWARD_SPARSITY)
        self.global_handles: list[Any] = []
        self.root_handles: list[Any] = []
        self.inner_handles: list[Any] = []
        self.narrowed = False
        self.sampled_step: int | None = None
        self.sampled_module: nn.Module | None = None
        self.calls: dict[int, int] = {}  # inner module calls seen in the current sampled pass

    def install(self) -> None:
        self.global_handles = [
            # torch's stub types a pre-hook as returning None; it may return replaced inputs
            module_hooks.register_module_forward_pre_hook(self.before),  # type: ignore[arg-type]
            module_hooks.register_module_forward_hook(self.after, always_call=True),
        ]

    def narrow(self) -> None:
        """Watch only the top-level modules from now on (once the trained model is known)."""
        if self.narrowed:
            return
        for handle in self.global_handles:
            handle.remove()
        self.global_handles = []
        self.narrowed = True
        for root in self.state.roots:
            self.root_handles += [
                root.register_forward_pre_hook(self.before),
                root.register_forward_hook(self.after, always_call=True),
            ]

    def remove(self) -> None:
        for handle in self.global_handles + self.root_handles + self.inner_handles:
            handle.remove()
        self.global_handles, self.root_handles, self.inner_handles = [], [], []

    # -- hooks -------------------------------------------------------------------------------
    def before(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        state, tap = self.state, self.tap
        is_root = state.forward_depth == 0
        state.forward_depth += 1
        if state.muted:
            return None
        if not (is_root and _is_model(module)):
            self._inner_before(module, args)
            return None
        if torch.is_grad_enabled():
            tap.hand.settle()  # a hand-written update ends where the next training forward begins
        replaced = (
            tap.intervention.before_forward(module, args) if tap.intervention.active else None
        )
        args = replaced if replaced is not None else args
        state.note_root_forward(module)
        if torch.is_grad_enabled():
            state.last_training_args = args
        if self._starts_sample():
            self._start_sample(module)
        tap.emit("on_root_forward_pre", module, args)
        return replaced

    def after(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        state, tap = self.state, self.tap
        if module is self.sampled_module and state.forward_depth > 1:
            return None  # the global hook of a sampled pass, seen again by the root itself
        state.forward_depth = max(0, state.forward_depth - 1)
        if state.muted:
            return None
        if state.forward_depth > 0 or module not in state.roots:
            self._inner_after(module, args, output)
            return None
        replaced = (
            tap.intervention.after_forward(module, args, output)
            if tap.intervention.active
            else None
        )
        tap.emit("on_root_forward", module, args, output if replaced is None else replaced)
        if module is self.sampled_module:
            self._end_sample(module)
        return replaced

    # -- sampled forwards --------------------------------------------------------------------
    def _starts_sample(self) -> bool:
        steps = self.state.steps
        return (
            torch.is_grad_enabled()
            and self.schedule.is_sampled(steps)
            and self.sampled_step != steps
            and self.sampled_module is None
        )

    def _start_sample(self, module: nn.Module) -> None:
        self.sampled_step, self.sampled_module, self.calls = self.state.steps, module, {}
        if self.narrowed:
            self.inner_handles = [
                module_hooks.register_module_forward_pre_hook(self._inner_before),
                module_hooks.register_module_forward_hook(self._inner_after, always_call=True),
            ]
        self.tap.emit("on_sampled_forward_start", module)

    def _end_sample(self, module: nn.Module) -> None:
        for handle in self.inner_handles:
            handle.remove()
        self.inner_handles = []
        self.sampled_module = None
        self.tap.emit("on_sampled_forward_end", module)

    def _inner_before(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        if self._watched(module):
            self.tap.emit("on_module_pre", module, args)

    def _inner_after(self, module: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if self._watched(module):
            self.tap.emit("on_module_forward", module, args, output)
            self.calls[id(module)] = self.calls.get(id(module), 0) + 1

    def _watched(self, module: nn.Module) -> bool:
        """An inner call of a sampled pass, among the first few of its module."""
        return (
            self.sampled_module is not None
            and module is not self.sampled_module
            and not self.state.muted
            and self.calls.get(id(module), 0) < CALLS_PER_MODULE
        )


def _is_model(module: nn.Module) -> bool:
    return (
        not isinstance(module, nn.modules.loss._Loss)
        and next(module.parameters(), None) is not None
    )
