"""Detectors over replays: the LR range test, the overfit tests, the label and input controls."""

from __future__ import annotations

import statistics

from diagnose.evidence import Evidence, ObservedRun, ScenarioRun
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    detector,
    finite_values,
    mean,
    median,
    scaled,
    window,
)
from diagnose.rules.lr_range import LRAnalysis, analyse

FIT_FRACTION = 0.1
LEARNS_FRACTION = 0.5  # of the starting loss: the loop learns a batch, if not to a perfect fit
FIT_ACCURACY = 0.99


def lr_analysis(ev: Evidence) -> LRAnalysis:
    replay = ev.scenarios.get("lr_range")
    optimizer = ev.observe.optimizer
    if replay is None or replay.lr_range is None:
        raise NotEvaluated("the LR range test did not run")
    user_lr = optimizer.optimizers[0].lr if optimizer and optimizer.optimizers else None
    analysis = analyse(replay.lr_range, user_lr)
    if analysis is None:
        raise NotEvaluated("the LR range test gave too few finite losses")
    return analysis


@detector
def lr_above_range(ev: Evidence, min_decades: float = 1.0) -> Finding:
    lr = lr_analysis(ev)
    beyond = lr.divergence_lr is not None and lr.user_lr >= lr.divergence_lr
    if lr.decades_off < min_decades and not beyond:
        return Finding.no(f"user LR {lr.user_lr:.3g}, suggested {lr.suggested_lr:.3g}")
    where = f", past the LR where the loss diverges ({lr.divergence_lr:.3g})" if beyond else ""
    return Finding.yes(
        1.0 if beyond else scaled(lr.decades_off, min_decades, 3),
        f"the LR range test suggests {lr.suggested_lr:.3g}; the script uses {lr.user_lr:.3g} "
        f"({lr.decades_off:.1f} decades above{where})",
        where="optimizer",
    )


@detector
def lr_below_range(ev: Evidence, min_decades: float = 2.0) -> Finding:
    lr = lr_analysis(ev)
    if -lr.decades_off < min_decades:
        return Finding.no(f"user LR {lr.user_lr:.3g}, suggested {lr.suggested_lr:.3g}")
    return Finding.yes(
        scaled(-lr.decades_off, min_decades, 5),
        f"the LR range test suggests {lr.suggested_lr:.3g}; the script uses {lr.user_lr:.3g} "
        f"({-lr.decades_off:.1f} decades below)",
        where="optimizer",
    )


def _fits(
    losses: list[float], accuracies: list[float], fraction: float = FIT_FRACTION
) -> tuple[bool, str]:
    """Whether a one-batch replay got its loss down to ``fraction`` of where it started (or its
    accuracy to ~100%), and the numbers that say so."""
    finite = finite_values(losses)
    if len(finite) < 5 or len(finite) < len(losses) // 2:
        return False, "the loss became NaN" if len(finite) < len(losses) else "too few steps"
    late = statistics.median(window(finite, 0.8, 1.0))
    accuracy = median(window(accuracies, 0.8, 1.0)) if len(accuracies) >= 5 else None
    fitted = late <= fraction * finite[0] or (accuracy is not None and accuracy >= FIT_ACCURACY)
    acc = f", accuracy {accuracy:.0%}" if accuracy is not None else ""
    return fitted, f"loss {finite[0]:.4g} → {late:.4g} on one fixed batch{acc}"


def _replay(ev: Evidence, name: str) -> ScenarioRun:
    if name not in ev.scenarios:
        raise NotEvaluated(f"the {name} replay did not run")
    return ev.scenarios[name]


@detector
def overfit_loop(ev: Evidence, expect: str = "fails") -> Finding:
    loss = _replay(ev, "overfit_loop").loss
    if loss is None or not loss.values:
        raise NotEvaluated("the overfit replay recorded no loss")
    fitted, detail = _fits(loss.values, loss.train_accuracy)
    if fitted == (expect == "fits"):
        return Finding.yes(
            1.0,
            f"the script's own loop {'can' if fitted else 'cannot'} memorize one batch: {detail}",
        )
    return Finding.no(detail)


