"""What task the probe batches pose, and the loss a model that learned nothing from its inputs
would score on them: the chance level the fit is judged against.

The task is read from the loss and its targets, never from names: class indices under a class-score
loss are a classification, unless they are the model's own integer inputs shifted by one position
(next-token prediction: a language model); targets shaped like an input and equal to it, under a
regression loss, are a reconstruction; other real-valued targets a regression; 0/1 targets under
a binary loss a binary classification. Chance is the loss of the best constant prediction, fitted
on the training targets (the class frequencies, the mean target, the mean image: of the rows
sampled from the whole training set where there are some, since the first batches of an ordered
set hold one class) and scored by the script's own loss function on each probe set, per sample in
the probes' units.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from diagnose.probes.base import LossCall, ignored_target
from diagnose.probes.probeset import LossTerm, ProbeItem, element_losses, sample_losses
from diagnose.probes.sections import TaskInfo
from diagnose.probes.tokens import TOKEN_MATCH, best_shares, token_shares
from diagnose.vocabulary import BINARY_LOSSES, CLASS_SCORE_LOSSES, REGRESSION_LOSSES

SMOOTHING = 1e-6  # for a class the training probe never shows: a guesser gives it a sliver


def describe_task(items: dict[str, list[ProbeItem]]) -> TaskInfo:
    train = items.get("train") or []
    if not train or not train[0].terms:
        return TaskInfo()
    term = train[0].terms[0]
    copies, following = _token_matches(train[0], term)
    kind = _kind(term, train[0], following)
    fitted_on = items.get("sampled") or train
    chance = {
        name: value
        for name, probe in items.items()
        if probe and (value := _chance(term, fitted_on, probe)) is not None
    }
    majority = (
        {name: share for name, probe in items.items() if probe and (share := _majority(probe))}
        if kind in ("classification", "binary")
        else {}
    )
    classes = term.trailing[0] if term.name in CLASS_SCORE_LOSSES and term.trailing else None
    feature = _copied_feature(train[0], term)
    return TaskInfo(
        kind=kind,
        loss=term.name,
        classes=classes,
        chance={k: round(v, 6) for k, v in chance.items()},
        majority={k: round(v, 4) for k, v in majority.items()},
        copies_input=copies,
        next_input=following,
        copied_feature=feature,
    )


def _kind(term: LossTerm, item: ProbeItem, following: float | None) -> str:
    target = term.target
    if term.name in CLASS_SCORE_LOSSES and not target.is_floating_point():
        return (
            "next_token" if following is not None and following >= TOKEN_MATCH else "classification"
        )
    if term.name in BINARY_LOSSES:
        return "binary"
    if term.name in REGRESSION_LOSSES:
        inputs = [t for t in _inputs(item) if t.shape == target.shape and t.is_floating_point()]
        same = any(torch.allclose(t.float(), target.float()) for t in inputs)
        return "reconstruction" if same else "regression"
    return ""


def _inputs(item: ProbeItem) -> list[torch.Tensor]:
    values = [*item.args, *item.kwargs.values()]
    return [v for v in values if isinstance(v, torch.Tensor)]


def _token_matches(item: ProbeItem, term: LossTerm) -> tuple[float | None, float | None]:
    """The shares of target positions equal to an integer sequence input at the same position
    and at the next one, for the input they match best (None: none lines up with the targets)."""
    ignore = ignored_target(term.kwargs)
    return best_shares(
        [token_shares(term.target, x, ignore) for x in _inputs(item) if x.dim() == 2]
    )


def _copied_feature(item: ProbeItem, term: LossTerm) -> int | None:
    """The column of a tabular input (rows, features) that equals a varying target in every row:
    the label is one of the model's inputs (a strongly predictive feature still disagrees
    somewhere)."""
    target = term.target.reshape(-1).float()
    for x in _inputs(item):
        if x.dim() != 2 or not x.is_floating_point() or x.shape[0] != target.numel():
            continue
        same = (x.float() == target.unsqueeze(1)).float().mean(0)
        best = int(same.argmax())
        if float(same[best]) == 1.0 and target.unique().numel() > 1:
            return best
    return None


def _chance(term: LossTerm, fitted_on: list[ProbeItem], probe: list[ProbeItem]) -> float | None:
    """Mean per-sample loss of the best constant prediction fitted on ``fitted_on``, on
    ``probe``."""
    make = _constant(term, [item.terms[0].target for item in fitted_on if item.terms])
    if make is None:
        return None
    total, count = 0.0, 0
    for item in probe:
        if not item.terms:
            continue
        sample = item.terms[0]
        prediction = make(sample.target)
        if prediction is None:
            return None
        values = getattr(F, sample.name)(
            prediction, sample.target, reduction="none", **sample.kwargs
        )
        rows = sample_losses(values, sample)
        total += float(rows.sum())
        count += rows.numel()
    return total / count if count else None


def _constant(term: LossTerm, targets: list[torch.Tensor]) -> Any:
    """A function from targets to the constant prediction for them (None: no chance level)."""
    if (
        not targets
        or term.kwargs.get("weight") is not None
        or term.kwargs.get("pos_weight") is not None
    ):
        return None
    if term.name in CLASS_SCORE_LOSSES and term.trailing:
        if targets[0].is_floating_point():
            return None  # class probabilities as targets: no class frequencies to count
        classes = term.trailing[0]
        ignore = ignored_target(term.kwargs)
        labels = torch.cat([t.reshape(-1) for t in targets])
        labels = labels[(labels != ignore) & (labels >= 0) & (labels < classes)]
        if not labels.numel():
            return None
        frequencies = torch.bincount(labels, minlength=classes).float() + SMOOTHING
        log_p = (frequencies / frequencies.sum()).log()

        def classes_of(target: torch.Tensor) -> torch.Tensor:
            shape = (target.shape[0], classes, *target.shape[1:])
            view = (1, classes) + (1,) * (target.dim() - 1)
            return log_p.reshape(view).expand(shape)

        return classes_of
    if term.name in BINARY_LOSSES or term.name in REGRESSION_LOSSES:
        stacked = torch.cat([t.float().reshape(t.shape[0], -1) for t in targets])
        centre = stacked.median(0).values if term.name == "l1_loss" else stacked.mean(0)
        if term.name == "binary_cross_entropy_with_logits":
            p = centre.clamp(SMOOTHING, 1 - SMOOTHING)
            centre = (p / (1 - p)).log()

        def centre_of(target: torch.Tensor) -> torch.Tensor | None:
            if target[0].numel() != centre.numel():
                return None
            return centre.reshape(target.shape[1:]).expand(target.shape).to(target.dtype)

        return centre_of
    return None


def _majority(probe: list[ProbeItem]) -> float | None:
    """The most frequent label's share: of the class indices, or of the 0/1 targets of a binary
    loss (each target at 0.5 or above counts as a 1, as the probe's accuracy scores it)."""
    labels = [item.terms[0].target.reshape(-1) for item in probe if item.terms]
    if not labels:
        return None
    flat = torch.cat(labels)
    if flat.is_floating_point():
        flat = (flat >= 0.5).long()
    flat = flat[flat >= 0]
    if not flat.numel():
        return None
    counts = torch.bincount(flat)
    return float(counts.max()) / float(counts.sum())


def looks_ahead(
    model: torch.nn.Module,
    item: ProbeItem,
    listen: Callable[[Callable[[LossCall], None] | None], None],
) -> bool | None:
    """Whether the model's output at a position depends on the inputs after it. A causal
    language model does not look ahead, so targets equal to its inputs at the same position are a
    copy it can read; a sequence autoencoder or a tagger reads the whole sequence, and reproducing
    its input can be its task. The integer sequence input's last column, then its last row, is
    changed and the loss at every earlier column (row) compared: whichever of the two is the
    sequence axis, a model that looks ahead shows it, and samples do not see each other. None: no
    such input, or no loss to compare. The caller provides the unseen setting (eval mode, no
    gradients)."""
    term = item.terms[0] if item.terms else None
    if term is None or term.target.is_floating_point():
        return None
    for position, x in enumerate(item.args):
        if not isinstance(x, torch.Tensor) or x.is_floating_point() or x.dim() != 2:
            continue
        rows, length = x.shape
        if min(rows, length) < 2 or term.target.numel() != rows * length:
            continue
        before = element_losses(model, item, item.args, listen)
        if before is None or before.numel() != rows * length:
            return None
        for axis in (1, 0):
            changed = x.clone()
            last = changed.select(axis, -1)
            last.copy_((last + 1) % (int(x.max()) + 1))
            args = (*item.args[:position], changed, *item.args[position + 1 :])
            after = element_losses(model, item, args, listen)
            if after is None or after.numel() != rows * length:
                return None
            old, new = (
                loss.reshape(rows, length).narrow(axis, 0, x.shape[axis] - 1)
                for loss in (before, after)
            )
            if not torch.allclose(old, new, rtol=1e-4, atol=1e-6):
                return True
        return False
    return None
