"""Experiments: replays that ask the run a question (can it memorize a batch? which LR works? do
the labels carry signal? does the model use its input?) rather than apply a fix."""

from __future__ import annotations

import copy
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from diagnose.child.budget import BudgetExhausted
from diagnose.child.interventions import Intervention
from diagnose.defaults import SANE_LR
from diagnose.probes.base import LossCall
from diagnose.probes.loss import predictions
from diagnose.probes.sections import (
    GradCheckResult,
    GradCheckSection,
    LRRangeSection,
    OverfitSection,
)
from diagnose.probes.tensors import as_float, tensors_in
from diagnose.probes.unseen import unseen


class FixedBatches(Intervention):
    """The training data becomes ``count`` fixed batches, replayed in turn (optionally with the
    labels permuted within each batch): one batch is the overfit test, several the label control.
    Dropout is switched off: the question is whether the model and loop can fit the batch, not
    how fast they do with half the units dropped (the fit probe measures in eval mode anyway)."""

    name = "fixed_batches"

    def activate(self) -> None:
        self.count = int(self.params.get("count", 1))
        self.permute = bool(self.params.get("permute", False))
        self.index = 0
        self.permutations: dict[int, torch.Tensor] = {}
        last = self.state.last_train_batch
        self.loader_id = id(last[0]) if last else None
        self.batches = [last[1]] if last else []
        self.args = self.state.last_training_args
        call = self.state.last_loss_call
        self.target = call.target if call is not None else None
        where = "training loader" if last else "model input and loss target"
        dropped = _dropout_off(self.state.model)
        self.note = (
            f"the {where} replays {self.count} fixed batch(es)"
            + (" with labels permuted within each batch" if self.permute else "")
            + (f"; dropout off in {dropped} layers" if dropped else "")
        )

    def replace_batch(self, loader: Any, batch: Any) -> Any:
        if id(loader) != self.loader_id:
            return batch
        if len(self.batches) < self.count:
            self.batches.append(batch)
            self.index = len(self.batches) - 1
            return batch
        self.index = (self.index + 1) % len(self.batches)
        return self.batches[self.index]

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if self.loader_id is None and self.args is not None and torch.is_grad_enabled():
            return self.args
        return None

    def transform_loss(self, call: LossCall) -> None:
        if not call.grad_enabled:
            return
        if self.loader_id is None and self.target is not None:
            call.target = self.target
        if self.permute and isinstance(call.target, torch.Tensor) and call.target.dim() >= 1:
            call.target = call.target[self._permutation(call.target.shape[0])]

    def _permutation(self, size: int) -> torch.Tensor:
        key = self.index * 100_003 + size
        if key not in self.permutations:
            generator = torch.Generator().manual_seed(1234 + key)
            self.permutations[key] = torch.randperm(size, generator=generator)
        return self.permutations[key]


def _dropout_off(model: nn.Module | None) -> int:
    """Set every dropout probability of the model to 0 (this replay's process only)."""
    count = 0
    for module in model.modules() if model is not None else ():
        if isinstance(module, nn.modules.dropout._DropoutNd) and module.p > 0:
            module.p, count = 0.0, count + 1
        elif isinstance(module, nn.MultiheadAttention) and module.dropout > 0:
            module.dropout, count = 0.0, count + 1
    return count


