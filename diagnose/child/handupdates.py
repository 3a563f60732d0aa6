"""Loops updating parameters by hand (``p -= lr * p.grad`` under ``no_grad``, no ``torch.optim``).

Such a loop has no optimizer step to hook, yet it is a training loop whose gradients can go stale
and whose learning rate can be wrong. When a backward pass runs and no torch optimizer exists, each
backward pass is taken as the start of a step: a stand-in optimizer (``HandUpdate``) over the
trained parameters goes through the tap's step path right after ``backward()`` (the gradients are
fresh, the weights not yet changed), and the step ends at the next training forward or backward,
after the user's update: when every watched weight has changed and a ``no_grad`` block closes
(before the next forward has used the weights: a replay can still rescale the update), else at the
next training forward or backward. In a script every optimizer is seen when it is built; under
``diagnose.watch`` one built before the block shows itself only at its first step, so there hand
updates are assumed only once the weights changed between two backward passes with no step.
The stand-in's learning rate is estimated from the first updates (``-<Δw, g> / <g, g>``, exact for
plain SGD), so that replays can change it: a different LR rescales the user's own update.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import torch

from diagnose.child import faults
from diagnose.probes.standin import HandUpdate

if TYPE_CHECKING:
    from diagnose.child.tap import Tap

ESTIMATED_FROM = 3  # updates
UNIT_LR = (
    1.0  # the stand-in's LR before the user's is known: "the user's own step", so that a replay
)
# asking for 0.1x scales even the first update (a first update at 10x the right LR can be the end)


class HandUpdates:
    """Turns hand-written updates into steps of the tap's clock."""

    def __init__(self, tap: Tap, eager: bool = True, active: bool = True) -> None:
        self.tap = tap
        self.eager = eager
        self.active = active  # off: backward passes never stand for steps
        self.optimizer: HandUpdate | None = None
        self.pending = False
        self.factor = 1.0
        self.before: list[torch.Tensor] = []
        self.grads: list[torch.Tensor] = []
        self.estimates: list[float] = []
        self.fingerprint: list[torch.Tensor] | None = None
        self.mark: list[torch.Tensor] = []

    @faults.entry("hand_updates")
    def after_backward(self, root: torch.Tensor) -> None:
        """A backward pass in a loop without torch optimizer: a step begins."""
        if not self.active:
            return
        optimizer = self.optimizer if self.optimizer is not None else self._adopt(root)
        if optimizer is None:
            return
        self.settle()
        self.pending = True
        group = optimizer.param_groups[0]
        known = optimizer.defaults["lr"]  # the user's own LR, once estimated
        nominal = group["lr"] = known if known is not None else UNIT_LR
        self.tap.step_pre(optimizer)  # an intervention may ask for another LR here
        asked = group["lr"]
        self.factor = asked / nominal if isinstance(asked, (int, float)) and asked > 0 else 1.0
        self.mark = _fingerprint(group["params"])
        if self.factor != 1.0 or len(self.estimates) < ESTIMATED_FROM:
            params = group["params"]
            self.before = [p.detach().clone() for p in params]
            self.grads = [
                p.grad.detach().clone() if p.grad is not None else torch.zeros_like(p)
                for p in params
            ]

    def _adopt(self, root: torch.Tensor) -> HandUpdate | None:
        """Take hand updates as the loop's steps: at once (``eager``), or once the trained
        parameters changed between two backward passes with no torch optimizer in sight. The
        stand-in optimizer, once adopted."""
        if self.tap.state.optimizers:
            return None
        params = _trained_params(self.tap.state, root)
        if not params:
            return None
        now = _fingerprint(params)
        changed = (
            self.fingerprint is not None
            and len(now) == len(self.fingerprint)
            and not all(torch.equal(a, b) for a, b in zip(now, self.fingerprint))
        )
        self.fingerprint = now
        if self.eager or changed:
            self.optimizer = HandUpdate(params)  # adopted by the tap's patched Optimizer.__init__
        return self.optimizer

    @faults.entry("hand_updates")
    def settle_if_updated(self) -> None:
        """A ``no_grad`` block closed: the step ends there if it updated every watched weight."""
        if (
            self.pending
            and self.optimizer is not None
            and all(
                not torch.equal(a, b)
                for a, b in zip(_fingerprint(self.optimizer.param_groups[0]["params"]), self.mark)
            )
        ):
            self.settle()

    @faults.entry("hand_updates")
    def settle(self, final: bool = False) -> None:
        """The user's update is done (a new training forward or backward began, or the run ends:
        ``final``)."""
        if not self.pending or self.optimizer is None:
            return
        self.pending = False
        estimate = self._measure(self.optimizer.param_groups[0]["params"]) if self.before else None
        self.before, self.grads = [], []
        self.tap.step_post(self.optimizer, final)  # interventions restore the LR they changed here
        if estimate is not None:
            self.estimates.append(estimate)
            lr = sorted(self.estimates)[len(self.estimates) // 2]
            self.optimizer.param_groups[0]["lr"] = self.optimizer.defaults["lr"] = lr

    def _measure(self, params: list[torch.Tensor]) -> float | None:
        """Estimate the user's LR from their update of ``params``, then scale that update as a
        replay asked."""
        estimate = None
        with torch.no_grad():
            if len(self.estimates) < ESTIMATED_FROM:
                moved = sum(
                    float(((p - b) * g).sum()) for p, b, g in zip(params, self.before, self.grads)
                )
                norm = sum(float((g * g).sum()) for g in self.grads)
                estimate = -moved / norm if norm > 0 and moved < 0 else None
            if self.factor != 1.0:  # through .data: a forward may already have used the weights
                for p, before in zip(params, self.before):
                    p.data.copy_(before + (p.data - before) * self.factor)
        return estimate


def _fingerprint(
    params: list[torch.Tensor], tensors: int = 4, elements: int = 64
) -> list[torch.Tensor]:
    """A few values of a few parameters: enough to see that an update happened."""
    chosen = (
        params if len(params) <= tensors else params[: tensors // 2] + params[-(tensors // 2) :]
    )
    return [p.detach().reshape(-1)[:elements].clone() for p in chosen]


def _trained_params(state: Any, root: torch.Tensor) -> list[torch.Tensor]:
    """The trained model's parameters, or the leaf tensors the loss reaches (a model written as
    plain tensors with ``requires_grad=True``)."""
    if state.model is not None:
        return [p for p in state.model.parameters() if p.requires_grad]
    leaves: dict[int, torch.Tensor] = {}
    stack, seen = [root.grad_fn], set()
    while stack:
        node = stack.pop()
        if node is None or id(node) in seen:
            continue
        seen.add(id(node))
        variable = getattr(node, "variable", None)
        if isinstance(variable, torch.Tensor) and variable.requires_grad:
            leaves[id(variable)] = variable
        stack.extend(child for child, _ in node.next_functions)
    return list(leaves.values())
