"""Detectors of evaluation bookkeeping: train/eval mode, and validation curves."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from diagnose.probes.sections import EvalPass, FitCheckpoint, FitSection
from diagnose.rules.detect_learning import chance_loss, summed_items
from diagnose.rules.findings import (
    Curve,
    Finding,
    Horizon,
    NotEvaluated,
    Params,
    View,
    detector,
    finite_values,
    late,
    median,
    observed,
    scaled,
)
from diagnose.rules.fit import PROBE_SETS, TRAINING_ROWS, Point, paired, series, still_falling
from diagnose.rules.fit import chance as fit_chance
from diagnose.vocabulary import REGRESSION_LOSSES

# Tasks scored by accuracy: a validation loss climbing there may only be confidence.
CLASSIFICATION_TASKS = ("classification", "binary")


def _mode_dependent(ev: View) -> list[str]:
    return observed(ev, "model").mode_dependent


class BackwardInEvalMode(Params):
    """What share of how many checked backward passes must run in eval mode for the mode to be
    left wrong, rather than off for a stray step."""

    min_fraction: float
    min_checks: int


@detector
def backward_in_eval_mode(ev: View, rule: BackwardInEvalMode) -> Finding:
    book = observed(ev, "bookkeeping")
    if book.backward_mode_checked < rule.min_checks:
        raise NotEvaluated(f"fewer than {rule.min_checks} backward passes")
    fraction = book.backward_in_eval_mode / book.backward_mode_checked
    layers = _mode_dependent(ev)
    if fraction < rule.min_fraction or not layers:
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


class ValidationInTrainMode(Params):
    """What share of the forward passes under ``no_grad`` must run in train mode for validation to
    be missing ``model.eval()``."""

    min_fraction: float


@detector
def validation_in_train_mode(ev: View, rule: ValidationInTrainMode) -> Finding:
    passes = observed(ev, "loss").eval_passes
    forwards = sum(p.forwards for p in passes)
    if not forwards:
        raise NotEvaluated("no forward pass without gradients (validation) was seen")
    in_train = sum(p.forwards_in_train_mode for p in passes)
    layers = _mode_dependent(ev)
    if in_train / forwards < rule.min_fraction or not layers:
        return Finding.no()
    return Finding.yes(
        in_train / forwards,
        f"{in_train} of {forwards} forward passes under torch.no_grad() ran in "
        f"train mode, with {', '.join(layers[:3])} active",
        where="eval_forward",
    )


def _val_passes(ev: View, min_passes: int) -> list[EvalPass]:
    """The validation passes that computed a finite loss, ``min_passes`` of them or more."""
    passes = [
        p for p in observed(ev, "loss").eval_passes if p.loss is not None and math.isfinite(p.loss)
    ]
    if len(passes) < min_passes:
        raise NotEvaluated(f"fewer than {min_passes} validation passes with a loss")
    return passes


def _val_curve(ev: View, min_passes: int) -> tuple[list[int], list[float]]:
    """Steps and losses of the validation passes that computed a finite loss."""
    return _curve_of(_val_passes(ev, min_passes))


def _curve_of(passes: list[EvalPass]) -> tuple[list[int], list[float]]:
    return [p.after_step for p in passes], [p.loss for p in passes if p.loss is not None]


def _train_loss_near(ev: View, step: int, points: int) -> float | None:
    """The training loss per item (as the validation passes are read) over the last ``points``
    logged steps up to ``step`` (sparse logs included), each step counted once at its best
    evaluation: an LBFGS line search tries worse points first."""
    loss = observed(ev, "loss")
    items = summed_items(loss)
    best: dict[int, float] = {}
    for at, value in zip(loss.steps, loss.values):
        if at <= step and math.isfinite(value):
            best[at] = min(value / items, best.get(at, math.inf))
    return median([best[at] for at in sorted(best)[-points:]])


class ValLossRising(Params):
    """How far the validation loss must climb back from its best pass, over how many passes after
    it (of how many in all), and over how many logged steps the training loss is read at the best
    pass and at the end; how many standard errors a classifier's validation accuracy must lose for
    the climb to cost generalization."""

    min_rise: float
    full_strength_rise: float
    min_passes: int
    after_best: int
    train_points: int
    spread: float


@dataclass(frozen=True)
class Scored:
    """A validation measurement with an accuracy: when, how accurate, on how many samples."""

    step: int
    accuracy: float
    samples: int


def _scored(ev: View, passes: list[EvalPass]) -> list[Scored]:
    """A classifier's validation accuracies: the script's own passes when each was scored, else
    the fit probe's validation batches (eval mode, fixed rows). None for a task the probe read as
    other than classification: a language model's token accuracy is not what it learns."""
    fit = ev.observe.fit
    if fit is not None and fit.task.kind and fit.task.kind not in CLASSIFICATION_TASKS:
        return []
    if all(p.accuracy is not None and p.samples > 0 for p in passes):
        return [Scored(p.after_step, p.accuracy or 0.0, p.samples) for p in passes]
    samples = fit.samples.get("val", 0) if fit is not None else 0
    points = series(fit, "val")
    if not samples or any(p.accuracy is None for p in points):
        return []
    return [Scored(p.step, p.accuracy or 0.0, samples) for p in points]


