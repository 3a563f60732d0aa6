"""The kill check: does a mutant's plain run differ materially from its host's?

The same fixed margins hold for every host, and each mutant is compared with its own host's plain
result (hosts are seeded, so a plain run repeats):

- crash: the script raised (or printed no metrics); timeout: it ran past the limit;
- nan: a reported metric is NaN or infinite;
- worse: validation accuracy at least 5 points lower, or a validation loss/MSE at least 20 %
  higher plus 0.02 (the floor keeps near-zero losses from counting noise as a difference);
- better: the same margins the other way (what leaking validation rows into training shows);
- same: none of these, an equivalent mutant.

A mutant is kept when its outcome is one its operator declares (`Operator.kills`): most faults
are silent, so a crash there means the edit broke the script in a way the label does not
describe, and the mutant is dropped rather than mislabelled. A healthy variant (a benign
operator) is kept the other way round: only when it comes out the same or better, i.e. still
learns within its host's margins. A pair is kept like its mutation operator's mutant.

Accuracies (`val_acc`, or `train_acc` where a public script holds no data out) are better
higher; every other metric is a loss or an error, better lower.

A host must learn for its variants to mean anything. A host may report, beside a metric, what a
constant prediction scores on it (`val_mse_constant`: the mean training target's error); a host
whose plain run does not beat that by `LEARN_SHARE` does not learn as shrunk: it is reported, and
none of its variants is kept (a mutant of it would carry two faults, a variant of it would be
labelled healthy without learning).
"""

from __future__ import annotations

from .operators import Benign, Operator
from .plain import Plain

ACC_MARGIN = 0.05
LOSS_RATIO = 1.2
LOSS_FLOOR = 0.02
HIGHER_IS_BETTER = ("val_acc", "train_acc")
CRITERION_LOSS = "val_loss"  # computed with the script's own loss, unlike a hand-computed val_mse
EPS = 1e-9  # "at least" is inclusive, whatever the float rounding of the difference
CONSTANT = "_constant"  # suffix of a metric's constant-prediction baseline
LEARN_SHARE = 0.1  # of the baseline's error: how far past a constant prediction a host must get


def metrics(plain: Plain) -> dict[str, float]:
    """A plain run's own metrics, without the baselines beside them."""
    return {k: v for k, v in plain.metrics.items() if not k.endswith(CONSTANT)}


def not_learning(host: Plain) -> str | None:
    """Why a host's plain run does not learn past a constant prediction, or None when it does (or
    reports no baseline to tell)."""
    for key, value in metrics(host).items():
        constant = host.metrics.get(key + CONSTANT)
        if constant is None:
            continue
        if key in HIGHER_IS_BETTER:
            learned = value >= constant + LEARN_SHARE * (1 - constant)
        else:
            learned = value <= (1 - LEARN_SHARE) * constant
        if not learned:
            return (
                f"{key} {value:.4g} is not {LEARN_SHARE:.0%} past a constant prediction's "
                f"{constant:.4g}: the host does not learn as shrunk"
            )
    return None


def outcome(
    host: Plain, mutant: Plain, op: Operator | Benign, loss_changed: bool = False
) -> tuple[str, str]:
    """(outcome, what the plain run showed against the host). `loss_changed`: another edit in the
    same folder (a pair's benign operator) changed the loss, so the script's own validation loss
    is no evidence either."""
    if mutant.status != "ok":
        return mutant.status, mutant.error
    if not mutant.finite:
        return "nan", _compare(host, mutant, list(mutant.metrics))
    usable = [
        k
        for k in metrics(host)
        if k in mutant.metrics and not ((op.touches_loss or loss_changed) and k == CRITERION_LOSS)
    ]
    worse = [k for k in usable if _worse(k, host.metrics[k], mutant.metrics[k])]
    better = [k for k in usable if _worse(k, mutant.metrics[k], host.metrics[k])]
    if worse:
        return "worse", _compare(host, mutant, worse)
    if better:
        return "better", _compare(host, mutant, better)
    return "same", _compare(host, mutant, usable)


def _worse(metric: str, base: float, value: float) -> bool:
    if metric in HIGHER_IS_BETTER:
        return value <= base - ACC_MARGIN + EPS
    return value >= LOSS_RATIO * base + LOSS_FLOOR - EPS


def _compare(host: Plain, mutant: Plain, metrics: list[str]) -> str:
    return ", ".join(
        f"{k} {host.metrics.get(k, float('nan')):.4g} -> {mutant.metrics[k]:.4g}" for k in metrics
    )


def kept(op: Operator | Benign, result: str) -> bool:
    return result in op.kills
