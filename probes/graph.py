"""Graph probe: does the loss's autograd graph reach the trained parameters, and does it hold the
known numerically bad shapes (log of a softmax, softmax fed into cross-entropy's log_softmax)?"""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch

from diagnose.probes.base import Probe
from diagnose.probes.sections import GraphSection

CHECKS_FIRST, CHECK_EVERY = 3, 100
MAX_NODES = 50_000
PASS_THROUGH = {
    "ViewBackward0",
    "UnsafeViewBackward0",
    "ReshapeAliasBackward0",
    "SqueezeBackward0",
    "SqueezeBackward1",
    "UnsqueezeBackward0",
    "CloneBackward0",
    "SelectBackward0",
    "IndexBackward0",
    "ToCopyBackward0",
    "SliceBackward0",
}
PROBABILITY_NODES = {"SoftmaxBackward0", "SigmoidBackward0"}


class GraphProbe(Probe):
    name = "graph"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = GraphSection()
        self.ops: Counter[str] = Counter()
        self.custom: set[str] = set()
        self.ever_reached: set[int] = set()
        self.updated: dict[int, tuple[str, int]] = {}
        self.ran: set[int] = (
            set()
        )  # parameters of the layers seen running in sampled training forwards
        self.roots: set[int] = set()

    def on_root_forward(self, model: Any, args: tuple[Any, ...], output: Any) -> None:
        if (
            self.state.model is not None
            and model is self.state.model
            and id(model) not in self.roots
            and torch.is_grad_enabled()
        ):
            self.roots.add(id(model))
            self.ran.update(id(p) for p in model.parameters(recurse=False))

    def on_module_forward(self, module: Any, args: tuple[Any, ...], output: Any) -> None:
        self.ran.update(id(p) for p in module.parameters(recurse=False))

    def on_backward(self, root: torch.Tensor) -> None:
        calls = self.state.backward_calls
        if calls > CHECKS_FIRST and calls % CHECK_EVERY:
            return
        section = self.section
        trainable = {id(p) for _, p in self.state.trainable_params()} | {
            id(p) for p in self.state.optimized_params() if p.requires_grad
        }
        if not trainable:
            return  # nothing known to train yet (a model of plain tensors, before its first update)
        section.checked += 1
        section.trainable_params = len(trainable)
        section.root_requires_grad = bool(root.requires_grad)
        section.root_grad_fn = type(root.grad_fn).__name__ if root.grad_fn is not None else ""
        reached, ops, log_probs, softmax_ce = _walk(root.grad_fn, trainable, self.custom)
        section.params_reached = (
            len(reached) if section.checked == 1 else min(section.params_reached, len(reached))
        )
        self.ever_reached |= reached
        self._note_updated()
        section.log_of_probabilities += log_probs
        section.softmax_into_log_softmax += softmax_ce
        if section.checked == 1:
            self.ops.update(ops)

    def _note_updated(self) -> None:
        """The model's parameters an optimizer updates (all trainable ones when no optimizer is
        known). One that any check reached counts as reached (a GAN's two losses reach two models);
        one whose layer never ran is unused, not cut off."""
        optimized = {id(p) for p in self.state.optimized_params()}
        self.updated = {
            id(p): (name, p.numel())
            for name, p in self.state.trainable_params()
            if not optimized or id(p) in optimized
        }

    def finish(self) -> GraphSection:
        self.section.ops = dict(self.ops.most_common(30))
        self.section.custom_functions = sorted(self.custom)
        missed = sorted(
            (
                (size, name)
                for key, (name, size) in self.updated.items()
                if key in self.ran and key not in self.ever_reached
            ),
            reverse=True,
        )
        self.section.updated_elements = sum(size for name, size in self.updated.values())
        self.section.updated_elements_reached = self.section.updated_elements - sum(
            size for size, _ in missed
        )
        self.section.never_reached = [name for _, name in missed[:8]]
        return self.section


def _walk(
    root: Any, trainable: set[int], custom: set[str]
) -> tuple[set[int], Counter[str], int, int]:
    """Breadth-first over the graph: trainable params reached, op counts, bad patterns found, and
    (into ``custom``) the user-defined autograd.Functions it passes through."""
    reached: set[int] = set()
    ops: Counter[str] = Counter()
    log_probs = softmax_ce = 0
    seen: set[int] = set()
    queue = [root] if root is not None else []
    while queue and len(seen) < MAX_NODES:
        node = queue.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        name = type(node).__name__
        ops[name] += 1
        function = getattr(node, "_forward_cls", None)
        if function is not None and not function.__module__.startswith("torch."):
            custom.add(f"{function.__module__}.{function.__qualname__}")
        variable = getattr(node, "variable", None)
        if variable is not None and id(variable) in trainable:
            reached.add(id(variable))
        if name == "LogBackward0" and _fed_by(node, PROBABILITY_NODES):
            log_probs += 1
        if name == "LogSoftmaxBackward0" and _fed_by(node, {"SoftmaxBackward0"}):
            softmax_ce += 1
        queue.extend(n for n, _ in node.next_functions if n is not None)
    return reached, ops, log_probs, softmax_ce


def _fed_by(node: Any, names: set[str]) -> bool:
    """True when the node's first input comes, through shape-only ops, from one of ``names``."""
    for _ in range(6):
        inputs = [n for n, _ in node.next_functions if n is not None]
        if not inputs:
            return False
        node = inputs[0]
        name = type(node).__name__
        if name in names:
            return True
        if name not in PASS_THROUGH:
            return False
    return False
