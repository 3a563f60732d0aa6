"""Loss probe: the training loss per step, the loss function and its inputs, validation passes."""

from __future__ import annotations

from collections import Counter
from typing import Any

import torch
from torch import nn

from diagnose.probes.base import LossCall, Probe, ignored_target
from diagnose.probes.graph import PASS_THROUGH
from diagnose.probes.sections import EvalPass, LossSection
from diagnose.probes.tensors import as_float, finite
from diagnose.vocabulary import (
    BINARY_LOSSES,
    CLASS_SCORE_LOSSES,
    ELEMENTWISE_LOSSES,
    LOGIT_LOSSES,
    REGRESSION_LOSSES,
)

PREDICTION_WINDOW = 20
MAX_CONFUSION = 20
CHECK_FIRST = 20
MEAN_DIVISOR = (
    0.5  # a sum divided by at least half its item count is read as a mean (padding, accumulation)
)


class LossProbe(Probe):
    name = "loss"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = LossSection()
        state.loss_curve = self.section.values  # read by the pacing of the observation
        self.kind_counts: Counter[str] = Counter()
        self.train_values_since_backward: list[float] = []
        self.recent_predictions: list[torch.Tensor] = []
        self.recent_confusions: list[
            torch.Tensor
        ] = []  # (true, predicted) counts of sampled training batches
        self.passes: dict[int, _PassTotals] = {}
        self.summed: tuple[str, float, int] | None = (
            None  # the last training call, its sum and items, if summed
        )

    # -- loss calls ----------------------------------------------------------------------------
    def on_loss_start(self, call: LossCall) -> None:
        """What the first training loss is given, kept before it runs: a loss that raises on its
        inputs (MSE given class indices) still tells which loss met which shapes."""
        x, y = call.input, call.target
        if (
            self.section.output_shape
            or not call.grad_enabled
            or not isinstance(x, torch.Tensor)
            or not x.requires_grad
        ):
            return
        self.section.output_shape = list(x.shape)
        self.section.target_shape = list(y.shape) if isinstance(y, torch.Tensor) else []
        self.section.input_grad_fn = type(x.grad_fn).__name__ if x.grad_fn else ""
        self.section.first_kind = call.name

    def on_loss(self, call: LossCall) -> None:
        if not isinstance(call.input, torch.Tensor) or not isinstance(call.output, torch.Tensor):
            return
        self.section.calls += 1
        training = call.grad_enabled and call.output.requires_grad
        if training:
            self._training_call(call)
        else:
            self._eval_call(call)

    def _training_call(self, call: LossCall) -> None:
        section, x, y = self.section, call.input.detach(), call.target
        self.kind_counts[call.name] += 1
        section.training_calls += 1
        summed = call.kwargs.get("reduction") == "sum"
        section.sum_reduction_calls += summed
        section.weighted_calls += any(
            call.kwargs.get(key) is not None for key in ("weight", "pos_weight")
        )
        value = as_float(call.output)
        self.summed = (
            (call.name, value, summed_items(call.name, x, y, call.kwargs))
            if summed and value is not None
            else None
        )
        if value is not None:
            self.train_values_since_backward.append(value)
            if (
                not summed
            ):  # a sum's first value is known at backward(), once it is read (``_read_sum``)
                section.first_values.setdefault(call.name, value)
        constant = constant_prediction_loss(call.name, x, y, call.kwargs) if not summed else None
        if constant is not None:
            section.constant_values.append(constant)
        if call.name == "cross_entropy" and x.dim() >= 2:
            section.n_classes = int(x.shape[1])
        elif call.name in BINARY_LOSSES:
            section.n_classes = 2
        if section.training_calls > CHECK_FIRST and not self.state.sampled:
            return  # the checks below need a sample of steps, not every one
        self._check_inputs(call, x, y)
        predicted, truth, accuracy = predictions(call.name, x, y, call.ignore_index)
        if predicted is not None:
            self.recent_predictions = [*self.recent_predictions, predicted][-PREDICTION_WINDOW:]
        if predicted is not None and accuracy is not None:
            counts = confusion_counts(predicted, truth, section.n_classes)
            if counts is not None:
                self.recent_confusions = [*self.recent_confusions, counts][-PREDICTION_WINDOW:]
            section.train_accuracy.append(round(accuracy, 4))
            section.train_accuracy_steps.append(self.state.steps)

    def _check_inputs(self, call: LossCall, x: torch.Tensor, y: Any) -> None:
        section = self.section
        if call.name in LOGIT_LOSSES and x.numel():
            section.logit_loss_calls += 1
            section.probability_inputs += _looks_like_probabilities(
                call.name, x, call.input.grad_fn
            )
        if call.name == "nll_loss" and x.numel():
            section.nll_calls += 1
            section.nll_positive_inputs += bool((x > 1e-6).any())
        if call.name in ELEMENTWISE_LOSSES and x.numel() and x.is_floating_point():
            low, high = float(x.min()), float(x.max())
            section.output_min = low if section.output_min is None else min(section.output_min, low)
            section.output_max = (
                high if section.output_max is None else max(section.output_max, high)
            )
        if (
            call.name in ELEMENTWISE_LOSSES
            and isinstance(y, torch.Tensor)
            and x.shape != y.shape
            and len(section.broadcast_shapes) < 5
        ):
            shapes = f"input {tuple(x.shape)} vs target {tuple(y.shape)}"
            if shapes not in section.broadcast_shapes:
                section.broadcast_shapes.append(shapes)

    def _eval_call(self, call: LossCall) -> None:
        totals = self.passes.setdefault(self.state.steps, _PassTotals())
        x, y = call.input.detach(), call.target
        batch = int(x.shape[0]) if x.dim() else 1
        value = as_float(call.output)
        if value is None:
            return
        totals.kind = totals.kind or call.name
        if call.kwargs.get("reduction") == "sum":
            value /= max(summed_items(call.name, x, y, call.kwargs), 1)
        totals.loss_sum += value * batch
        totals.loss_samples += batch
        predicted, truth, accuracy = predictions(call.name, x, y, call.ignore_index)
        if predicted is not None and truth is not None and accuracy is not None:
            totals.correct += accuracy * truth.numel()  # scored positions: padding left out
            totals.labelled += truth.numel()
            totals.add_confusion(predicted, truth, self.section.n_classes)

    # -- forwards without gradients: validation passes ---------------------------------------
    def on_root_forward(self, model: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if torch.is_grad_enabled() or model is not self.state.model:
            return
        totals = self.passes.setdefault(self.state.steps, _PassTotals())
        totals.forwards += 1
        totals.forwards_in_train_mode += model.training

    # -- the loss of each step ---------------------------------------------------------------
    def on_backward(self, root: torch.Tensor) -> None:
        values = self.train_values_since_backward
        value = values[0] if len(values) == 1 else as_float(root)
        if len(values) == 1 and self.summed is not None:
            value = self._read_sum(root, *self.summed)
        self.train_values_since_backward, self.summed = [], None
        if value is None:
            return
        section = self.section
        section.steps.append(self.state.steps)
        section.values.append(value)
        if section.first_nonfinite_step is None and not finite(value):
            section.first_nonfinite_step = self.state.steps

    def _read_sum(self, root: torch.Tensor, name: str, total: float, items: int) -> float:
        """The step's loss when the loss function summed: the sum itself, or the per-item mean
        when the script divided the sum by (about) its number of items before backward()."""
        backpropagated = as_float(root)
        value = total
        if backpropagated and finite(backpropagated) and finite(total) and items:
            per_item = total / backpropagated / items
            if len(self.section.sum_divisors) < CHECK_FIRST:
                self.section.sum_divisors.append(round(per_item, 4))
            value = total / items if per_item >= MEAN_DIVISOR else total
        self.section.first_values.setdefault(name, value)
        return value

    def finish(self) -> LossSection:
        section = self.section
        section.kinds = [kind for kind, _ in self.kind_counts.most_common()]
        section.kind = (
            section.kinds[0]
            if section.kinds
            else ("custom" if section.values else section.first_kind)
        )
        section.predicted_share = _majority_share(self.recent_predictions)
        section.eval_passes = [totals.as_pass(step) for step, totals in sorted(self.passes.items())]
        labelled = [
            totals.confusion
            for _, totals in sorted(self.passes.items())
            if totals.confusion is not None
        ]
        if labelled:
            section.confusion = labelled[-1].tolist()
        if self.recent_confusions:
            section.train_confusion = torch.stack(self.recent_confusions).sum(0).tolist()
        return section


class _PassTotals:
    def __init__(self) -> None:
        self.loss_sum = 0.0
        self.loss_samples = 0
        self.correct = 0.0
        self.labelled = 0
        self.forwards = 0
        self.forwards_in_train_mode = 0
        self.kind = ""
        self.confusion: torch.Tensor | None = None

    def add_confusion(
        self, predicted: torch.Tensor, target: torch.Tensor, n_classes: int | None
    ) -> None:
        counts = confusion_counts(predicted, target, n_classes)
        if counts is not None:
            self.confusion = counts if self.confusion is None else self.confusion + counts

    def as_pass(self, step: int) -> EvalPass:
        return EvalPass(
            after_step=step,
            samples=self.loss_samples or self.labelled,
            loss=self.loss_sum / self.loss_samples if self.loss_samples else None,
            accuracy=self.correct / self.labelled if self.labelled else None,
            forwards=self.forwards,
            forwards_in_train_mode=self.forwards_in_train_mode,
            kind=self.kind,
        )


def summed_items(name: str, x: torch.Tensor, y: Any, kwargs: dict[str, Any]) -> int:
    """What a summed loss adds up: class targets that count (tokens not ignored), else the rows."""
    if name in CLASS_SCORE_LOSSES and isinstance(y, torch.Tensor) and not y.is_floating_point():
        return int((y != ignored_target(kwargs)).sum())
    return int(x.shape[0]) if x.dim() else 1


def constant_prediction_loss(
    name: str, x: torch.Tensor, y: Any, kwargs: dict[str, Any]
) -> float | None:
    """A regression loss's value for the best constant prediction on this batch (each target
    column's mean; its median for L1): what the loss sits at when the model learned nothing from
    its inputs. The regression counterpart of a classifier's chance level; None for other losses."""
    if (
        name not in REGRESSION_LOSSES
        or not isinstance(y, torch.Tensor)
        or y.shape != x.shape
        or not y.is_floating_point()
        or y.dim() == 0
        or y.shape[0] < 2
    ):
        return None
    y = y.detach().float()
    centre = y.median(0, keepdim=True).values if name == "l1_loss" else y.mean(0, keepdim=True)
    gap = (y - centre).abs()
    if name == "mse_loss":
        value = gap.square().mean()
    elif name == "l1_loss":
        value = gap.mean()
    else:  # Huber and smooth L1: quadratic below the threshold, linear above
        threshold = float(kwargs.get("delta" if name == "huber_loss" else "beta", 1.0) or 1.0)
        huber = torch.where(
            gap < threshold, 0.5 * gap.square(), threshold * (gap - 0.5 * threshold)
        )
        value = (huber / threshold if name == "smooth_l1_loss" else huber).mean()
    return as_float(value)


def _looks_like_probabilities(name: str, x: torch.Tensor, grad_fn: Any) -> bool:
    """The input of a logit loss holds probabilities: rows that sum to 1 for cross-entropy; for
    the binary loss, values in [0, 1] that a sigmoid or softmax produced (logits may be too)."""
    if x.min() < 0 or x.max() > 1:
        return False
    if name == "cross_entropy" and x.dim() >= 2:
        return bool(torch.allclose(x.float().sum(1), torch.ones(()), atol=1e-3))
    for _ in range(6):  # through shape-only ops: model(x).squeeze(1) of a sigmoid output
        if type(grad_fn).__name__ not in PASS_THROUGH:
            break
        grad_fn = next((n for n, _ in grad_fn.next_functions if n is not None), None)
    return type(grad_fn).__name__ in {"SigmoidBackward0", "SoftmaxBackward0"}


def predictions(
    name: str, x: torch.Tensor, y: Any, ignore_index: int = -100
) -> tuple[torch.Tensor | None, torch.Tensor | None, float | None]:
    """Predicted classes, the targets they are scored against and the accuracy, for
    classification losses with class targets. Positions the loss ignores (padding marked by
    ``ignore_index``) are left out of all three: they are no prediction the run is trained on."""
    if not isinstance(y, torch.Tensor) or not x.numel():
        return None, None, None
    if name in CLASS_SCORE_LOSSES and x.dim() >= 2 and not y.is_floating_point():
        predicted = x.argmax(1)
        if predicted.shape == y.shape:
            kept = y != ignore_index
            predicted, y = predicted[kept], y[kept]
    elif name in BINARY_LOSSES and x.shape == y.shape:
        predicted = (x > (0.0 if name.endswith("logits") else 0.5)).to(y.dtype)
    else:
        return None, None, None
    if predicted.shape != y.shape:
        return predicted, None, None
    if not y.numel():
        return None, None, None
    return predicted.flatten(), y.flatten(), float((predicted == y).float().mean())


def confusion_counts(
    predicted: torch.Tensor, target: Any, n_classes: int | None
) -> torch.Tensor | None:
    """Counts of (true class, predicted class) when classifying at most MAX_CONFUSION classes."""
    if not n_classes or n_classes > MAX_CONFUSION or not isinstance(target, torch.Tensor):
        return None
    truth, guess = target.flatten().long().cpu(), predicted.flatten().long().cpu()
    if not truth.numel() or truth.numel() != guess.numel():
        return None
    if truth.min() < 0 or max(truth.max(), guess.max()) >= n_classes:
        return None
    counts = torch.bincount(truth * n_classes + guess, minlength=n_classes * n_classes)
    return counts.reshape(n_classes, n_classes)


def _majority_share(predictions: list[torch.Tensor]) -> float | None:
    if not predictions:
        return None
    flat = torch.cat([p.flatten().to(torch.float64) for p in predictions])
    _, counts = flat.unique(return_counts=True)
    return round(float(counts.max()) / flat.numel(), 4)