class LRRange(Intervention):
    """Every param group's LR rises exponentially per step; stops once the loss blows up."""

    name = "lr_range"

    def activate(self) -> None:
        self.lr_start, self.lr_end = (
            float(self.params.get("start", 1e-7)),
            float(self.params.get("end", 10.0)),
        )
        self.steps = int(self.params.get("steps", 100))
        self.record = LRRangeSection()
        call = self.state.last_loss_call  # step 0's loss: its backward ran before the fork point
        self.loss: float | None = as_float(call.output) if call is not None else None
        self.best = math.inf
        self.smoothed = 0.0
        self.finite_seen = False  # a custom loss's first value is unknown here, not a divergence
        self.note = f"LR raised from {self.lr_start:g} to {self.lr_end:g} over {self.steps} steps"

    def after_backward(self, root: torch.Tensor) -> None:
        self.loss = as_float(root)

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        k = len(self.record.lrs)
        lr = self.lr_start * (self.lr_end / self.lr_start) ** (k / max(self.steps - 1, 1))
        for group in optimizer.param_groups:
            group["lr"] = lr
        self.record.lrs.append(lr)
        self.record.losses.append(self.loss if self.loss is not None else math.nan)

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        k, loss = len(self.record.lrs), self.record.losses[-1]
        if math.isfinite(loss):
            self.finite_seen = True
            self.smoothed = 0.9 * self.smoothed + 0.1 * loss
            self.best = min(self.best, self.smoothed / (1 - 0.9**k))
        diverged = (not math.isfinite(loss) and self.finite_seen) or (
            k > 10 and self.smoothed / (1 - 0.9**k) > 4 * self.best
        )
        if diverged or k >= self.steps:
            self.record.stopped = "the loss diverged" if diverged else "the LR reached its end"
            raise BudgetExhausted(f"LR range test finished: {self.record.stopped}")

    def sections(self) -> dict[str, Any]:
        return {**super().sections(), "lr_range": self.record}


class ZeroInput(Intervention):
    """Training inputs replaced by zeros: if the loss curve stays the same, the input is ignored."""

    name = "zero_input"

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if torch.is_grad_enabled() and args and isinstance(args[0], torch.Tensor):
            self.note = "training inputs replaced by zeros"
            return (torch.zeros_like(args[0]), *args[1:])
        return None


class IsolatedOverfit(Intervention):
    """A copy of the model, the same loss function and a fresh optimizer of the same class with a
    sane LR, trained on the first batch outside the user's loop (which then stops)."""

    name = "isolated_overfit"

    def __init__(self, state: Any, **params: Any) -> None:
        super().__init__(state, **params)
        self.record = OverfitSection(note="skipped: the run never reached an optimizer step")

    def activate(self) -> None:
        self.record = OverfitSection()
        state = self.state
        model, call, args = state.model, state.last_loss_call, state.last_training_args
        if model is None or call is None or args is None:
            self.record.note = (
                "skipped: the loss is not a torch loss function, or no training forward was seen"
            )
            raise BudgetExhausted("isolated overfit skipped")
        try:
            with unseen(model, state=state, eval_mode=False):
                self._train(model, call, args, int(self.params.get("steps", 150)))
        except Exception as error:  # the copy cannot be driven outside the script's loop
            self.record = OverfitSection(
                note="skipped: the model copy could not be trained alone "
                f"({type(error).__name__}: {error})"[:300]
            )
        raise BudgetExhausted("isolated overfit finished")

    def _train(self, model: nn.Module, call: Any, args: tuple[Any, ...], steps: int) -> None:
        """Train a copy of ``model`` (made with the script's hooks detached: it has none)."""
        state = self.state
        model = copy.deepcopy(model).train()
        model.zero_grad(set_to_none=True)
        optimizer = _fresh_optimizer(type(state.optimizers[0]) if state.optimizers else None, model)
        self.record.optimizer, self.record.lr = (
            type(optimizer).__name__,
            optimizer.param_groups[0]["lr"],
        )
        loss_function = getattr(F, call.name)
        for _ in range(steps):
            optimizer.zero_grad()
            given = _loss_input(model(*args), call.input)
            if given is None:
                self.record.note = "skipped: the model's output does not match the loss input"
                return
            loss = loss_function(given, call.target, **call.kwargs)
            loss.backward()
            optimizer.step()
            self.record.losses.append(float(loss.detach()))
            _, _, accuracy = predictions(call.name, given.detach(), call.target, call.ignore_index)
            if accuracy is not None:
                self.record.accuracies.append(round(accuracy, 4))

    def sections(self) -> dict[str, Any]:
        return {**super().sections(), "isolated": self.record}


def _fresh_optimizer(cls: type | None, model: nn.Module) -> torch.optim.Optimizer:
    if cls is None or cls.__name__ not in SANE_LR:
        return torch.optim.Adam(model.parameters(), lr=1e-3)
    name = cls.__name__
    extra = {"momentum": 0.9} if name == "SGD" else {}
    return cls(model.parameters(), lr=SANE_LR[name], **extra)


