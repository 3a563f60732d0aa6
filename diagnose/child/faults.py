"""Tell the tool's own failures from the script's, and name the piece of instrumentation at fault.

The tap is made of components (``COMPONENTS``): its optimizer-step and forward hooks, each family
of wrapped functions, the hand-update clock, epoch pacing, the fork server. A run's spec may turn
components off (``disabled``); when the observed run ends in an exception that is the tool's,
the driver runs it again once with the component that failed turned off, and the report says
what was not observed and why. An exception is the tool's when

- it went through our code below the script's last frame: raised there, or in library code our
  code called on its own behalf. Frames of pass-through wrappers do not count: a wrapper's call
  of the function it wraps, on the script's arguments, is the script's call; or
- its message names our code (a module of ours, or one of our files), as a pickling error does
  when something of ours is reachable from the object being saved.

The component is read from the frames: each component's entry points (the wrappers it installs,
the hooks it registers) are tagged with its name, and the innermost tagged frame of ours on the
traceback names it. For tests, ``DIAGNOSE_INJECT_FAULT=<component>`` makes that component's
wrappers raise at their first call: a real fault on a real code path, nothing else changes.
"""

from __future__ import annotations

import os
import re
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from types import CodeType
from typing import Any, TypeVar

from diagnose.child.userframe import UserCode, is_ours

# What each component observes: what a report lacks when it is off.
COMPONENTS = {
    "step_hooks": "the optimizer steps (the step clock, gradients and updates per step)",
    "forward_hooks": "the model's forward passes (which model trains, its activations, inputs)",
    "optimizer_init": "optimizers as the script builds them",
    "schedulers": "the LR schedulers' steps",
    "backward": "the backward passes",
    "zero_grad": "the zero_grad calls",
    "mode": "the train()/eval() calls",
    "loaders": "the DataLoader batches (and epoch compression)",
    "losses": "the loss function calls",
    "scalers": "scikit-learn's scalers",
    "normalize": "torchvision's Normalize calls",
    "warnings": "the warnings",
    "compile": "torch.compile's bypass (compiled code ran compiled)",
    "grad_mode": "the ends of no_grad blocks (hand-written updates)",
    "torchscript": "nothing (TorchScript compiled the tap's wrappers instead of torch's code)",
    "hand_updates": "hand-written weight updates",
    "pacing": "epoch compression and adaptive stopping",
    "fork_server": "replays started from the first step (replays ran from scratch)",
}
# Never turned off: without it the script would write into the user's folder.
SANDBOX = "sandbox"
EVERYTHING = "all"  # a fault no frame explains: all but the step clock and the sandbox go
INJECT_VARIABLE = "DIAGNOSE_INJECT_FAULT"
OUR_MODULES = re.compile(r"\bdiagnose\.(child|probes)\b")

_component_of: dict[CodeType, str] = {}
_passing_through: set[CodeType] = set()
F = TypeVar("F", bound=Callable[..., Any])


def tag(component: str, function: Callable[..., Any], passes_through: bool = False) -> None:
    """Mark ``function`` as an entry point of ``component``; ``passes_through`` when it calls
    the script's or a library's function with the script's arguments (a wrapper's call of what
    it wraps), so that an exception raised in that call stays the script's."""
    code = getattr(function, "__code__", None)
    if code is None:
        return
    _component_of[code] = component
    if passes_through:
        _passing_through.add(code)


def entry(component: str, passes_through: bool = False) -> Callable[[F], F]:
    """Decorator form of ``tag`` for methods: the function itself is returned unchanged."""

    def mark(function: F) -> F:
        tag(component, function, passes_through)
        return function

    return mark


def switchable(component: str) -> bool:
    """Whether a run can go without ``component`` (never without the sandbox)."""
    return component != SANDBOX


def injected(component: str | None) -> bool:
    """Whether a test asked for a fault in ``component`` (``DIAGNOSE_INJECT_FAULT``)."""
    return component is not None and os.environ.get(INJECT_VARIABLE) == component


def faulty(component: str) -> Callable[..., Any]:
    """A stand-in for ``component``'s wrapper that fails as a bug of ours would."""

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"fault injected into diagnose's {component} ({INJECT_VARIABLE})")

    tag(component, fail)
    return fail


@dataclass
class Fault:
    """An exception of ours that ended a run, and what to turn off to run without it."""

    component: str
    error: str
    where: str
    lost: str

    def record(self) -> dict[str, str]:
        return asdict(self)


def locate(error: BaseException, user: UserCode) -> Fault | None:
    """The tool's fault behind ``error``, or None when the exception is the script's."""
    frames = [
        (frame.f_code, line)
        for frame, line in traceback.walk_tb(error.__traceback__)  # outermost first
    ]
    script = [i for i, (code, _) in enumerate(frames) if user.is_user_file(code.co_filename)]
    deeper = frames[script[-1] + 1 :] if script else _after_runner(frames)
    # a pass-through frame is never where the fault is: C calls in it (a builtin ``open``) have
    # no frame of their own, and what it calls on the script's behalf is the script's call
    ours = [
        i
        for i, (code, _) in enumerate(deeper)
        if is_ours(code.co_filename) and code not in _passing_through
    ]
    described = f"{type(error).__name__}: {error}"[:500]
    if ours:
        code, line = deeper[ours[-1]]
        component = next(
            (_component_of[c] for c, _ in reversed(deeper[: ours[-1] + 1]) if c in _component_of),
            EVERYTHING,
        )
        return _fault(component, described, f"{code.co_filename}:{line} in {code.co_name}")
    return _named_in_message(error, described)


def _after_runner(frames: list[tuple[CodeType, int]]) -> list[tuple[CodeType, int]]:
    """Without a frame of the script's (it did not start): what ran after runpy's frames."""
    runner = [i for i, (code, _) in enumerate(frames) if code.co_filename == "<frozen runpy>"]
    return frames[runner[-1] + 1 :] if runner else []


def _named_in_message(error: BaseException, described: str) -> Fault | None:
    """A message that names our code: one of our files (with a line: the component that owns
    it), or one of our modules (no component to blame: all but the clock goes)."""
    message = str(error)
    for filename, line in re.findall(r"""([^\s"'<>]+\.py)"?(?:, line |:)(\d+)""", message):
        if is_ours(filename):
            component = _owner(filename, int(line))
            return _fault(component, described, f"{filename}:{line}")
    if OUR_MODULES.search(message):
        return _fault(EVERYTHING, described, "named in the message")
    return None


def _owner(filename: str, line: int) -> str:
    """The component whose tagged code holds ``line`` of ``filename`` (the closest above)."""
    above = [
        (code.co_firstlineno, component)
        for code, component in _component_of.items()
        if code.co_filename == filename and code.co_firstlineno <= line
    ]
    return max(above)[1] if above else EVERYTHING


def _fault(component: str, error: str, where: str) -> Fault:
    lost = (
        "everything but the step clock"
        if component == EVERYTHING
        else COMPONENTS.get(component, "the sandbox (nothing was turned off)")
    )
    return Fault(component, error, where, lost)
