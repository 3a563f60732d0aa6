"""Forward-pass hooks of the tap: which top-level modules run, and what happens inside sampled ones.

Only torch's global module hooks are used, never hooks on the user's modules: a model that the
script pickles, deep-copies or compiles with TorchScript must carry nothing of the tool's. Until
the first backward pass every module call is looked at: that is how the trained model is found.
From then on only the top-level modules seen so far count, and an inner call costs a depth count
and a return, except in the few sampled forward passes whose inner layers the probes inspect.
Inside a sampled pass, each module's first ``CALLS_PER_MODULE`` calls reach the probes: a
recurrent cell unrolled over a thousand time steps costs what a few calls cost. Forward passes
that TorchScript traces are not the script's training: they are not seen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks

from diagnose.child import faults

if TYPE_CHECKING:
    from diagnose.child.tap import Tap

FORWARD_SPARSITY = 5  # a sampled forward (every activation recorded) is the costliest sample
CALLS_PER_MODULE = 4


class ForwardHooks:
    def __init__(self, tap: Tap) -> None:
        self.tap = tap
        self.state = tap.state
        self.schedule = tap.state.schedule.sparse(FORWARD_SPARSITY)
        self.handles: list[Any] = []
        self.narrowed = False
        self.sampled_step: int | None = None
        self.sampled_module: nn.Module | None = None
        self.calls: dict[int, int] = {}  # inner module calls seen in the current sampled pass

    def install(self) -> None:
        self.handles = [
            # torch's stub types a pre-hook as returning None; it may return replaced inputs
            module_hooks.register_module_forward_pre_hook(self.before),  # type: ignore[arg-type]
            module_hooks.register_module_forward_hook(
                self.after, with_kwargs=True, always_call=True
            ),
        ]

    def narrow(self) -> None:
        """Count only the top-level modules seen so far from now on (the trained model is known)."""
        self.narrowed = True

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()
        self.handles = []

    # -- hooks -------------------------------------------------------------------------------
    @faults.entry("forward_hooks")
    def before(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        state, tap = self.state, self.tap
        depth = state.forward_depth
        state.forward_depth = depth + 1
        if depth:
            if self.sampled_module is not None:
                self._inner_before(module, args)
            return None
        if state.muted or traced() or not self._top_level(module):
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

    @faults.entry("forward_hooks")
    def after(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> Any:
        state, tap = self.state, self.tap
        state.forward_depth = depth = max(0, state.forward_depth - 1)
        if depth:
            if self.sampled_module is not None:
                self._inner_after(module, args, output)
            return None
        if state.muted or traced() or module not in state.roots:
            return None
        replaced = (
            tap.intervention.after_forward(module, args, output)
            if tap.intervention.active
            else None
        )
        if torch.is_grad_enabled() or module is state.model:
            state.last_forward_kwargs = kwargs
        tap.emit("on_root_forward", module, args, output if replaced is None else replaced)
        if module is self.sampled_module:
            self._end_sample(module)
        return replaced

    def _top_level(self, module: nn.Module) -> bool:
        """A top-level call that counts: a model (parameters, not a loss) until the trained model
        is known, then one of the top-level modules seen until then."""
        return module in self.state.roots if self.narrowed else _is_model(module)

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
        self.tap.emit("on_sampled_forward_start", module)

    def _end_sample(self, module: nn.Module) -> None:
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


def traced() -> bool:
    """A forward pass that ``torch.jit.trace`` records: its tensors stand for the trace's inputs,
    and reading them would warn on the script's standard error."""
    return torch._C._get_tracing_state() is not None


def _is_model(module: nn.Module) -> bool:
    return (
        not isinstance(module, nn.modules.loss._Loss)
        and next(module.parameters(), None) is not None
    )