def accuracy_since(
    scored: list[Scored], best_step: int, recent: int
) -> tuple[float, float, int] | None:
    """Validation accuracy at its best by ``best_step``, where it ended (the median of the last
    ``recent``, all after ``best_step``) and on how many samples; None when the scores do not
    reach both sides of ``best_step``."""
    before = [s.accuracy for s in scored if s.step <= best_step]
    after = scored[-recent:]
    if not before or not after or after[0].step <= best_step:
        return None
    return max(before), statistics.median(s.accuracy for s in after), min(s.samples for s in after)


def standard_error(accuracy: float, samples: int) -> float:
    """The standard error of an accuracy scored on ``samples`` samples (0 without samples)."""
    return math.sqrt(accuracy * (1 - accuracy) / samples) if samples > 0 else 0.0


def fell(best: float, ended: float, samples: int, spread: float) -> bool:
    """An accuracy fell from ``best`` to ``ended`` by more than ``spread`` standard errors of the
    difference of two scores on ``samples`` samples each."""
    return best - ended > spread * math.sqrt(2) * standard_error((best + ended) / 2, samples)


@detector
def val_loss_rising(ev: View, rule: ValLossRising) -> Finding:
    """Validation loss rising after its best pass while the training loss keeps falling. A
    classifier's loss also climbs when it grows more confident on the few rows it gets wrong: that
    costs nothing while its validation accuracy holds, so for a classifier the accuracy must fall
    too, beyond what its validation samples can tell."""
    passes = _val_passes(ev, rule.min_passes)
    steps, losses = _curve_of(passes)
    best = min(range(len(losses)), key=losses.__getitem__)
    recent = statistics.median(losses[-rule.after_best :])
    rise = recent / losses[best] - 1 if losses[best] > 0 else 0.0
    if len(losses) - 1 - best < rule.after_best or rise < rule.min_rise:
        return Finding.no(f"validation loss {losses[best]:.4g} at best, {losses[-1]:.4g} last")
    train_then, train_now = (
        _train_loss_near(ev, step, rule.train_points) for step in (steps[best], steps[-1])
    )
    if train_then is None or train_now is None:
        return Finding.no(
            "the validation loss rose, but no finite training loss was logged by step "
            f"{steps[best]}"
        )
    if train_now > train_then:
        return Finding.no(
            "the validation loss rose, but so did the training loss (not overfitting)"
        )
    rose = (
        f"the validation loss bottomed at {losses[best]:.4g} (step {steps[best]}) and rose to "
        f"{recent:.4g} while the training loss fell from {train_then:.3g} to {train_now:.3g}"
    )
    accuracy = accuracy_since(_scored(ev, passes), steps[best], rule.after_best)
    if accuracy is not None:
        best_accuracy, ended, samples = accuracy
        if not fell(best_accuracy, ended, samples, rule.spread):
            return Finding.no(
                f"{rose}, but the validation accuracy held ({best_accuracy:.1%} at best, "
                f"{ended:.1%} at the end, on {samples} samples): the model grew more confident, "
                "it did not generalize worse"
            )
        rose += f", and the validation accuracy fell from {best_accuracy:.1%} to {ended:.1%} "
        rose += f"({samples} samples)"
    return Finding.yes(scaled(rise, rule.min_rise, rule.full_strength_rise), rose)


class GeneralizationGap(Curve):
    """What share of chance the validation side must fall short of the training side at the end
    to show memorization, and where that is beyond doubt; how many standard errors of the
    validation accuracy a classifier's accuracy gap must exceed. The training curve is read as the
    shared set ``curve`` says (where it ended); memorization needs a fit, the training side
    ``min_fit`` of the way from a guess to perfect."""

    min_share: float
    full_strength_share: float
    min_fit: float
    min_passes: int
    spread: float


