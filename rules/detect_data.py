"""Detectors over the data the model was fed: values, scale, labels, order, leakage."""

from __future__ import annotations

from collections.abc import Sequence

from diagnose.evidence import Evidence
from diagnose.probes.sections import TensorSummary
from diagnose.rules.detect_learning import CLASSIFICATION_LOSSES, REGRESSION_LOSSES
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    decades,
    detector,
    observed,
    require,
    scaled,
)

FLOAT_TYPES = ("float", "bfloat16", "half", "double")
MIN_INDEX_COVERAGE = 0.7
PARTIAL_PASS = 0.9


def _float_inputs(ev: Evidence) -> TensorSummary:
    inputs = require(observed(ev, "data").inputs, "training input batch")
    if not inputs.dtype.startswith(FLOAT_TYPES) or inputs.std is None:
        raise NotEvaluated(f"inputs are {inputs.dtype or 'not tensors'}, not floating point")
    return inputs


@detector
def nonfinite_values(ev: Evidence, role: str = "inputs") -> Finding:
    data = observed(ev, "data")
    summaries = [data.inputs, data.val_inputs] if role == "inputs" else [data.targets]
    seen = [s for s in summaries if s is not None]
    require(seen, f"training {role}")
    nan, inf = sum(s.nan for s in seen), sum(s.inf for s in seen)
    if nan + inf == 0:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"{nan} NaN and {inf} Inf values in the {role} fed to the model (sampled batches)",
        where="loader",
    )


@detector
def inputs_large_scale(ev: Evidence, max_abs: float = 10.0) -> Finding:
    x = _float_inputs(ev)
    scale = max(abs(x.mean or 0.0), x.std or 0.0)
    if scale < max_abs:
        return Finding.no(f"input scale {scale:.3g}")
    return Finding.yes(
        scaled(decades(scale / max_abs), 0, 2),
        f"inputs have mean {x.mean:.3g} and std {x.std:.3g} (range {x.min:.3g} to {x.max:.3g}); "
        "networks train best on inputs of mean ~0 and std ~1",
        where="loader",
    )


@detector
def feature_scales_disparate(
    ev: Evidence, max_ratio: float = 1000.0, ratio_with_large: float = 100.0, large_std: float = 5.0
) -> Finding:
    x = _float_inputs(ev)
    stds = [s for s in x.feature_std if s > 1e-8]
    if len(stds) < 2:
        raise NotEvaluated("fewer than two non-constant input features or channels")
    ratio = max(stds) / min(stds)
    if ratio >= max_ratio or (ratio >= ratio_with_large and max(stds) >= large_std):
        return Finding.yes(
            scaled(decades(ratio), 2, 5),
            f"per-feature std ranges from {min(stds):.3g} to {max(stds):.3g} ({ratio:.3g}x apart)",
            where="loader",
        )
    return Finding.no(f"feature std ratio {ratio:.3g}")


@detector
def inputs_squashed(
    ev: Evidence,
    max_std: float = 0.05,
    max_range: float = 0.2,
    offset_max_std: float = 0.25,
    min_offset: float = 5.0,
) -> Finding:
    """Inputs with a tiny spread within a tiny range around zero (pixels divided by 255 twice), or
    a small spread far off centre: standardizing with the raw statistics (m, s) a second time leaves
    a spread of 1/s around an offset of m spreads. What normalizing twice produces."""
    x = _float_inputs(ev)
    std, mean = x.std or 0.0, abs(x.mean or 0.0)
    reach = max(abs(x.min or 0.0), abs(x.max or 0.0))
    detail = (
        f"inputs have std {std:.3g} around mean {x.mean:.3g} (range {x.min:.3g} to {x.max:.3g}): "
        "nearly constant after preprocessing"
    )
    if 0 < std <= max_std and reach <= max_range:
        return Finding.yes(scaled(decades(max_std / std), 0, 1.5), detail, where="loader")
    if 0 < std <= offset_max_std and mean / std >= min_offset:
        return Finding.yes(scaled(mean / std, min_offset, 4 * min_offset), detail, where="loader")
    return Finding.no(f"input std {std:.3g}, mean {x.mean:.3g}")


@detector
def normalize_on_standardized(
    ev: Evidence,
    max_input_mean: float = 0.5,
    input_std_range: Sequence[float] = (0.5, 2.0),
    far_std: float = 5.0,
    far_mean: float = 2.0,
) -> Finding:
    """A torchvision normalize given already standardized data, or two normalizes per sample."""
    data = observed(ev, "data")
    if data.normalize_calls_per_sample and data.normalize_calls_per_sample >= 1.9:
        return Finding.yes(
            1.0,
            f"each sample passes through torchvision's normalize "
            f"{data.normalize_calls_per_sample:.1f} times",
            where="loader",
        )
    calls = require(data.normalize_calls, "torchvision normalize call")
    lo, hi = input_std_range
    for call in calls:
        standardized = abs(call.input_mean) <= max_input_mean and lo <= call.input_std <= hi
        far = any(s >= far_std or s <= 1 / far_std for s in call.std) or any(
            abs(m) >= far_mean for m in call.mean
        )
        if standardized and far:
            return Finding.yes(
                1.0,
                f"normalize(mean={_short(call.mean)}, std={_short(call.std)}) is applied to "
                f"data that is already standardized (mean {call.input_mean:.2f}, "
                f"std {call.input_std:.2f})",
                where="loader",
            )
    return Finding.no()


