"""Probe batches: a few of the run's own batches, kept to measure fit on the same data throughout.

A probe item is what the model was given in one forward pass (its positional and keyword
arguments, copied) and, for each loss function the step called, how that loss is computed from
the model's output: the target it was given, its keyword arguments, and where its input came from
(a tensor of the output, reshaped, with leading or trailing positions of one dimension dropped,
possibly through a log-softmax), or ``inside`` when the model
computed the loss in its own forward (Hugging Face models given their labels). A step whose loss
input cannot be traced back to the output this way (the script transforms it) yields no item.

Evaluating an item runs the model on its arguments and computes every loss term per element
(``reduction="none"``), summed over the non-batch dimensions: a number per sample in the loss's
own units, whatever reduction the script uses, so that training and validation numbers compare.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F

from diagnose.probes.base import LossCall, ignored_target
from diagnose.probes.tensors import tensors_in
from diagnose.vocabulary import BINARY_LOSSES, CLASS_SCORE_LOSSES

MAX_OUTPUT_TENSORS = 16
LOG_SOFTMAX_DIMS = (1, -1)


@dataclass
class LossTerm:
    """One loss call of a step, as a probe evaluation repeats it."""

    name: str  # the torch.nn.functional loss
    target: Any
    kwargs: dict[str, Any]
    inside: bool = False  # computed by the model's own forward: read from that call
    output_index: int = 0  # which tensor of the output (tensors_in order) is its input
    trailing: tuple[int, ...] = ()  # the input's shape after its first dimension
    log_softmax_dim: int | None = None  # a log_softmax the script applies first
    # Positions the script drops from the output before its loss: (dimension, leading, trailing),
    # as in ``output[1:]`` (a decoder's first step) or ``logits[:, :-1]`` (no target after the end).
    dropped: tuple[int, int, int] | None = None


@dataclass
class ProbeItem:
    """One forward pass of the script's, with the loss terms its step computed."""

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    terms: list[LossTerm] = field(default_factory=list)

    @property
    def samples(self) -> int:
        """Rows of the loss input: samples, or tokens for a loss over flattened sequences."""
        first = self.terms[0].target if self.terms else None
        return int(first.shape[0]) if isinstance(first, torch.Tensor) and first.dim() else 1


@dataclass
class Measured:
    """A probe set evaluated: the mean per-sample loss and, for a classifier, the accuracy."""

    loss: float | None
    accuracy: float | None
    samples: int


# -- capture -------------------------------------------------------------------------------------


def copy_inputs(value: Any) -> Any:
    """A detached copy of a forward's inputs: tensors cloned, containers rebuilt, plain values
    kept. None when something in them cannot be kept (an object of the script's own)."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, Mapping):
        items = {key: copy_inputs(item) for key, item in value.items()}
        return None if any(v is None and value[k] is not None for k, v in items.items()) else items
    if isinstance(value, (list, tuple)):
        items_list = [copy_inputs(item) for item in value]
        if any(c is None and v is not None for c, v in zip(items_list, value)):
            return None
        return type(value)(items_list) if isinstance(value, tuple) else items_list
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return None


def term_of(call: LossCall, output: Any, inside: bool) -> LossTerm | None:
    """How to compute this loss call again from a probe forward's output; None when its input
    is not an output tensor as it is, reshaped, or through a log-softmax."""
    if not isinstance(call.input, torch.Tensor) or not isinstance(call.target, torch.Tensor):
        return None
    kwargs = _keywords(call)
    if kwargs is None or not all(_plain(value) for value in kwargs.values()):
        return None
    target = call.target.detach().clone()
    kwargs = {
        k: v.detach().clone() if isinstance(v, torch.Tensor) else v for k, v in kwargs.items()
    }
    if inside:  # its input's shape still tells the classes a chance level needs
        return LossTerm(call.name, target, kwargs, inside=True, trailing=_trailing(call.input))
    given = call.input.detach()
    if given.dim() == 0:
        return None
    with torch.no_grad():
        for index, tensor in enumerate(tensors_in(output, limit=MAX_OUTPUT_TENSORS)):
            for dropped in _droppings(tensor.shape, given.numel()):
                candidate = _kept(tensor.detach(), dropped)
                for dim in (None, *LOG_SOFTMAX_DIMS):
                    produced = candidate if dim is None else F.log_softmax(candidate, dim=dim)
                    if _same(produced.reshape(given.shape), given):
                        return LossTerm(
                            call.name, target, kwargs, False, index, _trailing(given), dim, dropped
                        )
    return None


def _droppings(shape: torch.Size, wanted: int) -> list[tuple[int, int, int] | None]:
    """The ways an output of ``shape`` can hold ``wanted`` elements: all of them (None), or all
    but a run of leading or of trailing positions of one dimension."""
    total = shape.numel()
    if total == wanted:
        return [None]
    found: list[tuple[int, int, int] | None] = []
    for dim, size in enumerate(shape):
        rest = total // size if size else 0
        if not rest or wanted % rest:
            continue
        drop = size - wanted // rest
        if 0 < drop < size:
            found += [(dim, drop, 0), (dim, 0, drop)]
    return found


def _kept(tensor: torch.Tensor, dropped: tuple[int, int, int] | None) -> torch.Tensor:
    if dropped is None:
        return tensor
    dim, leading, trailing = dropped
    return tensor.narrow(dim, leading, tensor.shape[dim] - leading - trailing)


def _keywords(call: LossCall) -> dict[str, Any] | None:
    """The call's options by name, the reduction left out: loss modules pass some positionally
    (``BCEWithLogitsLoss`` its ``weight``). None when they do not fit the function's signature."""
    try:
        bound = inspect.signature(getattr(F, call.name)).bind_partial(
            call.input, call.target, *call.args, **call.kwargs
        )
    except (AttributeError, TypeError, ValueError):
        return None
    named = dict(bound.arguments)
    for key in (*list(named)[:2], "reduction", "size_average", "reduce"):
        named.pop(key, None)
    return named