@detector
def isolated_fit(ev: Evidence, expect: str = "fits") -> Finding:
    section = _replay(ev, "overfit_isolated").isolated
    if section is None or not section.losses:
        raise NotEvaluated(
            section.note if section and section.note else "the isolated overfit test did not train"
        )
    fitted, detail = _fits(section.losses, section.accuracies)
    who = f"a fresh copy of the model with {section.optimizer}(lr={section.lr:g})"
    if fitted == (expect == "fits"):
        return Finding.yes(
            1.0, f"{who} {'can' if fitted else 'cannot'} memorize the batch: {detail}"
        )
    return Finding.no(detail)


@detector
def labels_carry_no_signal(ev: Evidence, max_ratio: float = 0.85) -> Finding:
    """Shuffled labels are learned as fast as the real ones, on the same few fixed batches. Speed is
    the mean loss over the replay (the area under its curve): a model large enough to memorize four
    batches ends near zero loss on any labels, so where the two curves end says little, while labels
    that carry signal are learned much faster from the first steps. The control speaks about the
    labels only when the same loop learns a small batch (its loss at least halves, short of a
    perfect fit): a model that cannot learn at all learns no faster on true labels than on shuffled
    ones, whatever the labels."""
    loss = _replay(ev, "overfit_loop").loss
    learned, fit_detail = (
        _fits(loss.values, loss.train_accuracy, LEARNS_FRACTION)
        if loss and loss.values
        else (False, "no loss")
    )
    if not learned:
        raise NotEvaluated(
            f"the script's loop does not learn one batch ({fit_detail}), so shuffling the labels "
            "cannot tell anything about them"
        )
    true, permuted = (_mean_loss(_replay(ev, name)) for name in ("subset", "label_control"))
    if true is None or permuted is None or permuted <= 0:
        raise NotEvaluated("too few finite losses in the label control")
    detail = (
        f"the loop learns one batch, yet on the same fixed batches the mean loss is {true:.4g} "
        f"with the true labels and {permuted:.4g} with shuffled labels"
    )
    return Finding.yes(1.0, detail) if true / permuted >= max_ratio else Finding.no(detail)


def _mean_loss(run: ObservedRun) -> float | None:
    values = finite_values(run.loss.values) if run.loss else []
    return mean(values) if len(values) >= 10 else None


@detector
def input_ignored(ev: Evidence, tolerance: float = 0.05) -> Finding:
    zeroed, observed = _replay(ev, "zeroed_input").loss, ev.observe.loss
    if zeroed is None or observed is None:
        raise NotEvaluated("no loss curves to compare")
    late = [
        median(window(finite_values(run.values), 0.8, 1.0)) if finite_values(run.values) else None
        for run in (observed, zeroed)
    ]
    observed_late, zeroed_late = late
    if observed_late is None or zeroed_late is None or not observed_late:
        raise NotEvaluated("too few finite losses")
    gap = abs(zeroed_late - observed_late) / abs(observed_late)
    if gap > tolerance:
        return Finding.no(
            f"with zeroed inputs the loss ends at {zeroed_late:.4g} instead of {observed_late:.4g}"
        )
    return Finding.yes(
        scaled(tolerance - gap, 0, tolerance),
        f"with every input replaced by zeros the loss ends "
        f"at {zeroed_late:.4g}, as with the real inputs ({observed_late:.4g})",
    )


@detector
def custom_backward(ev: Evidence, expect: str = "wrong", max_error: float = 1e-3) -> Finding:
    section = _replay(ev, "gradcheck").gradcheck
    checked = [r for r in (section.results if section else []) if r.relative_error is not None]
    if not checked:
        raise NotEvaluated("no custom autograd.Function could be checked")
    wrong = [r for r in checked if r.relative_error is not None and r.relative_error > max_error]
    if bool(wrong) != (expect == "wrong"):
        return Finding.no()
    if wrong:
        names = ", ".join(
            f"{r.function} (relative error {r.relative_error:.2g})" for r in wrong[:3]
        )
        return Finding.yes(
            1.0, f"backward() disagrees with finite differences: {names}", where="backward"
        )
    return Finding.yes(1.0, f"{len(checked)} custom backward(s) agree with finite differences")