@detector
def class_imbalance(ev: Evidence, min_ratio: float = 10.0) -> Finding:
    counts = require(observed(ev, "data").class_counts, "class label")
    if len(counts) < 2:
        raise NotEvaluated("a single class in the observed labels")
    largest, smallest = max(counts.values()), min(counts.values())
    ratio = largest / smallest
    total = sum(counts.values())
    if ratio < min_ratio:
        return Finding.no(f"largest/smallest class ratio {ratio:.3g}")
    majority = max(counts, key=counts.get)
    return Finding.yes(
        scaled(decades(ratio), 1, 2.5),
        f"class {majority} is {largest / total:.1%} of the training labels; the rarest class "
        f"is {smallest / total:.1%} ({ratio:.3g}x fewer)",
        where="loader",
    )


@detector
def class_shares_shift(ev: Evidence, min_factor: float = 4.0, min_share: float = 0.02) -> Finding:
    """A class is several times rarer (or commoner) in training than in validation: the model learns
    a prior that the data it is judged on does not have. Imbalance that validation shares is the
    task's own; imbalance only in training is what cutting or filtering the training data did."""
    counts = require(observed(ev, "data").class_counts, "class label")
    confusion = require(observed(ev, "loss").confusion, "labelled validation pass")
    val = {label: sum(row) for label, row in enumerate(confusion)}
    train_total, val_total = sum(counts.values()), sum(val.values())
    if len(counts) < 2 or not val_total:
        raise NotEvaluated("fewer than two classes in the training labels")
    held_out = min(
        (
            loader.dataset_size
            for loader in observed(ev, "data").loaders
            if loader.role == "eval" and loader.dataset_size
        ),
        default=0,
    )
    if val_total < PARTIAL_PASS * held_out:
        raise NotEvaluated(
            f"the validation pass saw {val_total} of {held_out} samples (an ordered set may hold "
            "its classes in runs)"
        )
    shifts = []
    for label in set(counts) | {c for c, n in val.items() if n}:
        train_share, val_share = counts.get(label, 0) / train_total, val.get(label, 0) / val_total
        if max(train_share, val_share) >= min_share:
            factor = max(train_share, val_share) / max(min(train_share, val_share), 1 / train_total)
            shifts.append((factor, label, train_share, val_share))
    factor, label, train_share, val_share = max(shifts, default=(1.0, None, 0.0, 0.0))
    if factor < min_factor:
        return Finding.no(
            f"class shares agree within {factor:.3g}x between training and validation"
        )
    return Finding.yes(
        scaled(decades(factor), decades(min_factor), 2),
        f"class {label} is {train_share:.1%} of the training labels but {val_share:.1%} of the "
        f"validation labels ({factor:.3g}x apart)",
        where="loader",
    )


@detector
def targets_from_inputs(ev: Evidence, min_share: float = 0.5) -> Finding:
    """The targets are the model's own input tokens, shifted to the next position (language
    modelling) or as they are: they match their inputs by construction, and their balance is the
    text's."""
    share = observed(ev, "data").targets_from_inputs
    if share is None:
        raise NotEvaluated("no integer sequence input to compare the targets with")
    if share < min_share:
        return Finding.no(
            f"targets match the input tokens in {share:.0%} of the checked loss calls"
        )
    return Finding.yes(
        1.0,
        f"the targets are the input tokens (or the next ones) in {share:.0%} of the checked "
        "loss calls: next-token targets over a vocabulary",
        where="loss",
    )


@detector
def predictions_collapsed(ev: Evidence, min_share: float = 0.98) -> Finding:
    """The model predicts one class although the labels it trains on hold several. A model may
    predict the majority as often as it occurs; collapse is predicting it more than halfway from
    there to always. Without labels read from the data (a GAN's constant targets), it cannot be
    told."""
    share = require(observed(ev, "loss").predicted_share, "classification prediction")
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    if len(counts) < 2:
        raise NotEvaluated("no labels with several classes were read from the data")
    majority = max(counts.values()) / sum(counts.values())
    if share >= max(min_share, (1 + majority) / 2):
        return Finding.yes(
            scaled(share, min_share, 1.0),
            f"{share:.1%} of recent training predictions are the same class",
        )
    return Finding.no(f"most common predicted class {share:.1%}")


@detector
def labels_sorted(ev: Evidence, min_batch_share: float = 0.8, min_lift: float = 1.5) -> Finding:
    data = observed(ev, "data")
    batch_share = require(data.batch_majority_share, "class label")
    counts = data.class_counts
    overall = max(counts.values()) / sum(counts.values())
    samplers = {loader.sampler for loader in data.loaders if loader.role == "train"}
    if batch_share >= min_batch_share and batch_share >= min_lift * overall:
        sampler = f" (training loader sampler: {', '.join(sorted(samplers))})" if samplers else ""
        return Finding.yes(
            scaled(batch_share / overall, min_lift, 5),
            f"on average {batch_share:.0%} of a training batch is one class, although the "
            f"largest class is {overall:.0%} of the data{sampler}",
            where="loader",
        )
    return Finding.no(f"batch majority share {batch_share:.0%} vs {overall:.0%} overall")


