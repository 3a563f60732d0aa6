"""Symptoms of the data the model was fed (the detectors of rules/detect_data.py: values, scale,
labels, order, leakage), each judged on hand-built evidence: it fires, and its near miss (the
benign data it must not mistake for the fault) does not."""

from __future__ import annotations

from typing import Any

import pytest
from symptom_cases import Case, check, clear, evidence, fires, unknown

from diagnose.evidence import Evidence
from diagnose.probes.sections import (
    DataSection,
    FitSection,
    LoaderInfo,
    LossSection,
    NormalizeCall,
    TaskInfo,
    TensorSummary,
)


def floats(
    mean: float,
    std: float,
    low: float,
    high: float,
    feature_std: list[float] | None = None,
    nan: int = 0,
    inf: int = 0,
) -> TensorSummary:
    """Float32 tensors of these statistics (over every value, and per feature when given)."""
    return TensorSummary(
        dtype="float32",
        min=low,
        max=high,
        mean=mean,
        std=std,
        nan=nan,
        inf=inf,
        feature_std=feature_std or [],
    )


def integers(low: int, high: int, distinct: int) -> TensorSummary:
    """Integer-valued targets (class indices, counts, ratings) stored as floats or longs."""
    return TensorSummary(dtype="int64", min=low, max=high, integer_valued=True, distinct=distinct)


def fed(inputs: TensorSummary, val_inputs: TensorSummary | None = None) -> Evidence:
    return evidence(data=DataSection(inputs=inputs, val_inputs=val_inputs))


TOKENS = TensorSummary(dtype="int64", min=0, max=50256, integer_valued=True, distinct=900)
CLEAN = floats(0.0, 1.0, -3.0, 3.0)

CASES: list[Case] = [
    fires(
        "NaN in the training inputs, Inf in the validation inputs",
        "nonfinite_inputs",
        fed(floats(0.0, 1.0, -3.0, 3.0, nan=3), floats(0.0, 1.0, -3.0, 3.0, inf=1)),
        "3 NaN and 1 Inf values in the inputs fed to the model (sampled batches)",
    ),
    clear(
        "the NaN is in the targets, the inputs are clean",
        "nonfinite_inputs",
        evidence(data=DataSection(inputs=CLEAN, targets=floats(0.0, 1.0, -2.0, 2.0, nan=56))),
        "",
    ),
    unknown(
        "no input batch was seen",
        "nonfinite_inputs",
        evidence(data=DataSection()),
        "no batch of training inputs was observed",
    ),
    fires(
        "NaN regression targets",
        "nonfinite_targets",
        evidence(data=DataSection(inputs=CLEAN, targets=floats(0.0, 1.0, -2.0, 2.0, nan=56))),
        "56 NaN and 0 Inf values in the targets given to the loss (sampled batches)",
    ),
    clear(
        "the NaN is in the validation inputs, the targets are clean",
        "nonfinite_targets",
        evidence(
            data=DataSection(
                inputs=CLEAN,
                val_inputs=floats(0.0, 1.0, -3.0, 3.0, nan=4),
                targets=integers(0, 9, 10),
            )
        ),
        "",
    ),
]

# Scale of the inputs as a whole: raw pixels against standardized data with a long tail.
CASES += [
    fires(
        "raw 0-255 pixels",
        "inputs_large_scale",
        fed(floats(33.3, 78.6, 0.0, 255.0)),
        "inputs have mean 33.3 and std 78.6 (range 0 to 255); networks train best on inputs of "
        "mean ~0 and std ~1",
    ),
    clear(
        "standardized data whose outliers reach 45",
        "inputs_large_scale",
        fed(floats(0.02, 1.02, -3.1, 45.0)),
        "input scale 1.02",
    ),
    clear(
        "unscaled but modest features, just under the limit",
        "inputs_large_scale",
        fed(floats(4.2, 9.5, -20.0, 31.0)),
        "input scale 9.5",
    ),
    unknown(
        "token ids are not scaled",
        "inputs_large_scale",
        evidence(data=DataSection(inputs=TOKENS)),
        "inputs are int64, not floating point",
    ),
]