def _training_and_val(
    ev: View, min_points: int
) -> tuple[str, list[tuple[FitCheckpoint, float, float]]] | None:
    """The training-side probe set measured beside the validation probe at ``min_points``
    checkpoints or more, with those checkpoints: rows sampled from the whole training set first,
    since the first batches of an ordered set are not the set."""
    for name in TRAINING_ROWS:
        pairs = paired(ev.observe.fit, name, "val")
        if len(pairs) >= min_points:
            return name, pairs
    return None


@detector
def generalization_gap(ev: View, rule: GeneralizationGap) -> Finding:
    """Validation far behind training at the end: memorization. The gap is read against chance,
    what a model that learned nothing scores, since a ratio of two losses near zero is no measure
    (0.15 against 0.002 is 75x on a model right 97 times in 100 on validation). With the fit
    probe, both sides are the model on fixed batches in eval mode, per sample; a classifier is
    judged on its accuracies, since a confident model's validation loss climbs on the few rows it
    gets wrong while it generalizes as well as ever. From the curves alone (a train-mode running
    loss, in the script's units), the gap is read against where training started."""
    probe = _training_and_val(ev, rule.min_passes)
    if probe is not None and ev.observe.fit is not None:
        return _probe_gap(ev.observe.fit, *probe, rule)
    _, losses = _val_curve(ev, rule.min_passes)
    loss = observed(ev, "loss")
    items = summed_items(loss)  # the validation passes are read per item
    train = [value / items for value in finite_values(loss.values)]
    if len(train) < rule.min_values:
        raise NotEvaluated(f"fewer than {rule.min_values} finite training loss values")
    start, train_late, val_late = train[0], late(train, rule), losses[-1]
    if start <= 0 or not 0 <= train_late <= (1 - rule.min_fit) * start:
        return Finding.no(
            f"the training loss went from {start:.3g} to {train_late:.3g}: too little fit to "
            "memorize anything"
        )
    return _gap(
        (val_late - train_late) / start,
        rule,
        f"the training loss fell from {start:.3g} to {train_late:.3g} but the validation loss is "
        f"{val_late:.3g}",
        f"of the way back to where training started ({start:.3g})",
    )


def _gap(share: float, rule: GeneralizationGap, measured: str, unit: str) -> Finding:
    """The finding for a gap that is ``share`` of its ``unit``, as ``measured`` says."""
    if share < rule.min_share:
        return Finding.no(f"{measured}: a gap of {share:.0%} {unit}")
    return Finding.yes(
        scaled(share, rule.min_share, rule.full_strength_share),
        f"{measured}: a gap of {share:.0%} {unit}, the model memorizes the training set",
    )


def _probe_gap(
    fit: FitSection,
    name: str,
    pairs: list[tuple[FitCheckpoint, float, float]],
    rule: GeneralizationGap,
) -> Finding:
    """The gap on the probe batches at the last checkpoint: in accuracy against the majority
    class's error for a classifier, else in loss against a constant prediction's."""
    checkpoint, train_late, val_late = pairs[-1]
    train_accuracy = getattr(checkpoint, f"{name}_accuracy")
    val_accuracy, top = checkpoint.val_accuracy, fit.task.majority.get("val")
    samples = fit.samples.get("val", 0)
    where = f"on fixed probe batches in eval mode {PROBE_SETS[name]}"
    if (
        fit.task.kind in CLASSIFICATION_TASKS
        and train_accuracy is not None
        and val_accuracy is not None
        and top is not None
        and top < 1
        and samples
    ):
        guess = 1 - top
        if 1 - train_accuracy > (1 - rule.min_fit) * guess:
            return Finding.no(
                f"{where} score {train_accuracy:.1%}, a guess {top:.1%}: too little fit to "
                "memorize anything"
            )
        noise = rule.spread * standard_error(val_accuracy, samples)
        if train_accuracy - val_accuracy <= noise:
            return Finding.no(
                f"{where} score {train_accuracy:.1%}, the validation batches {val_accuracy:.1%}: "
                f"within what {samples} samples can tell"
            )
        return _gap(
            (train_accuracy - val_accuracy) / guess,
            rule,
            f"{where} score {train_accuracy:.1%} but the validation batches {val_accuracy:.1%} "
            f"({samples} samples)",
            f"of a guess's error ({guess:.1%})",
        )
    chance = fit_chance(fit, "val")
    if chance is None:
        raise NotEvaluated("no chance level for this task's validation probe")
    if not 0 <= train_late <= (1 - rule.min_fit) * chance:
        return Finding.no(
            f"{where} have {train_late:.3g} per sample, a constant prediction {chance:.3g}: too "
            "little fit to memorize anything"
        )
    return _gap(
        (val_late - train_late) / chance,
        rule,
        f"{where} have {train_late:.3g} per sample but the validation batches {val_late:.3g}",
        f"of a constant prediction's loss ({chance:.3g})",
    )


