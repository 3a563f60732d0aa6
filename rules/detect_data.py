"""Detectors over the data the model was fed: values, scale, labels, order, leakage."""

from __future__ import annotations

from typing import Literal

from diagnose.probes.sections import TensorSummary
from diagnose.rules.findings import (
    Finding,
    NotEvaluated,
    Params,
    View,
    decades,
    detector,
    observed,
    require,
    scaled,
)
from diagnose.vocabulary import CLASSIFICATION_LOSSES, REGRESSION_LOSSES

FLOAT_TYPES = ("float", "bfloat16", "half", "double")
# Where each role's tensors go, for a detail that names it.
DESTINATION = {"inputs": "fed to the model", "targets": "given to the loss"}


def _float_inputs(ev: View) -> TensorSummary:
    inputs = require(observed(ev, "data").inputs, "training input batch")
    if not inputs.dtype.startswith(FLOAT_TYPES) or inputs.std is None:
        raise NotEvaluated(f"inputs are {inputs.dtype or 'not tensors'}, not floating point")
    return inputs


class NonfiniteValues(Params):
    """Which tensors are searched for NaN and Inf: the inputs (training and validation batches)
    or the training targets."""

    role: Literal["inputs", "targets"]


@detector
def nonfinite_values(ev: View, rule: NonfiniteValues) -> Finding:
    """NaN or Inf in the sampled batches: one makes the loss, then every weight, NaN."""
    data = observed(ev, "data")
    summaries = [data.inputs, data.val_inputs] if rule.role == "inputs" else [data.targets]
    seen = [s for s in summaries if s is not None]
    require(seen, f"batch of training {rule.role}")
    nan, inf = sum(s.nan for s in seen), sum(s.inf for s in seen)
    if nan + inf == 0:
        return Finding.no()
    return Finding.yes(
        1.0,
        f"{nan} NaN and {inf} Inf values in the {rule.role} {DESTINATION[rule.role]} "
        "(sampled batches)",
        where="loader",
    )


class InputsLargeScale(Params):
    """How large the inputs' mean or spread may be before they are off unit scale, and how far
    past that the finding is certain."""

    max_abs: float
    full_strength_decades: float


@detector
def inputs_large_scale(ev: View, rule: InputsLargeScale) -> Finding:
    """Inputs whose mean or spread is far from unit scale (raw pixels, prices): the default
    initializations assume unit-scale inputs, so the first layer saturates or its gradients are
    huge. Outliers of standardized data do not count: only the mean and std are read."""
    x = _float_inputs(ev)
    scale = max(abs(x.mean or 0.0), x.std or 0.0)
    if scale < rule.max_abs:
        return Finding.no(f"input scale {scale:.3g}")
    return Finding.yes(
        scaled(decades(scale / rule.max_abs), 0, rule.full_strength_decades),
        f"inputs have mean {x.mean:.3g} and std {x.std:.3g} (range {x.min:.3g} to {x.max:.3g}); "
        "networks train best on inputs of mean ~0 and std ~1",
        where="loader",
    )


class FeatureScalesDisparate(Params):
    """How far apart the spreads of the input features may be (less far when the largest one is
    itself off unit scale), at what gap the finding is certain, and which spread is so small that
    the feature is a constant."""

    max_ratio: float
    ratio_with_large: float
    large_std: float
    constant_std: float
    full_strength_decades: float


@detector
def feature_scales_disparate(ev: View, rule: FeatureScalesDisparate) -> Finding:
    """Input features (or channels) whose spreads are decades apart: one learning rate is too
    large for the wide ones or too small for the narrow ones. Constant features are left out."""
    x = _float_inputs(ev)
    stds = [s for s in x.feature_std if s > rule.constant_std]
    if len(stds) < 2:
        raise NotEvaluated("fewer than two non-constant input features or channels")
    ratio = max(stds) / min(stds)
    if ratio >= rule.max_ratio or (ratio >= rule.ratio_with_large and max(stds) >= rule.large_std):
        return Finding.yes(
            scaled(decades(ratio), decades(rule.ratio_with_large), rule.full_strength_decades),
            f"per-feature std ranges from {min(stds):.3g} to {max(stds):.3g} ({ratio:.3g}x apart)",
            where="loader",
        )
    return Finding.no(f"feature std ratio {ratio:.3g}")