# Spread per feature: unscaled tabular columns against standardized ones beside a rare flag.
CASES += [
    fires(
        "a raw price column beside standardized ones",
        "feature_scales_disparate",
        fed(floats(40.0, 300.0, -3.0, 4000.0, feature_std=[0.5, 2.0, 800.0])),
        "per-feature std ranges from 0.5 to 800 (1.6e+03x apart)",
    ),
    fires(
        "two decades apart, the widest feature unscaled",
        "feature_scales_disparate",
        fed(floats(1.0, 3.0, -1.0, 30.0, feature_std=[0.05, 6.0])),
        "per-feature std ranges from 0.05 to 6 (120x apart)",
    ),
    clear(
        "two decades apart, every feature within unit scale (a rare 0/1 flag)",
        "feature_scales_disparate",
        fed(floats(0.0, 1.0, -3.0, 3.0, feature_std=[0.02, 1.0, 3.0])),
        "feature std ratio 150",
    ),
    clear(
        "constant padding columns are not a scale",
        "feature_scales_disparate",
        fed(floats(0.0, 1.0, -3.0, 3.0, feature_std=[0.0, 1e-9, 0.9, 1.1])),
        "feature std ratio 1.22",
    ),
    unknown(
        "a single varying feature",
        "feature_scales_disparate",
        fed(floats(0.0, 1.0, -3.0, 3.0, feature_std=[0.0, 1.0])),
        "fewer than two non-constant input features or channels",
    ),
]

# Squashed inputs: pixels divided by 255 twice, raw pixels standardized twice; against quiet audio
# (small spread, wide range) and white document scans (off centre, ordinary spread).
CASES += [
    fires(
        "pixels divided by 255 twice",
        "inputs_squashed",
        fed(floats(0.0005, 0.0012, 0.0, 0.0039)),
        "inputs have std 0.0012 around mean 0.0005 (range 0 to 0.0039): nearly constant after "
        "preprocessing",
    ),
    fires(
        "raw pixels standardized twice with their own statistics",
        "inputs_squashed",
        fed(floats(-0.424, 0.0127, -0.429, -0.388)),
        "inputs have std 0.0127 around mean -0.424 (range -0.429 to -0.388): nearly constant "
        "after preprocessing",
    ),
    clear(
        "a quiet audio waveform: a small spread with peaks far from zero",
        "inputs_squashed",
        fed(floats(0.001, 0.04, -0.5, 0.6)),
        "input std 0.04, mean 0.001",
    ),
    clear(
        "white document scans: 4.5 spreads off zero",
        "inputs_squashed",
        fed(floats(0.9, 0.2, 0.0, 1.0)),
        "input std 0.2, mean 0.9",
    ),
]