@detector
def val_rows_in_train(ev: Evidence, min_fraction: float = 0.1, min_rows: int = 10) -> Finding:
    data = observed(ev, "data")
    if data.val_rows_hashed < min_rows:
        raise NotEvaluated("no validation inputs separate from the training data were seen")
    fraction = data.val_rows_in_train / data.val_rows_hashed
    if fraction < min_fraction:
        return Finding.no(f"{fraction:.1%} of validation rows occur in training data")
    return Finding.yes(
        scaled(fraction, min_fraction, 0.5),
        f"{data.val_rows_in_train} of {data.val_rows_hashed} validation inputs "
        f"({fraction:.0%}) are exact copies of training inputs",
    )


@detector
def evaluates_training_slice(ev: Evidence, min_rows: int = 10) -> Finding:
    """Evaluation on a slice of the training tensor: a leak when it is reported as validation,
    harmless when it is a training-accuracy check; the tool cannot tell which."""
    data = observed(ev, "data")
    if data.train_slice_rows < min_rows:
        return Finding.no()
    return Finding.yes(
        data.train_slice_rows_in_train / data.train_slice_rows,
        f"{data.train_slice_rows} inputs evaluated without gradients are a slice of the training "
        "tensor; if they are reported as validation, they measure memorization",
    )


@detector
def val_inputs_differ(
    ev: Evidence, max_std_ratio: float = 3.0, max_mean_shift: float = 2.0
) -> Finding:
    data = observed(ev, "data")
    train, val = (
        require(data.inputs, "training input"),
        require(data.val_inputs, "validation input"),
    )
    if not (train.std and val.std and train.dtype.startswith(FLOAT_TYPES)):
        raise NotEvaluated("input statistics are not comparable")
    ratio = max(train.std / val.std, val.std / train.std)
    shift = abs((val.mean or 0) - (train.mean or 0)) / train.std
    if ratio >= max_std_ratio or shift >= max_mean_shift:
        return Finding.yes(
            scaled(max(ratio / max_std_ratio, shift / max_mean_shift), 1, 3),
            f"training inputs have mean {train.mean:.3g}, std {train.std:.3g}; validation inputs "
            f"mean {val.mean:.3g}, std {val.std:.3g}",
        )
    return Finding.no()


@detector
def targets_look_like_classes(ev: Evidence, max_classes: int = 100) -> Finding:
    """A regression loss trained on class indices, or a binary loss given targets above 1."""
    loss = observed(ev, "loss")
    targets = require(observed(ev, "data").targets, "training target")
    if not targets.integer_valued or targets.min is None or targets.max is None:
        return Finding.no("targets are not integer class indices")
    regression = loss.kind in REGRESSION_LOSSES
    # Most of 0..max occur (a batch may lack a class or two): indices, not counts or scores.
    dense = (targets.distinct or 0) >= MIN_INDEX_COVERAGE * (targets.max - targets.min + 1)
    if regression and targets.min == 0 and dense and 3 <= (targets.distinct or 0) <= max_classes:
        return Finding.yes(
            0.8,
            f"{loss.kind} is trained on targets that are the {targets.distinct} class "
            f"indices 0..{targets.max:.0f}",
            where="loss",
        )
    if loss.kind.startswith("binary_cross_entropy") and targets.max > 1:
        return Finding.yes(
            0.9,
            f"{loss.kind} is given targets up to {targets.max:.0f}; it needs targets in [0, 1]",
            where="loss",
        )
    return Finding.no()


@detector
def targets_are_values(ev: Evidence) -> Finding:
    """A classification loss given real-valued targets outside [0, 1]: regression targets. Soft
    labels and smoothed one-hot targets are probabilities and stay within [0, 1]."""
    loss = observed(ev, "loss")
    if loss.kind not in CLASSIFICATION_LOSSES:
        raise NotEvaluated("no classification loss")
    if (
        len(loss.kinds) > 1
    ):  # the targets read are those of every loss: a regression term's among them
        raise NotEvaluated(f"several losses are trained together ({', '.join(loss.kinds)})")
    targets = require(observed(ev, "data").targets, "training target")
    if targets.integer_valued or targets.min is None or targets.max is None:
        return Finding.no("the targets are class indices")
    if targets.min >= 0 and targets.max <= 1:
        return Finding.no("the targets lie in [0, 1]: probabilities")
    return Finding.yes(
        1.0,
        f"{loss.kind} is trained on real-valued targets from {targets.min:.3g} to "
        f"{targets.max:.3g}: a regression task",
        where="loss",
    )


def _short(values: list[float]) -> str:
    return "[" + ", ".join(f"{v:.3g}" for v in values[:3]) + ("…]" if len(values) > 3 else "]")
