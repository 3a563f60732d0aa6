"""Detectors over replays: the LR range test, the overfit tests, the label and input controls."""

from __future__ import annotations

from typing import Literal

from diagnose.evidence import ObservedRun, ScenarioRun
from diagnose.rules.findings import (
    Curve,
    Finding,
    NotEvaluated,
    Params,
    View,
    detector,
    finite_values,
    late,
    mean,
    scaled,
)
from diagnose.rules.fit import series
from diagnose.rules.lr_range import lr_analysis


class LrAboveRange(Params):
    """How many decades above the range test's suggestion the script's LR must be, and where that
    is beyond doubt (an LR past the one where the loss diverged is, whatever the decades)."""

    min_decades: float
    full_strength_decades: float


@detector
def lr_above_range(ev: View, rule: LrAboveRange) -> Finding:
    lr = lr_analysis(ev)
    beyond = lr.divergence_lr is not None and lr.user_lr >= lr.divergence_lr
    if lr.decades_off < rule.min_decades and not beyond:
        return Finding.no(f"user LR {lr.user_lr:.3g}, suggested {lr.suggested_lr:.3g}")
    where = f", past the LR where the loss diverges ({lr.divergence_lr:.3g})" if beyond else ""
    return Finding.yes(
        1.0 if beyond else scaled(lr.decades_off, rule.min_decades, rule.full_strength_decades),
        f"the LR range test suggests {lr.suggested_lr:.3g}; the script uses {lr.user_lr:.3g} "
        f"({lr.decades_off:.1f} decades above{where})",
        where="optimizer",
    )


class LrBelowRange(Params):
    """How many decades below the range test's suggestion the script's LR must be, and where that
    is beyond doubt."""

    min_decades: float
    full_strength_decades: float


@detector
def lr_below_range(ev: View, rule: LrBelowRange) -> Finding:
    lr = lr_analysis(ev)
    if -lr.decades_off < rule.min_decades:
        return Finding.no(f"user LR {lr.user_lr:.3g}, suggested {lr.suggested_lr:.3g}")
    return Finding.yes(
        scaled(-lr.decades_off, rule.min_decades, rule.full_strength_decades),
        f"the LR range test suggests {lr.suggested_lr:.3g}; the script uses {lr.user_lr:.3g} "
        f"({-lr.decades_off:.1f} decades below)",
        where="optimizer",
    )


class OneBatchFit(Curve):
    """What fitting one batch means (shared set ``one_batch``), for the overfit replays and the
    label control alike: how far a replay's loss must fall from its first step to have memorized
    the batch (``fit_fraction``) or at least to learn from it (``learns_fraction``), the accuracy
    that is a memorized batch whatever the loss, and how many steps a replay needs to be read. Its
    curves are read as the shared set ``curve`` says (where a replay ended: its last stretch)."""

    fit_fraction: float
    learns_fraction: float
    fit_accuracy: float
    min_replay_steps: int


def _fits(
    losses: list[float], accuracies: list[float], fraction: float, rule: OneBatchFit
) -> tuple[bool, str]:
    """Whether a one-batch replay got its loss down to ``fraction`` of where it started (or its
    accuracy to ~100%), and the numbers that say so."""
    finite = finite_values(losses)
    if len(finite) < rule.min_replay_steps or len(finite) < len(losses) // 2:
        nonfinite = len(finite) < len(losses)
        return False, "the loss became NaN or infinite" if nonfinite else "too few steps"
    end = late(finite, rule)
    accuracy = late(accuracies, rule) if len(accuracies) >= rule.min_replay_steps else None
    fitted = end <= fraction * finite[0] or (accuracy is not None and accuracy >= rule.fit_accuracy)
    acc = f", accuracy {accuracy:.0%}" if accuracy is not None else ""
    return fitted, f"loss {finite[0]:.4g} → {end:.4g} on one fixed batch{acc}"


def _replay(ev: View, name: str) -> ScenarioRun:
    if name not in ev.scenarios:
        raise NotEvaluated(f"the {name} replay did not run")
    return ev.scenarios[name]


class OverfitLoop(OneBatchFit):
    """Whether the symptom is the script's loop fitting one batch or failing to."""

    expect: Literal["fits", "fails"]


def _one_batch_curve(replay: ScenarioRun, rule: OneBatchFit) -> tuple[list[float], list[float]]:
    """The fixed batch's loss and accuracy over the replay: measured by the fit probe in eval mode
    (dropout and batch-norm noise aside) when it has enough checkpoints, else the running loss."""
    probed = series(replay.fit, "train")
    if len(probed) >= rule.min_replay_steps:
        accuracies = [p.accuracy for p in probed if p.accuracy is not None]
        return [p.loss for p in probed], accuracies if len(accuracies) == len(probed) else []
    loss = replay.loss
    if loss is None or not loss.values:
        raise NotEvaluated("the overfit replay recorded no loss")
    return loss.values, loss.train_accuracy


@detector
def overfit_loop(ev: View, rule: OverfitLoop) -> Finding:
    """Whether the script's own loop memorizes one batch (replayed with dropout off), read on the
    batch itself in eval mode when the fit probe measured it."""
    losses, accuracies = _one_batch_curve(_replay(ev, "overfit_loop"), rule)
    fitted, detail = _fits(losses, accuracies, rule.fit_fraction, rule)
    if fitted == (rule.expect == "fits"):
        return Finding.yes(
            1.0,
            f"the script's own loop {'can' if fitted else 'cannot'} memorize one batch: {detail}",
        )
    return Finding.no(detail)