class ValAtChance(Curve, Horizon):
    """How far above chance validation must score, on how many passes, read over how many of the
    last ones; how close a loss must be to ln(1/accuracy) to show uniform predictions. A
    regression's chance loss is read as the shared set ``curve`` says; a validation probe loss
    still falling as the shared set ``horizon`` says is learning that carries."""

    margin: float
    min_passes: int
    spread: float
    recent_passes: int
    uniform_tolerance: float


@detector
def val_at_chance(ev: View, rule: ValAtChance) -> Finding:
    """Validation closes less than ``margin`` of the gap from chance to perfect, or stays within
    ``spread`` standard errors of chance on a validation set this small: its accuracy is what
    guessing scores (the majority class's share when the training labels were seen, else 1/C;
    from a log alone, a validation loss equal to -ln(accuracy) says the model predicts a uniform
    distribution and is right 1 time in C). On 50 samples a guesser at 40 % scores 47 % or more
    one time in six, so a few points above chance there prove nothing. Without accuracies (a
    regression), its loss stays at the loss of a constant prediction. A classifier's loss is not
    read that way: overconfident mistakes lift it above chance while the accuracy stays well above
    chance. With the fit probe, the validation probe batches are read (in eval mode, per sample),
    and the task decides the measure: accuracy against the most frequent class's share for a
    classifier, the loss against a constant prediction's for next-token prediction (where the top
    character's share says nothing of learning), a regression or a reconstruction."""
    probed = series(ev.observe.fit, "val")
    if len(probed) >= rule.min_passes and ev.observe.fit is not None:
        return _val_probe_at_chance(ev.observe.fit, probed, rule)
    scored = [p for p in observed(ev, "loss").eval_passes if p.accuracy is not None]
    if len(scored) < rule.min_passes:
        return _val_loss_at_chance(ev, rule)
    recent = scored[-rule.recent_passes :]
    accuracy = statistics.median([p.accuracy for p in recent])
    chance, basis = _chance_accuracy(ev, scored[-1].loss, accuracy, rule.uniform_tolerance)
    if chance is None:
        return Finding.no(f"validation accuracy {accuracy:.1%}")
    samples = min(p.samples for p in recent)
    noise = rule.spread * standard_error(chance, samples)
    if accuracy > chance + max(rule.margin * (1 - chance), noise):
        return Finding.no(f"validation accuracy {accuracy:.1%}, chance {chance:.1%}")
    return Finding.yes(
        1.0,
        f"validation accuracy stays at {accuracy:.1%}, the chance level ({chance:.1%}, {basis}) "
        f"within what {samples} validation samples can tell: the model has learned nothing "
        "that carries to validation",
    )


def _val_probe_at_chance(fit: FitSection, probed: list[Point], rule: ValAtChance) -> Finding:
    recent = probed[-rule.recent_passes :]
    samples = fit.samples.get("val", 0)
    accuracies = [p.accuracy for p in recent if p.accuracy is not None]
    top = fit.task.majority.get("val")
    if fit.task.kind in CLASSIFICATION_TASKS and top is not None and len(accuracies) == len(recent):
        accuracy = statistics.median(accuracies)
        noise = rule.spread * standard_error(top, samples)
        if accuracy > top + max(rule.margin * (1 - top), noise):
            return Finding.no(f"validation probe accuracy {accuracy:.1%}, chance {top:.1%}")
        return Finding.yes(
            1.0,
            f"on the validation probe batches ({samples} samples, eval mode) the accuracy stays at "
            f"{accuracy:.1%}, the chance level (the most frequent class's share, {top:.1%}) within "
            f"what {samples} samples can tell: the model has learned nothing that carries to "
            "validation",
        )
    chance = fit_chance(fit, "val")
    if chance is None:
        raise NotEvaluated("no chance level for this task's validation probe")
    loss = statistics.median([p.loss for p in recent])
    if loss < (1 - rule.margin) * chance:
        return Finding.no(f"validation probe loss {loss:.4g} per sample, chance {chance:.4g}")
    if still_falling(probed, rule.late_start, rule.min_late_fall):
        return Finding.no(
            f"validation probe loss {loss:.4g} per sample near chance {chance:.4g} but still "
            "falling: what is learned carries, not yet past chance"
        )
    return Finding.yes(
        1.0,
        f"on the validation probe batches ({samples} samples, eval mode) the loss stays at "
        f"{loss:.4g} per sample, not {rule.margin:.0%} below a constant prediction's "
        f"({chance:.4g}), and no longer falls: nothing learned carries to validation",
    )


