"""Detectors of evaluation bookkeeping: train/eval mode, and validation curves."""

from __future__ import annotations

import math
import statistics

from diagnose.evidence import Evidence
from diagnose.probes.sections import REGRESSION_LOSSES
from diagnose.rules.detect_learning import chance_loss
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    detector,
    finite_values,
    median,
    observed,
    scaled,
    window,
)


def _mode_dependent(ev: Evidence) -> list[str]:
    return observed(ev, "model").mode_dependent


@detector
def backward_in_eval_mode(ev: Evidence, min_fraction: float = 0.5, min_checks: int = 5) -> Finding:
    book = observed(ev, "bookkeeping")
    if book.backward_mode_checked < min_checks:
        raise NotEvaluated(f"fewer than {min_checks} backward passes")
    fraction = book.backward_in_eval_mode / book.backward_mode_checked
    layers = _mode_dependent(ev)
    if fraction < min_fraction or not layers:
        return Finding.no(
            f"{fraction:.0%} of training steps in eval mode"
            + ("" if layers else " (no dropout/batchnorm, so the mode does not matter)")
        )
    return Finding.yes(
        fraction,
        f"{book.backward_in_eval_mode} of {book.backward_mode_checked} training steps "
        f"ran with the model in eval mode (model.eval() was called {book.eval_calls} "
        f"times, model.train() {book.train_calls}); it has {', '.join(layers[:3])}",
        where="eval",
    )


@detector
def validation_in_train_mode(ev: Evidence, min_fraction: float = 0.5) -> Finding:
    passes = observed(ev, "loss").eval_passes
    forwards = sum(p.forwards for p in passes)
    if not forwards:
        raise NotEvaluated("no forward pass without gradients (validation) was seen")
    in_train = sum(p.forwards_in_train_mode for p in passes)
    layers = _mode_dependent(ev)
    if in_train / forwards < min_fraction or not layers:
        return Finding.no()
    return Finding.yes(
        in_train / forwards,
        f"{in_train} of {forwards} forward passes under torch.no_grad() ran in "
        f"train mode, with {', '.join(layers[:3])} active",
        where="eval_forward",
    )


def _val_curve(ev: Evidence, min_passes: int) -> tuple[list[int], list[float]]:
    """Steps and losses of the validation passes that computed a finite loss."""
    passes = [
        p for p in observed(ev, "loss").eval_passes if p.loss is not None and math.isfinite(p.loss)
    ]
    if len(passes) < min_passes:
        raise NotEvaluated(f"fewer than {min_passes} validation passes with a loss")
    return [p.after_step for p in passes], [p.loss for p in passes]


def _train_loss_near(ev: Evidence, step: int, points: int = 10) -> float | None:
    """The training loss over the last ``points`` logged steps up to ``step`` (sparse logs
    included), each step counted once at its best evaluation: an LBFGS line search tries worse
    points first."""
    loss = observed(ev, "loss")
    best: dict[int, float] = {}
    for at, value in zip(loss.steps, loss.values):
        if at <= step and math.isfinite(value):
            best[at] = min(value, best.get(at, math.inf))
    return median([best[at] for at in sorted(best)[-points:]])


@detector
def val_loss_rising(
    ev: Evidence, min_rise: float = 0.05, min_passes: int = 4, after_best: int = 2
) -> Finding:
    """Validation loss rising after its best pass while the training loss keeps falling."""
    steps, losses = _val_curve(ev, min_passes)
    best = min(range(len(losses)), key=losses.__getitem__)
    recent = statistics.median(losses[-after_best:])
    rise = recent / losses[best] - 1 if losses[best] > 0 else 0.0
    if len(losses) - 1 - best < after_best or rise < min_rise:
        return Finding.no(f"validation loss {losses[best]:.4g} at best, {losses[-1]:.4g} last")
    train_then, train_now = _train_loss_near(ev, steps[best]), _train_loss_near(ev, steps[-1])
    if train_then is None or train_now is None or train_now > train_then:
        return Finding.no(
            "the validation loss rose, but so did the training loss (not overfitting)"
        )
    return Finding.yes(
        scaled(rise, min_rise, 0.5),
        f"the validation loss bottomed at {losses[best]:.4g} "
        f"(step {steps[best]}) and rose to {recent:.4g} while the "
        f"training loss fell from {train_then:.3g} to {train_now:.3g}",
    )


@detector
def generalization_gap(ev: Evidence, min_ratio: float = 5.0, min_passes: int = 2) -> Finding:
    _, losses = _val_curve(ev, min_passes)
    train = finite_values(observed(ev, "loss").values)
    if len(train) < 10:
        raise NotEvaluated("fewer than 10 finite training loss values")
    train_late, val_late = statistics.median(window(train, 0.8, 1.0)), losses[-1]
    if train_late <= 0 or val_late / train_late < min_ratio:
        return Finding.no(
            f"validation/training loss ratio {val_late / train_late if train_late > 0 else 0:.3g}"
        )
    return Finding.yes(
        scaled(val_late / train_late, min_ratio, 100),
        f"the training loss is {train_late:.3g} but the validation loss {val_late:.3g} "
        f"({val_late / train_late:.3g}x): the model memorizes the training set",
    )