def _loss_input(output: Any, observed: Any) -> torch.Tensor | None:
    """The tensor of the model's output the loss was given (matched by size, reshaped alike)."""
    if not isinstance(observed, torch.Tensor):
        return None
    for tensor in tensors_in(output):
        if tensor.numel() == observed.numel():
            return tensor.reshape(observed.shape)
    return None


class GradCheck(Intervention):
    """One forward pass records the first call of each user-defined autograd.Function; each is then
    checked in float64: the backward's gradient against central finite differences along random
    directions. The run then stops."""

    name = "gradcheck"

    def activate(self) -> None:
        self.record = GradCheckSection()
        models = (self.state.model,) if self.state.model is not None else ()
        with unseen(*models, state=self.state, eval_mode=False):
            calls = self._capture()
            for function, args in calls.items():
                self.record.results.append(_check(function, args))
        self.note = f"{len(calls)} custom autograd.Function(s) checked against finite differences"
        raise BudgetExhausted("gradient check finished")

    def _capture(self) -> dict[type, tuple[Any, ...]]:
        state = self.state
        calls: dict[type, tuple[Any, ...]] = {}
        if state.model is None or state.last_training_args is None:
            return calls
        original = torch.autograd.Function.__dict__["apply"]

        def apply(cls: type, *args: Any, **kwargs: Any) -> Any:
            if not cls.__module__.startswith("torch.") and cls not in calls:
                calls[cls] = tuple(_copy(a) if isinstance(a, torch.Tensor) else a for a in args)
            return original.__get__(None, cls)(*args, **kwargs)

        torch.autograd.Function.apply = classmethod(apply)
        try:
            state.model(*state.last_training_args)
        finally:
            torch.autograd.Function.apply = original
        return calls

    def sections(self) -> dict[str, Any]:
        return {**super().sections(), "gradcheck": self.record}


def _check(
    function: type[torch.autograd.Function],
    args: tuple[Any, ...],
    directions: int = 3,
    eps: float = 1e-6,
) -> GradCheckResult:
    name = f"{function.__module__}.{function.__qualname__}"
    inputs = [a.detach().double().requires_grad_() if _differentiable(a) else a for a in args]
    tensors = [a for a in inputs if isinstance(a, torch.Tensor) and a.requires_grad]
    if not tensors:
        return GradCheckResult(name, None, "no floating-point tensor input")
    try:
        output = function.apply(*inputs)
        weights = torch.randn_like(output)
        grads = torch.autograd.grad((output * weights).sum(), tensors, allow_unused=True)
        worst = 0.0
        for _ in range(directions):
            steps = [torch.randn_like(t) for t in tensors]
            analytic = sum(float((g * v).sum()) for g, v in zip(grads, steps) if g is not None)
            numeric = (
                _shifted(function, inputs, tensors, steps, eps, weights)
                - _shifted(function, inputs, tensors, steps, -eps, weights)
            ) / (2 * eps)
            worst = max(worst, abs(analytic - numeric) / max(abs(numeric), abs(analytic), 1e-8))
    except Exception as error:  # a Function that cannot run in float64 is reported, not fatal
        return GradCheckResult(name, None, f"not checked: {type(error).__name__}: {error}"[:200])
    return GradCheckResult(name, round(worst, 6))


def _copy(tensor: torch.Tensor) -> torch.Tensor:
    copy = tensor.detach().clone()
    return copy.requires_grad_() if tensor.requires_grad else copy


def _differentiable(value: Any) -> bool:
    """Inputs the user's call needed gradients for (only those are perturbed)."""
    return isinstance(value, torch.Tensor) and value.requires_grad and value.is_floating_point()


def _shifted(
    function: type[torch.autograd.Function],
    inputs: list[Any],
    tensors: list[torch.Tensor],
    steps: list[torch.Tensor],
    eps: float,
    weights: torch.Tensor,
) -> float:
    moved = {id(t): (t + eps * v).detach() for t, v in zip(tensors, steps)}
    with torch.no_grad():
        output = function.apply(
            *[moved.get(id(a), a) if isinstance(a, torch.Tensor) else a for a in inputs]
        )
    return float((output * weights).sum())


EXPERIMENTS: dict[str, type[Intervention]] = {
    cls.name: cls for cls in (FixedBatches, LRRange, ZeroInput, IsolatedOverfit, GradCheck)
}