def _val_loss_at_chance(ev: View, rule: ValAtChance) -> Finding:
    """A regression's validation loss, in the training loss's own function, no lower than
    ``1 - margin`` of the loss of predicting the target mean."""
    loss = observed(ev, "loss")
    if loss.kind not in REGRESSION_LOSSES:
        raise NotEvaluated(f"fewer than {rule.min_passes} validation passes with an accuracy")
    values = finite_values([p.loss for p in loss.eval_passes if p.kind == loss.kind])
    if len(values) < rule.min_passes:
        raise NotEvaluated(f"fewer than {rule.min_passes} validation passes with a {loss.kind}")
    chance, recent = chance_loss(ev, rule), statistics.median(values[-rule.recent_passes :])
    if recent < (1 - rule.margin) * chance:
        return Finding.no(f"validation {loss.kind} {recent:.4g}, constant prediction {chance:.4g}")
    return Finding.yes(
        1.0,
        f"the validation loss stays at {recent:.4g}, no lower than the loss of a model that "
        f"learned nothing ({chance:.4g}): nothing learned carries to validation",
    )


def _chance_accuracy(
    ev: View, val_loss: float | None, accuracy: float, tolerance: float
) -> tuple[float | None, str]:
    """What guessing scores, and how that is known: the majority class's share, 1/C, or (from a
    log alone) the accuracy itself when the loss is that of uniform predictions, within
    ``tolerance`` of ln(1/accuracy)."""
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    if counts and sum(counts.values()):
        return max(counts.values()) / sum(counts.values()), "the majority class's share"
    classes = ev.observe.loss.n_classes if ev.observe.loss else None
    if classes and classes >= 2:
        return 1.0 / classes, f"1/{classes} classes"
    if val_loss is not None and math.isfinite(val_loss) and 0 < accuracy < 1:
        uniform = -math.log(accuracy)
        if abs(val_loss - uniform) <= tolerance * uniform:
            return (
                accuracy,
                f"the validation loss {val_loss:.4g} ≈ ln(1/accuracy): uniform predictions",
            )
    return None, ""


class TrainFitsWorseThanVal(Params):
    """How much worse, in loss or accuracy, the late training fit must be than validation's best,
    and where that is beyond doubt; which logged steps and sampled accuracies count as late."""

    min_ratio: float
    full_strength_ratio: float
    min_accuracy_gap: float
    full_strength_gap: float
    min_passes: int
    train_points: int
    train_share: float
    accuracy_since: float
    min_accuracy_samples: int
    min_chance_share: float


@detector
def train_fits_worse_than_val(ev: View, rule: TrainFitsWorseThanVal) -> Finding:
    """Late in the run the model fits its training data clearly worse than it fitted held-out data
    at its best validation pass. A model fits what it trains on at least as well as what it never
    saw, unless the training targets hold something it cannot fit: wrong labels (or training-only
    regularization such as heavy dropout, which the rules weigh separately). Comparing with the best
    pass keeps the signal when the model starts memorizing the wrong labels and validation
    worsens. With the fit probe both sides are fixed batches measured in eval mode, per sample:
    dropout, augmentation and a per-batch sum against a per-sample mean no longer read as wrong
    labels."""
    probe = _training_and_val(ev, rule.min_passes)
    if probe is not None:
        return _probe_fits_worse(*probe, fit_chance(ev.observe.fit, probe[0]), rule)
    steps, losses = _val_curve(ev, rule.min_passes)
    logged = len(set(observed(ev, "loss").steps))
    points = max(1, min(rule.train_points, int(logged * rule.train_share)))
    train, best = _train_loss_near(ev, steps[-1], points), min(losses)
    if train is None or best <= 0:
        raise NotEvaluated("no training loss near the last validation pass")
    ratio = train / best
    accuracies = _late_accuracies(ev, rule)
    accuracy_gap = accuracies[0] - accuracies[1] if accuracies else None
    strength = _worse_beyond_doubt(ratio, accuracy_gap, rule)
    if strength is None:
        return Finding.no(f"training loss {train:.3g}, best validation loss {best:.3g}")
    gap = (
        f"; the best validation accuracy is {accuracies[0]:.0%} against {accuracies[1]:.0%} in "
        "training"
        if accuracies and accuracies[0] > accuracies[1]
        else ""
    )
    return Finding.yes(
        strength,
        f"late in training the training loss is {train:.3g} against {best:.3g} on validation data "
        f"at its best ({ratio:.2g}x){gap}: the training targets hold what the model cannot fit",
    )