# torchvision normalize: raw-pixel statistics applied to standardized data, or a second normalize
# per sample; against ImageNet statistics applied to [0, 1] pixels, once.
IMAGENET = NormalizeCall(0.45, 0.27, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
CASES += [
    fires(
        "raw-pixel statistics applied to standardized data",
        "normalize_twice",
        evidence(data=DataSection(normalize_calls=[NormalizeCall(0.01, 0.99, [33.3], [78.6])])),
        "normalize(mean=[33.3], std=[78.6]) is applied to data that is already standardized "
        "(mean 0.01, std 0.99)",
    ),
    fires(
        "per-channel raw statistics, four channels shown as three",
        "normalize_twice",
        evidence(
            data=DataSection(
                normalize_calls=[
                    IMAGENET,
                    NormalizeCall(
                        0.02, 1.01, [125.3, 123.0, 113.9, 90.0], [63.0, 62.1, 66.7, 58.0]
                    ),
                ]
            )
        ),
        "normalize(mean=[125, 123, 114…], std=[63, 62.1, 66.7…]) is applied to data that is "
        "already standardized (mean 0.02, std 1.01)",
    ),
    fires(
        "two normalize calls per sample",
        "normalize_twice",
        evidence(data=DataSection(normalize_calls=[IMAGENET], normalize_calls_per_sample=2.0)),
        "each sample passes through torchvision's normalize 2.0 times",
    ),
    clear(
        "ImageNet statistics on [0, 1] pixels, once per sample",
        "normalize_twice",
        evidence(data=DataSection(normalize_calls=[IMAGENET], normalize_calls_per_sample=1.0)),
        "",
    ),
    clear(
        "once per sample, prefetched batches normalized before they were counted",
        "normalize_twice",
        evidence(data=DataSection(normalize_calls=[IMAGENET], normalize_calls_per_sample=1.25)),
        "",
    ),
    unknown(
        "no normalize call",
        "normalize_twice",
        evidence(data=DataSection(inputs=CLEAN)),
        "no torchvision normalize call was observed",
    ),
]


def labels(counts: dict[int, int], **fields: Any) -> Evidence:
    """Training labels with these class counts (and other data fields)."""
    return evidence(data=DataSection(class_counts=counts, **fields))


TEN_BALANCED = dict.fromkeys(range(10), 100)
CASES += [
    fires(
        "90/7/3",
        "imbalanced_classes",
        labels({0: 900, 1: 70, 2: 30}),
        "class 0 is 90.0% of the training labels; the rarest class is 3.0% (30x fewer)",
    ),
    clear(
        "a 90/10 binary split",
        "imbalanced_classes",
        labels({0: 540, 1: 60}),
        "largest/smallest class ratio 9",
    ),
    unknown(
        "a single class",
        "imbalanced_classes",
        labels({3: 100}),
        "a single class in the observed labels",
    ),
]


def split(train: dict[int, int], validation: list[int], held_out: int | None = None) -> Evidence:
    """Training class counts beside a labelled validation pass (its confusion rows sum to
    ``validation``, one per class) over a held-out set of ``held_out`` samples."""
    rows = [[0] * len(validation) for _ in validation]
    for label, count in enumerate(validation):
        rows[label][label] = count
    size = sum(validation) if held_out is None else held_out
    return evidence(
        data=DataSection(
            class_counts=train, loaders=[LoaderInfo("eval", 100, size, "SequentialSampler", 0, 3)]
        ),
        loss=LossSection(confusion=rows),
    )


CASES += [
    fires(
        "a class filtered out of training, not out of validation",
        "class_shares_shift",
        split({0: 495, 1: 495, 2: 10}, [100, 100, 100]),
        "class 2 is 1.0% of the training labels but 33.3% of the validation labels (33.3x apart)",
    ),
    clear(
        "an imbalance both splits share",
        "class_shares_shift",
        split({0: 880, 1: 120}, [180, 20]),
        "class shares agree within 1.2x between training and validation",
    ),
    clear(
        "a class rare in both splits, its shares 3x apart",
        "class_shares_shift",
        split({0: 600, 1: 395, 2: 5}, [120, 77, 3]),
        "class shares agree within 1.03x between training and validation",
    ),
    unknown(
        "the pass saw a third of an ordered validation set",
        "class_shares_shift",
        split({0: 500, 1: 500}, [300, 0], held_out=1000),
        "the validation pass saw 300 of 1000 samples (an ordered set may hold its classes in runs)",
    ),
    unknown(
        "a validation pass that counted no labels",
        "class_shares_shift",
        split({0: 500, 1: 500}, [0, 0]),
        "the validation pass counted no labelled samples",
    ),
]

CASES += [
    fires(
        "next-token targets",
        "targets_are_input_tokens",
        evidence(data=DataSection(inputs=TOKENS, targets_from_inputs=1.0)),
        "the targets are the input tokens (or the next ones) in 100% of the checked loss calls: "
        "next-token targets over a vocabulary",
    ),
    clear(
        "a sentiment classifier over token sequences",
        "targets_are_input_tokens",
        evidence(data=DataSection(inputs=TOKENS, targets_from_inputs=0.0)),
        "targets match the input tokens in 0% of the checked loss calls",
    ),
    unknown(
        "no token inputs",
        "targets_are_input_tokens",
        evidence(data=DataSection(inputs=CLEAN)),
        "no integer sequence input to compare the targets with",
    ),
]


def predicting(share: float, counts: dict[int, int] | None) -> Evidence:
    data = DataSection(class_counts=counts) if counts is not None else None
    return evidence(loss=LossSection(kind="cross_entropy", predicted_share=share), data=data)


CASES += [
    fires(
        "one class for ten balanced ones",
        "predictions_one_class",
        predicting(0.995, TEN_BALANCED),
        "99.5% of recent training predictions are the same class",
    ),
    clear(
        "98.2% majority predictions on labels 97% one class",
        "predictions_one_class",
        predicting(0.982, {0: 970, 1: 30}),
        "most common predicted class 98.2%",
    ),
    unknown(
        "a GAN's constant targets, no labels from the data",
        "predictions_one_class",
        predicting(1.0, None),
        "no labels with several classes were read from the data",
    ),
]

CASES += [
    fires(
        "batches in label order",
        "labels_sorted",
        labels(
            {0: 120, **dict.fromkeys(range(1, 10), 98)},
            batch_majority_share=0.96,
            loaders=[LoaderInfo("train", 32, 1002, "SequentialSampler", 0, 5)],
        ),
        "on average 96% of a training batch is one class, although the largest class is 12% of "
        "the data (training loader sampler: SequentialSampler)",
    ),
    clear(
        "shuffled batches of a dominant class",
        "labels_sorted",
        labels({0: 920, 1: 80}, batch_majority_share=0.93),
        "batch majority share 93% vs 92% overall",
    ),
    clear(
        "shuffled batches of ten classes",
        "labels_sorted",
        labels(TEN_BALANCED, batch_majority_share=0.24),
        "batch majority share 24% vs 10% overall",
    ),
]

CASES += [
    fires(
        "an eighth of validation copied from training",
        "val_rows_in_train",
        evidence(data=DataSection(val_rows_hashed=500, val_rows_in_train=60)),
        "60 of 500 validation inputs (12%) are exact copies of training inputs",
    ),
    clear(
        "stray duplicates, as real datasets hold",
        "val_rows_in_train",
        evidence(data=DataSection(val_rows_hashed=500, val_rows_in_train=45)),
        "9.0% of validation rows occur in training data",
    ),
    unknown(
        "too few validation rows",
        "val_rows_in_train",
        evidence(data=DataSection(val_rows_hashed=6, val_rows_in_train=6)),
        "fewer than 10 validation inputs separate from the training data were seen",
    ),
    fires(
        "evaluation on the training tensor's last rows",
        "evaluates_training_slice",
        evidence(data=DataSection(train_slice_rows=297, train_slice_rows_in_train=297)),
        "297 inputs evaluated without gradients are a slice of the training tensor; if they are "
        "reported as validation, they measure memorization",
    ),
    clear(
        "predictions printed for a handful of training rows",
        "evaluates_training_slice",
        evidence(data=DataSection(train_slice_rows=8, train_slice_rows_in_train=8)),
        "",
    ),
]

CASES += [
    fires(
        "validation inputs left unscaled",
        "val_inputs_differ",
        fed(floats(0.0205, 0.986, -2.5, 3.0), floats(69.0, 215.0, 0.0, 2000.0)),
        "training inputs have mean 0.0205, std 0.986; validation inputs mean 69, std 215",
    ),
    fires(
        "validation shifted three training spreads",
        "val_inputs_differ",
        fed(floats(0.0, 1.0, -3.0, 3.0), floats(3.0, 1.1, 0.0, 6.0)),
        "training inputs have mean 0, std 1; validation inputs mean 3, std 1.1",
    ),
    clear(
        "another distribution, scaled with the training statistics",
        "val_inputs_differ",
        fed(floats(0.01, 1.0, -3.0, 3.0), floats(1.8, 1.2, -2.0, 6.0)),
        "",
    ),
    clear(
        "noise-augmented training batches spread wider than clean validation",
        "val_inputs_differ",
        fed(floats(0.0, 1.6, -5.0, 5.0), floats(0.0, 1.0, -3.0, 3.0)),
        "",
    ),
    unknown(
        "token ids",
        "val_inputs_differ",
        fed(TOKENS, TOKENS),
        "input statistics are not comparable",
    ),
]


def targets(kind: str, summary: TensorSummary, *kinds: str) -> Evidence:
    return evidence(
        loss=LossSection(kind=kind, kinds=[kind, *kinds]), data=DataSection(targets=summary)
    )


CASES += [
    fires(
        "digits regressed with MSE",
        "targets_class_indices",
        targets("mse_loss", integers(0, 9, 10)),
        "mse_loss is trained on class indices: 10 distinct integer targets from 0 to 9",
    ),
    fires(
        "a sampled batch lacking two of ten classes",
        "targets_class_indices",
        targets("l1_loss", integers(0, 9, 8)),
        "l1_loss is trained on class indices: 8 distinct integer targets from 0 to 9",
    ),
    fires(
        "a binary loss given class indices",
        "targets_class_indices",
        targets("binary_cross_entropy_with_logits", integers(0, 4, 5)),
        "binary_cross_entropy_with_logits is given targets up to 4; it needs targets in [0, 1]",
    ),
    clear(
        "0/1 targets under MSE",
        "targets_class_indices",
        targets("mse_loss", integers(0, 1, 2)),
        "",
    ),
    clear(
        "counts from 0 to 250 with gaps",
        "targets_class_indices",
        targets("mse_loss", integers(0, 250, 80)),
        "",
    ),
    clear(
        "ratings from 1 to 5",
        "targets_class_indices",
        targets("mse_loss", integers(1, 5, 5)),
        "",
    ),
    clear(
        "real-valued targets",
        "targets_class_indices",
        targets("mse_loss", floats(0.1, 1.2, -3.0, 4.0)),
        "targets are not integer class indices",
    ),
]

CASES += [
    fires(
        "cross-entropy on standardized real values",
        "classification_loss_on_values",
        targets("cross_entropy", floats(0.0, 1.0, -1.67, 2.54)),
        "cross_entropy is trained on real-valued targets from -1.67 to 2.54: a regression task",
    ),
    clear(
        "soft labels from label smoothing",
        "classification_loss_on_values",
        targets("binary_cross_entropy", floats(0.5, 0.4, 0.05, 0.95)),
        "the targets lie in [0, 1]: probabilities",
    ),
    clear(
        "class indices",
        "classification_loss_on_values",
        targets("cross_entropy", integers(0, 9, 10)),
        "the targets are class indices",
    ),
    unknown(
        "a classification loss trained beside a regression one",
        "classification_loss_on_values",
        targets("cross_entropy", floats(0.0, 1.0, -1.67, 2.54), "mse_loss"),
        "several losses are trained together (cross_entropy, mse_loss)",
    ),
]


def read_off(**task: Any) -> Evidence:
    """The fit probe's task model of a run: how its targets line up with its inputs."""
    return evidence(fit=FitSection(task=TaskInfo(kind="classification", **task)))


COPIED = "targets equal the input tokens at the same position in 100% of positions, at the next "
CASES += [
    fires(
        "a character model trained on its own inputs",
        "targets_copy_inputs",
        read_off(copies_input=1.0, next_input=0.07, looks_ahead=False),
        f"the {COPIED}position in 7%, and the model's output at a position does not depend on "
        "later tokens: a causal model can copy its input, where next-token prediction shifts the "
        "targets by one",
    ),
    clear(
        "a language model's targets shifted by one",
        "targets_copy_inputs",
        read_off(copies_input=0.07, next_input=1.0),
        "targets equal the input tokens at the same position in 7% of positions, at the next "
        "position in 100%",
    ),
    clear(
        "a sequence autoencoder reproduces its input through a bottleneck",
        "targets_copy_inputs",
        read_off(copies_input=1.0, next_input=0.07, looks_ahead=True),
        f"{COPIED}position in 7%, but the model reads the whole sequence (changing the last "
        "token changes its earlier outputs): reproducing its input can be its task",
    ),
    unknown(
        "a copy whose model could not be checked",
        "targets_copy_inputs",
        read_off(copies_input=1.0, next_input=0.07),
        f"{COPIED}position in 7%, and whether the model looks ahead could not be checked",
    ),
    fires(
        "the label is an input column",
        "targets_copy_inputs",
        read_off(copied_feature=3),
        "the target equals input feature 3 in every row of the probe batches: the label is "
        "given to the model as an input",
    ),
    unknown(
        "images and class labels",
        "targets_copy_inputs",
        read_off(),
        "no integer sequence input lines up with the targets",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_symptom(case: Case, rule_book) -> None:
    check(case, rule_book)