def _trailing(tensor: torch.Tensor) -> tuple[int, ...]:
    return tuple(tensor.shape[1:])


def _same(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.dtype == b.dtype and bool(torch.equal(a, b) or torch.allclose(a, b, atol=1e-6))


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, torch.Tensor))


# -- evaluation ----------------------------------------------------------------------------------


def evaluate(
    model: torch.nn.Module,
    items: Sequence[ProbeItem],
    listen: Callable[[Callable[[LossCall], None] | None], None],
    transform: Callable[[tuple[Any, ...]], tuple[Any, ...]] | None = None,
) -> Measured:
    """Mean per-sample loss (and accuracy) of ``model`` on ``items``. The caller provides the
    setting in which this runs unseen (eval mode, no gradients, hooks and RNG kept); ``listen``
    installs a receiver for the loss calls made during a forward (None removes it); ``transform``
    changes the inputs as the replay's fix does."""
    total, count, correct, labelled = 0.0, 0, 0.0, 0
    for item in items:
        calls: list[LossCall] = []
        args = transform(item.args) if transform is not None else item.args
        listen(calls.append)
        try:
            output = model(*args, **item.kwargs)
        finally:
            listen(None)
        per_sample, hits = _item_losses(item, output, calls)
        if per_sample is None:
            continue
        total += float(per_sample.sum())
        count += int(per_sample.numel())
        if hits is not None:
            correct += hits[0]
            labelled += hits[1]
    return Measured(
        loss=total / count if count else None,
        accuracy=correct / labelled if labelled else None,
        samples=count,
    )


def element_losses(
    model: torch.nn.Module,
    item: ProbeItem,
    args: tuple[Any, ...],
    listen: Callable[[Callable[[LossCall], None] | None], None],
) -> torch.Tensor | None:
    """The first loss term's element-wise loss (shaped like its target) when ``model`` runs on
    ``args`` instead of the item's own inputs; the caller provides the unseen setting."""
    calls: list[LossCall] = []
    listen(calls.append)
    try:
        output = model(*args, **item.kwargs)
    finally:
        listen(None)
    if not item.terms:
        return None
    term = item.terms[0]
    given = _term_input(term, tensors_in(output, limit=MAX_OUTPUT_TENSORS), iter(calls))
    if given is None:
        return None
    return getattr(F, term.name)(given, term.target, reduction="none", **term.kwargs)


def _item_losses(
    item: ProbeItem, output: Any, calls: list[LossCall]
) -> tuple[torch.Tensor | None, tuple[float, int] | None]:
    """The per-sample loss of one item (every term summed) and (correct, labelled) counts."""
    inside = iter(calls)
    outputs = tensors_in(output, limit=MAX_OUTPUT_TENSORS)
    per_sample: torch.Tensor | None = None
    hits: tuple[float, int] | None = None
    for term in item.terms:
        given = _term_input(term, outputs, inside)
        if given is None:
            return None, None
        values = getattr(F, term.name)(given, term.target, reduction="none", **term.kwargs)
        rows = sample_losses(values, term)
        if per_sample is not None and per_sample.shape != rows.shape:
            return None, None
        per_sample = rows.float() if per_sample is None else per_sample + rows.float()
        if hits is None:
            hits = _hits(term, given)
    return per_sample, hits


def sample_losses(values: torch.Tensor, term: LossTerm) -> torch.Tensor:
    """A term's element-wise loss as one number per sample: summed over the non-batch dimensions.
    Where the targets are flattened tokens, the positions the loss ignores (padding) are no
    sample: counting their zeros would lower the mean with the padding's share."""
    rows = values.reshape(values.shape[0], -1).sum(1) if values.dim() else values.reshape(1)
    target = term.target
    if term.name in CLASS_SCORE_LOSSES and target.dim() == 1 and not target.is_floating_point():
        rows = rows[target != ignored_target(term.kwargs)]
    return rows


def _term_input(term: LossTerm, outputs: list[torch.Tensor], inside: Any) -> torch.Tensor | None:
    if term.inside:
        call = next(inside, None)
        return call.input if call is not None and call.name == term.name else None
    if term.output_index >= len(outputs):
        return None
    try:
        tensor = _kept(outputs[term.output_index], term.dropped)
        if term.log_softmax_dim is not None:
            tensor = F.log_softmax(tensor, dim=term.log_softmax_dim)
        return tensor.reshape(-1, *term.trailing)
    except (RuntimeError, IndexError):
        return None


def _hits(term: LossTerm, given: torch.Tensor) -> tuple[float, int] | None:
    """Correct predictions and labelled rows, for a classification term."""
    target = term.target
    if term.name in CLASS_SCORE_LOSSES and given.dim() >= 2 and not target.is_floating_point():
        keep = target != ignored_target(term.kwargs)
        predicted = given.argmax(1)
        if predicted.shape != target.shape:
            return None
        return float((predicted == target)[keep].sum()), int(keep.sum())
    if term.name in BINARY_LOSSES and given.shape == target.shape:
        threshold = 0.0 if term.name.endswith("logits") else 0.5
        predicted = (given > threshold).to(target.dtype)
        return float((predicted == target).sum()), int(target.numel())
    return None