@detector
def val_at_chance(
    ev: Evidence, margin: float = 0.1, min_passes: int = 2, spread: float = 2.0
) -> Finding:
    """Validation closes less than ``margin`` of the gap from chance to perfect, or stays within
    ``spread`` standard errors of chance on a validation set this small: its accuracy is what
    guessing scores (the majority class's share when the training labels were seen, else 1/C;
    from a log alone, a validation loss equal to -ln(accuracy) says the model predicts a uniform
    distribution and is right 1 time in C). On 50 samples a guesser at 40 % scores 47 % or more
    one time in six, so a few points above chance there prove nothing. Without accuracies (a
    regression), its loss stays at the loss of a constant prediction. A classifier's loss is not
    read that way: overconfident mistakes lift it above chance while the accuracy stays well above
    chance."""
    scored = [p for p in observed(ev, "loss").eval_passes if p.accuracy is not None]
    if len(scored) < min_passes:
        return _val_loss_at_chance(ev, margin, min_passes)
    accuracy = statistics.median([p.accuracy for p in scored[-3:]])
    chance, basis = _chance_accuracy(ev, scored[-1].loss, accuracy)
    if chance is None:
        return Finding.no(f"validation accuracy {accuracy:.1%}")
    samples = min(p.samples for p in scored[-3:])
    noise = spread * math.sqrt(chance * (1 - chance) / samples) if samples > 0 else 0.0
    if accuracy > chance + max(margin * (1 - chance), noise):
        return Finding.no(f"validation accuracy {accuracy:.1%}, chance {chance:.1%}")
    return Finding.yes(
        1.0,
        f"validation accuracy stays at {accuracy:.1%}, the chance level ({chance:.1%}, {basis}) "
        f"within what {samples} validation samples can tell: the model has learned nothing "
        "that carries to validation",
    )


def _val_loss_at_chance(ev: Evidence, margin: float, min_passes: int) -> Finding:
    """A regression's validation loss, in the training loss's own function, no lower than
    ``1 - margin`` of the loss of predicting the target mean."""
    loss = observed(ev, "loss")
    if loss.kind not in REGRESSION_LOSSES:
        raise NotEvaluated(f"fewer than {min_passes} validation passes with an accuracy")
    values = finite_values([p.loss for p in loss.eval_passes if p.kind == loss.kind])
    if len(values) < min_passes:
        raise NotEvaluated(f"fewer than {min_passes} validation passes with a {loss.kind}")
    chance, late = chance_loss(ev), statistics.median(values[-3:])
    if late < (1 - margin) * chance:
        return Finding.no(f"validation {loss.kind} {late:.4g}, constant prediction {chance:.4g}")
    return Finding.yes(
        1.0,
        f"the validation loss stays at {late:.4g}, no lower than the loss of a model that learned "
        f"nothing ({chance:.4g}): nothing learned carries to validation",
    )


def _chance_accuracy(
    ev: Evidence, val_loss: float | None, accuracy: float
) -> tuple[float | None, str]:
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    if counts and sum(counts.values()):
        return max(counts.values()) / sum(counts.values()), "the majority class's share"
    classes = ev.observe.loss.n_classes if ev.observe.loss else None
    if classes and classes >= 2:
        return 1.0 / classes, f"1/{classes} classes"
    if val_loss is not None and math.isfinite(val_loss) and 0 < accuracy < 1:
        uniform = -math.log(accuracy)
        if abs(val_loss - uniform) <= 0.1 * uniform:
            return (
                accuracy,
                f"the validation loss {val_loss:.4g} ≈ ln(1/accuracy): uniform predictions",
            )
    return None, ""


@detector
def train_fits_worse_than_val(
    ev: Evidence, min_ratio: float = 2.0, min_accuracy_gap: float = 0.1, min_passes: int = 2
) -> Finding:
    """Late in the run the model fits its training data clearly worse than it fitted held-out data
    at its best validation pass. A model fits what it trains on at least as well as what it never
    saw, unless the training targets hold something it cannot fit: wrong labels (or training-only
    regularization such as heavy dropout, which the rules weigh separately). Comparing with the best
    pass keeps the signal when the model starts memorizing the wrong labels and validation
    worsens."""
    steps, losses = _val_curve(ev, min_passes)
    logged = len(set(observed(ev, "loss").steps))
    train, best = (
        _train_loss_near(ev, steps[-1], points=max(1, min(10, logged // 5))),
        min(losses),
    )  # the last fifth
    if train is None or best <= 0:
        raise NotEvaluated("no training loss near the last validation pass")
    ratio = train / best
    accuracy_gap = _accuracy_gap(ev)
    if ratio < min_ratio and (accuracy_gap is None or accuracy_gap < min_accuracy_gap):
        return Finding.no(f"training loss {train:.3g}, best validation loss {best:.3g}")
    gap = (
        f"; the best validation accuracy is {accuracy_gap:.0%} above the training accuracy"
        if accuracy_gap
        else ""
    )
    # Strength grows from parity (no gap) rather than from the thresholds: a gap past them is
    # already telling.
    return Finding.yes(
        max(
            scaled(ratio, 1.0, 1.5 * min_ratio),
            scaled(accuracy_gap or 0, 0.0, 3 * min_accuracy_gap),
        ),
        f"late in training the training loss is {train:.3g} against {best:.3g} on validation data "
        f"at its best ({ratio:.2g}x){gap}: the training targets hold what the model cannot fit",
    )


def _accuracy_gap(ev: Evidence, late: float = 0.6, points: int = 2) -> float | None:
    """The best validation accuracy minus the training accuracy over the last stretch of the run
    (training accuracy is sampled sparsely once the first steps are past), when both were
    measured."""
    loss = observed(ev, "loss")
    passes = [p.accuracy for p in loss.eval_passes if p.accuracy is not None]
    if not passes or not loss.train_accuracy_steps:
        return None
    since = late * loss.train_accuracy_steps[-1]
    recent = [a for a, step in zip(loss.train_accuracy, loss.train_accuracy_steps) if step >= since]
    return max(passes) - median(recent) if len(recent) >= points else None