class IsolatedFit(OneBatchFit):
    """Whether the symptom is a fresh copy of the model fitting the batch or failing to."""

    expect: Literal["fits", "fails"]


@detector
def isolated_fit(ev: View, rule: IsolatedFit) -> Finding:
    section = _replay(ev, "overfit_isolated").isolated
    if section is None or not section.losses:
        raise NotEvaluated(
            section.note if section and section.note else "the isolated overfit test did not train"
        )
    fitted, detail = _fits(section.losses, section.accuracies, rule.fit_fraction, rule)
    who = f"a fresh copy of the model with {section.optimizer}(lr={section.lr:g})"
    if fitted == (rule.expect == "fits"):
        return Finding.yes(
            1.0, f"{who} {'can' if fitted else 'cannot'} memorize the batch: {detail}"
        )
    return Finding.no(detail)


class LabelsCarryNoSignal(OneBatchFit):
    """How close the mean loss on true labels may come to that on shuffled ones before the labels
    carry no signal; whether the loop learns at all is read as the shared set ``one_batch`` says,
    and a replay's mean loss needs the shared set ``curve``'s number of values."""

    max_ratio: float


@detector
def labels_carry_no_signal(ev: View, rule: LabelsCarryNoSignal) -> Finding:
    """Shuffled labels are learned as fast as the real ones, on the same few fixed batches. Speed is
    the mean loss over the replay (the area under its curve): a model large enough to memorize four
    batches ends near zero loss on any labels, so where the two curves end says little, while labels
    that carry signal are learned much faster from the first steps. The control speaks about the
    labels only when the same loop learns a small batch (its loss at least halves, short of a
    perfect fit): a model that cannot learn at all learns no faster on true labels than on shuffled
    ones, whatever the labels."""
    try:
        curve, accuracies = _one_batch_curve(_replay(ev, "overfit_loop"), rule)
        learned, fit_detail = _fits(curve, accuracies, rule.learns_fraction, rule)
    except NotEvaluated:
        learned, fit_detail = False, "no loss"
    if not learned:
        raise NotEvaluated(
            f"the script's loop does not learn one batch ({fit_detail}), so shuffling the labels "
            "cannot tell anything about them"
        )
    true, permuted = (_mean_loss(_replay(ev, name), rule) for name in ("subset", "label_control"))
    if true is None or permuted is None or permuted <= 0:
        raise NotEvaluated("too few finite losses in the label control")
    losses = (
        f"on the same fixed batches the mean loss is {true:.4g} with the true labels and "
        f"{permuted:.4g} with shuffled labels"
    )
    if true / permuted < rule.max_ratio:
        return Finding.no(losses)
    return Finding.yes(1.0, f"the loop learns one batch, yet {losses}")


def _mean_loss(run: ObservedRun, rule: Curve) -> float | None:
    """How fast a replay learned: its mean finite loss (the area under its curve), given enough
    values."""
    values = finite_values(run.loss.values) if run.loss else []
    return mean(values) if len(values) >= rule.min_values else None


class InputIgnored(Curve):
    """How close the loss with zeroed inputs may end to the real run's before the inputs count as
    ignored; where each ended is read as the shared set ``curve`` says."""

    tolerance: float


@detector
def input_ignored(ev: View, rule: InputIgnored) -> Finding:
    zeroed, observed = _replay(ev, "zeroed_input").loss, ev.observe.loss
    if zeroed is None or observed is None:
        raise NotEvaluated("no loss curves to compare")
    observed_late, zeroed_late = (
        late(finite_values(run.values), rule) if finite_values(run.values) else None
        for run in (observed, zeroed)
    )
    if observed_late is None or zeroed_late is None or not observed_late:
        raise NotEvaluated("too few finite losses")
    gap = abs(zeroed_late - observed_late) / abs(observed_late)
    if gap > rule.tolerance:
        return Finding.no(
            f"with zeroed inputs the loss ends at {zeroed_late:.4g} instead of {observed_late:.4g}"
        )
    return Finding.yes(
        scaled(rule.tolerance - gap, 0, rule.tolerance),
        f"with every input replaced by zeros the loss ends "
        f"at {zeroed_late:.4g}, as with the real inputs ({observed_late:.4g})",
    )


class CustomBackward(Params):
    """Whether the symptom is a custom backward that disagrees with finite differences or all of
    them agreeing, and the relative error that is a wrong gradient rather than rounding."""

    expect: Literal["wrong", "right"]
    max_error: float


@detector
def custom_backward(ev: View, rule: CustomBackward) -> Finding:
    section = _replay(ev, "gradcheck").gradcheck
    checked = [r for r in (section.results if section else []) if r.relative_error is not None]
    if not checked:
        raise NotEvaluated("no custom autograd.Function could be checked")
    wrong = [
        r for r in checked if r.relative_error is not None and r.relative_error > rule.max_error
    ]
    if bool(wrong) != (rule.expect == "wrong"):
        return Finding.no()
    if wrong:
        names = ", ".join(
            f"{r.function} (relative error {r.relative_error:.2g})" for r in wrong[:3]
        )
        return Finding.yes(
            1.0, f"backward() disagrees with finite differences: {names}", where="backward"
        )
    return Finding.yes(1.0, f"{len(checked)} custom backward(s) agree with finite differences")
