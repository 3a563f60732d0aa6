"""The tool's own forward passes, unseen by the script: ``with unseen(model, state): ...``.

A probe that evaluates the model (a probe batch at a checkpoint, a replay's check, a copy trained
alone) runs inside the user's process, between two of the script's steps. Whatever it does must
leave no trace the script could see: the script's hooks do not fire, the random streams the
script draws from next are where they were, batch-norm running statistics (and every other
buffer) hold the script's values, each module is back in the mode the script left it in, and the
tap does not count the pass as the script's forward, loss, backward or step.

Standard library and torch only: probes measure, and never depend on the child package.
"""

from __future__ import annotations

import random
import sys
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Protocol

import torch
from torch import nn
from torch.nn.modules import module as module_globals

# Per-module hook tables that fire during a forward or backward pass (torch's Module attributes).
MODULE_HOOKS = (
    "_forward_pre_hooks",
    "_forward_hooks",
    "_backward_pre_hooks",
    "_backward_hooks",
)
# torch's tables of hooks registered for every module (register_module_forward_hook, ...).
GLOBAL_HOOKS = (
    "_global_forward_pre_hooks",
    "_global_forward_hooks",
    "_global_forward_hooks_always_called",
    "_global_forward_hooks_with_kwargs",
    "_global_backward_pre_hooks",
    "_global_backward_hooks",
)


class Mutable(Protocol):
    """What the tap's training state offers here: a flag that mutes every tap event."""

    muted: bool


@contextmanager
def unseen(
    *models: nn.Module, state: Mutable | None = None, eval_mode: bool = True
) -> Iterator[None]:
    """Run the tool's own forward (and backward) passes of ``models`` without the script seeing
    them.

    For the duration of the block:

    - ``state.muted`` is set, so the tap records nothing (no forward, loss, backward or step of
      the script's, no change to its counters);
    - every hook of the modules of ``models`` (forward, forward-pre, backward, backward-pre) and
      torch's global module hooks (the tap's and any the script registered) are detached;
    - with ``eval_mode``, every module is put in eval mode by its ``training`` flag (the
      script's own ``train()`` override is not called); each module's flag is restored after,
      whatever the block did to it;

    and afterwards:

    - the random generators are where they were: torch's CPU generator and each initialised
      CUDA device's, numpy's global generator (when the script imported numpy) and Python's
      ``random``: dropout in the block draws nothing from the script's streams;
    - every buffer of ``models`` (batch-norm running means and variances, ``num_batches_tracked``,
      any running statistic a custom module keeps) holds its value from before the block,
      written back in place and only where it changed;
    - no warning the block raised was shown: the script's standard error holds its own (torch
      warns about the line that called a loss, and a probe recomputes the script's losses).

    Use it around the forward passes themselves (under ``torch.no_grad()`` for evaluations, as
    the caller decides). Parameter tensors' own hooks (``p.register_hook``) are not detached:
    they fire only in a backward pass through the script's parameters, which the tool's
    passes never run on the script's weights (train a copy, made inside this block).
    """
    with ExitStack() as stack:
        stack.enter_context(_muted(state))
        stack.enter_context(_without_hooks(models))
        stack.enter_context(_modes_kept(models, eval_mode))
        stack.enter_context(_buffers_kept(models))
        stack.enter_context(_random_kept())
        stack.enter_context(_warnings_unshown())
        yield


@contextmanager
def _warnings_unshown() -> Iterator[None]:
    """Warnings raised in the block go unshown. ``warnings.catch_warnings`` would do it, but
    entering it marks the filters changed, which makes every warning the script has already seen
    once per line show again."""
    shown = warnings.showwarning
    warnings.showwarning = _unshown
    try:
        yield
    finally:
        warnings.showwarning = shown


def _unshown(*args: object, **kwargs: object) -> None:
    """A ``warnings.showwarning`` that shows nothing."""


@contextmanager
def _muted(state: Mutable | None) -> Iterator[None]:
    if state is None:
        yield
        return
    was = state.muted
    state.muted = True
    try:
        yield
    finally:
        state.muted = was


@contextmanager
def _without_hooks(models: tuple[nn.Module, ...]) -> Iterator[None]:
    """Empty hook tables in place of the real ones, the same table objects put back after (the
    handles the script holds keep working)."""
    modules = _modules(models)
    saved = [
        (m, name, m.__dict__[name]) for m in modules for name in MODULE_HOOKS if name in vars(m)
    ]
    saved_globals = [(name, getattr(module_globals, name)) for name in GLOBAL_HOOKS]
    for module, name, _ in saved:
        module.__dict__[name] = OrderedDict()
    for name, _ in saved_globals:
        setattr(module_globals, name, OrderedDict())
    try:
        yield
    finally:
        for name, table in saved_globals:
            setattr(module_globals, name, table)
        for module, name, table in saved:
            module.__dict__[name] = table


@contextmanager
def _modes_kept(models: tuple[nn.Module, ...], eval_mode: bool) -> Iterator[None]:
    modules = _modules(models)
    modes = [(module, module.training) for module in modules]
    if eval_mode:
        for module in modules:
            module.training = False
    try:
        yield
    finally:
        for module, training in modes:
            module.training = training


@contextmanager
def _buffers_kept(models: tuple[nn.Module, ...]) -> Iterator[None]:
    """Each module's buffers: the same tensor objects (a module may assign a new one), holding
    the same values."""
    saved = [
        (module, name, buffer, buffer.detach().clone())
        for module in _modules(models)
        for name, buffer in module._buffers.items()
        if buffer is not None
    ]
    try:
        yield
    finally:
        with torch.no_grad():
            for module, name, buffer, value in saved:
                module._buffers[name] = buffer
                # only where it changed: an in-place write bumps the tensor's version, which a
                # graph of the script's that saved this buffer would then refuse to backward
                if buffer.shape != value.shape:
                    buffer.data = value
                elif not torch.equal(buffer, value):
                    buffer.copy_(value)


@contextmanager
def _random_kept() -> Iterator[None]:
    cpu = torch.get_rng_state()
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_initialized() else None
    numpy = sys.modules.get("numpy")  # the script's numpy, never imported on its behalf
    numpy_state = numpy.random.get_state() if numpy is not None else None
    python = random.getstate()
    try:
        yield
    finally:
        torch.set_rng_state(cpu)
        if cuda is not None:
            torch.cuda.set_rng_state_all(cuda)
        if numpy is not None and numpy_state is not None:
            numpy.random.set_state(numpy_state)
        random.setstate(python)


def _modules(models: tuple[nn.Module, ...]) -> list[nn.Module]:
    """Each module of ``models`` once (a layer shared by two models is one module)."""
    seen: dict[int, nn.Module] = {}
    for model in models:
        for module in model.modules():
            seen.setdefault(id(module), module)
    return list(seen.values())