class InputsSquashed(Params):
    """What a squashed input is: a tiny spread within a tiny range around zero, or a small spread
    far off centre (its offset counted in spreads); and how far past each the finding is
    certain."""

    max_std: float
    max_range: float
    full_strength_decades: float
    offset_max_std: float
    min_offset: float
    full_strength_offset: float


@detector
def inputs_squashed(
    ev: View,
    rule: InputsSquashed,
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
    if 0 < std <= rule.max_std and reach <= rule.max_range:
        strength = scaled(decades(rule.max_std / std), 0, rule.full_strength_decades)
        return Finding.yes(strength, detail, where="loader")
    if 0 < std <= rule.offset_max_std and mean / std >= rule.min_offset:
        return Finding.yes(
            scaled(mean / std, rule.min_offset, rule.full_strength_offset), detail, where="loader"
        )
    return Finding.no(f"input std {std:.3g}, mean {x.mean:.3g}")


class NormalizeOnStandardized(Params):
    """How many normalize calls per sample are a second normalization; what data already
    standardized looks like (mean near zero, spread near one); and which normalize statistics are
    meant for raw data (a std far from one either way, a mean far from zero)."""

    min_calls_per_sample: float
    max_input_mean: float
    input_std_range: list[float]
    far_std: float
    far_mean: float


@detector
def normalize_on_standardized(
    ev: View,
    rule: NormalizeOnStandardized,
) -> Finding:
    """A torchvision normalize given already standardized data, or two normalizes per sample."""
    data = observed(ev, "data")
    per_sample = data.normalize_calls_per_sample
    if per_sample and per_sample >= rule.min_calls_per_sample:
        return Finding.yes(
            1.0,
            f"each sample passes through torchvision's normalize {per_sample:.1f} times",
            where="loader",
        )
    calls = require(data.normalize_calls, "torchvision normalize call")
    lo, hi = rule.input_std_range
    for call in calls:
        standardized = abs(call.input_mean) <= rule.max_input_mean and lo <= call.input_std <= hi
        far = any(s >= rule.far_std or s <= 1 / rule.far_std for s in call.std) or any(
            abs(m) >= rule.far_mean for m in call.mean
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


class ClassImbalance(Params):
    """How many times the commonest class may outnumber the rarest before the labels are
    imbalanced, and at what gap the finding is certain."""

    min_ratio: float
    full_strength_decades: float


@detector
def class_imbalance(ev: View, rule: ClassImbalance) -> Finding:
    """The commonest class outnumbers the rarest many times: an unweighted loss is mostly the
    majority's, and predicting the majority alone already scores well on it."""
    counts = require(observed(ev, "data").class_counts, "class label")
    if len(counts) < 2:
        raise NotEvaluated("a single class in the observed labels")
    largest, smallest = max(counts.values()), min(counts.values())
    ratio = largest / smallest
    total = sum(counts.values())
    if ratio < rule.min_ratio:
        return Finding.no(f"largest/smallest class ratio {ratio:.3g}")
    majority = max(counts, key=counts.get)
    return Finding.yes(
        scaled(decades(ratio), decades(rule.min_ratio), rule.full_strength_decades),
        f"class {majority} is {largest / total:.1%} of the training labels; the rarest class "
        f"is {smallest / total:.1%} ({ratio:.3g}x fewer)",
        where="loader",
    )


class ClassSharesShift(Params):
    """How many times a class's share may differ between training and validation (and at what
    gap the finding is certain), which classes are common enough to compare, and how much of the
    held-out set the validation pass must have seen for its shares to be the set's."""

    min_factor: float
    min_share: float
    min_pass_coverage: float
    full_strength_decades: float


@detector
def class_shares_shift(ev: View, rule: ClassSharesShift) -> Finding:
    """A class is several times rarer (or commoner) in training than in validation: the model learns
    a prior that the data it is judged on does not have. Imbalance that validation shares is the
    task's own; imbalance only in training is what cutting or filtering the training data did."""
    counts = require(observed(ev, "data").class_counts, "class label")
    confusion = require(observed(ev, "loss").confusion, "labelled validation pass")
    val = {label: sum(row) for label, row in enumerate(confusion)}
    train_total, val_total = sum(counts.values()), sum(val.values())
    if len(counts) < 2:
        raise NotEvaluated("fewer than two classes in the training labels")
    if not val_total:
        raise NotEvaluated("the validation pass counted no labelled samples")
    held_out = min(
        (
            loader.dataset_size
            for loader in observed(ev, "data").loaders
            if loader.role == "eval" and loader.dataset_size
        ),
        default=0,
    )
    if val_total < rule.min_pass_coverage * held_out:
        raise NotEvaluated(
            f"the validation pass saw {val_total} of {held_out} samples (an ordered set may hold "
            "its classes in runs)"
        )
    shifts = []
    for label in set(counts) | {c for c, n in val.items() if n}:
        train_share, val_share = counts.get(label, 0) / train_total, val.get(label, 0) / val_total
        if max(train_share, val_share) >= rule.min_share:
            factor = max(train_share, val_share) / max(min(train_share, val_share), 1 / train_total)
            shifts.append((factor, label, train_share, val_share))
    factor, label, train_share, val_share = max(shifts, default=(1.0, None, 0.0, 0.0))
    if factor < rule.min_factor:
        return Finding.no(
            f"class shares agree within {factor:.3g}x between training and validation"
        )
    return Finding.yes(
        scaled(decades(factor), decades(rule.min_factor), rule.full_strength_decades),
        f"class {label} is {train_share:.1%} of the training labels but {val_share:.1%} of the "
        f"validation labels ({factor:.3g}x apart)",
        where="loader",
    )


class TargetsFromInputs(Params):
    """In how many of the checked loss calls the targets must be the input tokens."""

    min_share: float


@detector
def targets_from_inputs(ev: View, rule: TargetsFromInputs) -> Finding:
    """The targets are the model's own input tokens, shifted to the next position (language
    modelling) or as they are: they match their inputs by construction, and their balance is the
    text's."""
    share = observed(ev, "data").targets_from_inputs
    if share is None:
        raise NotEvaluated("no integer sequence input to compare the targets with")
    if share < rule.min_share:
        return Finding.no(
            f"targets match the input tokens in {share:.0%} of the checked loss calls"
        )
    return Finding.yes(
        1.0,
        f"the targets are the input tokens (or the next ones) in {share:.0%} of the checked "
        "loss calls: next-token targets over a vocabulary",
        where="loss",
    )


class TargetsReadableFromInputs(Params):
    """At which share of positions integer targets equal to the input there are a copy."""

    min_share: float


@detector
def targets_readable_from_inputs(ev: View, rule: TargetsReadableFromInputs) -> Finding:
    """The targets can be read off the model's own inputs: integer targets equal to the input
    tokens at the same position, for a model whose output at a position does not depend on later
    inputs (a causal language model: its task shifts the targets by one), or a tabular input
    column equal to the label in every row. The model learns to copy; its loss falls below what
    any learner could reach on the real task, and nothing of the task is learned. A model that
    reads the whole sequence (an autoencoder, a tagger) may be meant to reproduce its input."""
    task = observed(ev, "fit").task
    if task.copied_feature is not None:
        return Finding.yes(
            1.0,
            f"the target equals input feature {task.copied_feature} in every row of the probe "
            "batches: the label is given to the model as an input",
            where="loader",
        )
    if task.copies_input is None:
        raise NotEvaluated("no integer sequence input lines up with the targets")
    following = task.next_input if task.next_input is not None else 0.0
    copies = (
        f"targets equal the input tokens at the same position in {task.copies_input:.0%} of "
        f"positions, at the next position in {following:.0%}"
    )
    if task.copies_input < rule.min_share or task.copies_input <= following:
        return Finding.no(copies)
    if task.looks_ahead is None:
        raise NotEvaluated(f"{copies}, and whether the model looks ahead could not be checked")
    if task.looks_ahead:
        return Finding.no(
            f"{copies}, but the model reads the whole sequence (changing the last token changes "
            "its earlier outputs): reproducing its input can be its task"
        )
    return Finding.yes(
        1.0,
        f"the {copies}, and the model's output at a position does not depend on later tokens: a "
        "causal model can copy its input, where next-token prediction shifts the targets by one",
        where="loss",
    )


class PredictionsCollapsed(Params):
    """Which share of the predictions going to one class is a collapse at the least (on labels
    skewed nearly as much, the share must also be past halfway from the majority's to all)."""

    min_share: float


@detector
def predictions_collapsed(ev: View, rule: PredictionsCollapsed) -> Finding:
    """The model predicts one class although the labels it trains on hold several. A model may
    predict the majority as often as it occurs; collapse is predicting it more than halfway from
    there to always. Without labels read from the data (a GAN's constant targets), it cannot be
    told."""
    share = require(observed(ev, "loss").predicted_share, "classification prediction")
    counts = ev.observe.data.class_counts if ev.observe.data else {}
    if len(counts) < 2:
        raise NotEvaluated("no labels with several classes were read from the data")
    majority = max(counts.values()) / sum(counts.values())
    if share >= max(rule.min_share, (1 + majority) / 2):
        return Finding.yes(
            scaled(share, rule.min_share, 1.0),
            f"{share:.1%} of recent training predictions are the same class",
        )
    return Finding.no(f"most common predicted class {share:.1%}")


class LabelsSorted(Params):
    """How much of an average training batch one class must fill, and how many times the data's
    largest class share that must be (its lift), for the batches to come in label order; and at
    what lift the finding is certain."""

    min_batch_share: float
    min_lift: float
    full_strength_lift: float


@detector
def labels_sorted(ev: View, rule: LabelsSorted) -> Finding:
    """Training batches mostly of one class, far more than the data's largest class share: the
    loader serves the data in label order, and each stretch of steps learns one class."""
    data = observed(ev, "data")
    batch_share = require(data.batch_majority_share, "class label")
    counts = data.class_counts
    overall = max(counts.values()) / sum(counts.values())
    samplers = {loader.sampler for loader in data.loaders if loader.role == "train"}
    if batch_share >= rule.min_batch_share and batch_share >= rule.min_lift * overall:
        sampler = f" (training loader sampler: {', '.join(sorted(samplers))})" if samplers else ""
        return Finding.yes(
            scaled(batch_share / overall, rule.min_lift, rule.full_strength_lift),
            f"on average {batch_share:.0%} of a training batch is one class, although the "
            f"largest class is {overall:.0%} of the data{sampler}",
            where="loader",
        )
    return Finding.no(f"batch majority share {batch_share:.0%} vs {overall:.0%} overall")


class ValRowsInTrain(Params):
    """How many validation rows must be hashed to judge, and which share of them found among
    the training rows is a leak (and a certain one)."""

    min_fraction: float
    min_rows: int
    full_strength_fraction: float


@detector
def val_rows_in_train(ev: View, rule: ValRowsInTrain) -> Finding:
    """Validation inputs that are exact copies of training inputs: validation measures
    memorization on them, not generalization."""
    data = observed(ev, "data")
    if data.val_rows_hashed < rule.min_rows:
        raise NotEvaluated(
            f"fewer than {rule.min_rows} validation inputs separate from the training data were "
            "seen"
        )
    fraction = data.val_rows_in_train / data.val_rows_hashed
    if fraction < rule.min_fraction:
        return Finding.no(f"{fraction:.1%} of validation rows occur in training data")
    return Finding.yes(
        scaled(fraction, rule.min_fraction, rule.full_strength_fraction),
        f"{data.val_rows_in_train} of {data.val_rows_hashed} validation inputs "
        f"({fraction:.0%}) are exact copies of training inputs",
    )


class EvaluatesTrainingSlice(Params):
    """How many rows of the training tensor evaluated without gradients are an evaluation."""

    min_rows: int


@detector
def evaluates_training_slice(ev: View, rule: EvaluatesTrainingSlice) -> Finding:
    """Evaluation on a slice of the training tensor: a leak when it is reported as validation,
    harmless when it is a training-accuracy check; the tool cannot tell which."""
    data = observed(ev, "data")
    if data.train_slice_rows < rule.min_rows:
        return Finding.no()
    return Finding.yes(
        data.train_slice_rows_in_train / data.train_slice_rows,
        f"{data.train_slice_rows} inputs evaluated without gradients are a slice of the training "
        "tensor; if they are reported as validation, they measure memorization",
    )


class ValInputsDiffer(Params):
    """How far validation inputs may be from training inputs in spread (a ratio either way) and
    in mean (counted in training spreads), and how many times past either the finding is
    certain."""

    max_std_ratio: float
    max_mean_shift: float
    full_strength_excess: float


@detector
def val_inputs_differ(ev: View, rule: ValInputsDiffer) -> Finding:
    """Validation inputs spread or centred unlike training inputs: one split was preprocessed
    (scaled, normalized) and the other not, so validation judges inputs the model never saw."""
    data = observed(ev, "data")
    train, val = (
        require(data.inputs, "training input"),
        require(data.val_inputs, "validation input"),
    )
    if not (train.std and val.std and train.dtype.startswith(FLOAT_TYPES)):
        raise NotEvaluated("input statistics are not comparable")
    ratio = max(train.std / val.std, val.std / train.std)
    shift = abs((val.mean or 0) - (train.mean or 0)) / train.std
    if ratio >= rule.max_std_ratio or shift >= rule.max_mean_shift:
        return Finding.yes(
            scaled(
                max(ratio / rule.max_std_ratio, shift / rule.max_mean_shift),
                1,
                rule.full_strength_excess,
            ),
            f"training inputs have mean {train.mean:.3g}, std {train.std:.3g}; validation inputs "
            f"mean {val.mean:.3g}, std {val.std:.3g}",
        )
    return Finding.no()


class TargetsLookLikeClasses(Params):
    """What integer targets under a regression loss are class indices: starting at 0, between
    ``min_classes`` and ``max_classes`` distinct values covering most of 0..max; and how sure each
    finding is (indices under a regression loss, targets above 1 under a binary loss)."""

    min_classes: int
    max_classes: int
    min_index_coverage: float
    indices_strength: float
    binary_strength: float


@detector
def targets_look_like_classes(ev: View, rule: TargetsLookLikeClasses) -> Finding:
    """A regression loss trained on class indices, or a binary loss given targets above 1."""
    loss = observed(ev, "loss")
    targets = require(observed(ev, "data").targets, "training target")
    if not targets.integer_valued or targets.min is None or targets.max is None:
        return Finding.no("targets are not integer class indices")
    regression = loss.kind in REGRESSION_LOSSES
    # Most of 0..max occur (a batch may lack a class or two): indices, not counts or scores.
    dense = (targets.distinct or 0) >= rule.min_index_coverage * (targets.max - targets.min + 1)
    if (
        regression
        and targets.min == 0
        and dense
        and rule.min_classes <= (targets.distinct or 0) <= rule.max_classes
    ):
        return Finding.yes(
            rule.indices_strength,
            f"{loss.kind} is trained on class indices: {targets.distinct} distinct integer "
            f"targets from 0 to {targets.max:.0f}",
            where="loss",
        )
    if loss.kind.startswith("binary_cross_entropy") and targets.max > 1:
        return Finding.yes(
            rule.binary_strength,
            f"{loss.kind} is given targets up to {targets.max:.0f}; it needs targets in [0, 1]",
            where="loss",
        )
    return Finding.no()


@detector
def targets_are_values(ev: View) -> Finding:
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
    """The first few values of a list, for a detail line."""
    shown = values[:3]
    return "[" + ", ".join(f"{v:.3g}" for v in shown) + ("…]" if len(values) > len(shown) else "]")