def _worse_beyond_doubt(
    ratio: float, accuracy_gap: float | None, rule: TrainFitsWorseThanVal
) -> float | None:
    """The finding's strength when the training side fits worse past the rule's thresholds, in
    loss or in accuracy (None when it does not). Strength grows from parity (no gap) rather than
    from the thresholds: a gap past them is already telling."""
    if ratio < rule.min_ratio and (accuracy_gap is None or accuracy_gap < rule.min_accuracy_gap):
        return None
    return max(
        scaled(ratio, 1.0, rule.full_strength_ratio),
        scaled(accuracy_gap or 0, 0.0, rule.full_strength_gap),
    )


def _probe_fits_worse(
    name: str,
    pairs: list[tuple[FitCheckpoint, float, float]],
    chance: float | None,
    rule: TrainFitsWorseThanVal,
) -> Finding:
    """The training rows' loss (and accuracy) against the validation probe's at the checkpoint
    where validation was best: the same weights on both sides, so a run that diverges later (both
    sides worsen) or memorizes later (the training side improves) cannot fake a gap."""
    checkpoint, train, best = min(pairs, key=lambda pair: pair[2])
    if best <= 0:
        raise NotEvaluated("the validation probe loss reached 0: no ratio to it can be read")
    ratio = train / best
    if chance is not None and train < rule.min_chance_share * chance:
        return Finding.no(
            f"{PROBE_SETS[name]} have {train:.3g} per sample at the best validation probe loss "
            f"({best:.3g}, step {checkpoint.step}), {train / chance:.1%} of a constant "
            f"prediction's ({chance:.3g}): what is left unfit is the targets' own noise"
        )
    train_accuracy = getattr(checkpoint, f"{name}_accuracy")
    val_accuracy = checkpoint.val_accuracy
    gap = (
        val_accuracy - train_accuracy
        if train_accuracy is not None and val_accuracy is not None
        else None
    )
    strength = _worse_beyond_doubt(ratio, gap, rule)
    if strength is None:
        return Finding.no(
            f"at the best validation probe loss ({best:.3g}, step {checkpoint.step}) "
            f"{PROBE_SETS[name]} have {train:.3g} per sample"
        )
    shown = (
        f"; accuracy {val_accuracy:.0%} on the validation batches against {train_accuracy:.0%} "
        f"on {PROBE_SETS[name]}"
        if gap is not None and gap > 0 and val_accuracy is not None and train_accuracy is not None
        else ""
    )
    return Finding.yes(
        strength,
        f"on fixed probe batches in eval mode, at step {checkpoint.step}, where the validation "
        f"batches' loss was lowest ({best:.3g} per sample), {PROBE_SETS[name]} have {train:.3g} "
        f"per sample ({ratio:.2g}x){shown}: the training targets hold what the model cannot fit",
    )


def _late_accuracies(ev: View, rule: TrainFitsWorseThanVal) -> tuple[float, float] | None:
    """The best validation accuracy and the training accuracy over the last stretch of the run
    (from ``accuracy_since`` of its last sampled step: training accuracy is sampled sparsely once
    the first steps are past), when both were measured."""
    loss = observed(ev, "loss")
    passes = [p.accuracy for p in loss.eval_passes if p.accuracy is not None]
    if not passes or not loss.train_accuracy_steps:
        return None
    since = rule.accuracy_since * loss.train_accuracy_steps[-1]
    recent = [a for a, step in zip(loss.train_accuracy, loss.train_accuracy_steps) if step >= since]
    if len(recent) < rule.min_accuracy_samples:
        return None
    return max(passes), statistics.median(recent)
