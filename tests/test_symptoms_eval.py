"""Symptoms of evaluation bookkeeping and validation curves (rules/evaluation.yaml, and
train_fits_worse_than_val in data.yaml) and of the replays (rules/replays.yaml), each judged on
hand-built evidence: it fires, and its near miss does not."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import pytest
from symptom_cases import (
    Case,
    check,
    clear,
    curve,
    evidence,
    fires,
    fit,
    flat,
    replay,
    unknown,
)

from diagnose.evidence import Evidence, ScenarioRun
from diagnose.probes.sections import (
    BookkeepingSection,
    DataSection,
    EvalPass,
    FitSection,
    GradCheckResult,
    GradCheckSection,
    LossSection,
    LRRangeSection,
    ModelSection,
    OptimizerInfo,
    OptimizerSection,
    OverfitSection,
    TaskInfo,
)
from diagnose.rules.loader import RuleBook

# -- train and eval mode -----------------------------------------------------------------------

MODE_LAYERS = ModelSection(mode_dependent=["features.1", "features.4", "classifier.2"])
NO_MODE_LAYERS = ModelSection(mode_dependent=[])


def steps_in_eval(in_eval: int, checked: int, model: ModelSection) -> Evidence:
    """A run whose backward passes were checked for the model's mode."""
    book = BookkeepingSection(
        steps=checked,
        backward_calls=checked,
        backward_in_eval_mode=in_eval,
        backward_mode_checked=checked,
        eval_calls=3,
        train_calls=1,
    )
    return evidence(bookkeeping=book, model=model)


def validated(forwards_in_train: list[int], model: ModelSection) -> Evidence:
    """Validation passes of 50 forwards each under no_grad, with so many of them in train mode."""
    passes = [
        EvalPass(100 * (i + 1), 400, 0.5, 0.8, forwards=50, forwards_in_train_mode=in_train)
        for i, in_train in enumerate(forwards_in_train)
    ]
    return evidence(loss=LossSection(eval_passes=passes), model=model)


CASES: list[Case] = [
    fires(
        "model.train() never restored after the first validation",
        "backward_in_eval_mode",
        steps_in_eval(140, 200, MODE_LAYERS),
        "140 of 200 training steps ran with the model in eval mode (model.eval() was called 3 "
        "times, model.train() 1); it has features.1, features.4, classifier.2",
    ),
    clear(
        "eval mode changes nothing in a model without dropout or batchnorm",
        "backward_in_eval_mode",
        steps_in_eval(150, 200, NO_MODE_LAYERS),
        "75% of training steps in eval mode (no dropout/batchnorm, so the mode does not matter)",
    ),
    clear(
        "just under half the steps in eval mode",
        "backward_in_eval_mode",
        steps_in_eval(90, 200, MODE_LAYERS),
        "45% of training steps in eval mode",
    ),
    unknown(
        "too few backward passes to tell",
        "backward_in_eval_mode",
        steps_in_eval(3, 4, MODE_LAYERS),
        "fewer than 5 backward passes",
    ),
    fires(
        "validation without model.eval()",
        "validation_in_train_mode",
        validated([50, 50, 50], MODE_LAYERS),
        "150 of 150 forward passes under torch.no_grad() ran in train mode, with features.1, "
        "features.4, classifier.2 active",
    ),
    fires(
        "model.eval() only before the first validation",
        "validation_in_train_mode",
        validated([0, 50, 50], MODE_LAYERS),
        "100 of 150 forward passes under torch.no_grad() ran in train mode, with features.1, "
        "features.4, classifier.2 active",
    ),
    clear(
        "one no_grad pass in train mode among validation in eval mode",
        "validation_in_train_mode",
        validated([0, 0, 50], MODE_LAYERS),
        "",
    ),
    clear(
        "train mode changes nothing in a model without dropout or batchnorm",
        "validation_in_train_mode",
        validated([50, 50, 50], NO_MODE_LAYERS),
        "",
    ),
    unknown(
        "no validation at all",
        "validation_in_train_mode",
        evidence(loss=LossSection(eval_passes=[]), model=MODE_LAYERS),
        "no forward pass without gradients (validation) was seen",
    ),
]

# -- validation curves -------------------------------------------------------------------------


def val(
    step: int, loss: float | None, accuracy: float | None = None, samples: int = 400
) -> EvalPass:
    return EvalPass(step, samples, loss, accuracy, forwards=10, forwards_in_train_mode=0)


def trained(values: Sequence[float], *passes: EvalPass, **loss: Any) -> Evidence:
    """A run whose training loss was logged at every step, validated by ``passes`` (and any other
    fields of its loss section)."""
    steps = list(range(len(values)))
    return evidence(
        loss=LossSection(steps=steps, values=list(values), eval_passes=list(passes), **loss)
    )


FALLING = [1.0 - 0.004 * step for step in range(200)]  # 0.538 around step 115, 0.222 at the end
RISING = [0.2 + 0.004 * step for step in range(200)]
EVERY_40 = (40, 80, 120, 160, 200)

CASES += [
    fires(
        "validation turns up while training keeps falling",
        "val_loss_rising",
        trained(FALLING, *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8])),
        "the validation loss bottomed at 0.55 (step 120) and rose to 0.75 while the training loss "
        "fell from 0.538 to 0.222",
    ),
    clear(
        "validation wobbling 4% above its best",
        "val_loss_rising",
        trained(FALLING, *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.57, 0.574])),
        "validation loss 0.55 at best, 0.574 last",
    ),
    clear(
        "one pass above the best is not a climb",
        "val_loss_rising",
        trained(FALLING, *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.52, 0.7])),
        "validation loss 0.52 at best, 0.7 last",
    ),
    clear(
        "the training loss rose too: the run degrades, it does not overfit",
        "val_loss_rising",
        trained(RISING, *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8])),
        "the validation loss rose, but so did the training loss (not overfitting)",
    ),
    clear(
        "no finite training loss by the best pass",
        "val_loss_rising",
        trained([math.nan] * 130 + FALLING[130:], *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8])),
        "the validation loss rose, but no finite training loss was logged by step 120",
    ),
    unknown(
        "three validation passes",
        "val_loss_rising",
        trained(FALLING, val(50, 0.9), val(100, 0.6), val(150, 0.7)),
        "fewer than 4 validation passes with a loss",
    ),
    clear(
        "a classifier grows confident on the rows it gets wrong: its accuracy holds",
        "val_loss_rising",
        trained(
            FALLING,
            *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8], [0.6, 0.8, 0.85, 0.85, 0.86]),
        ),
        "the validation loss bottomed at 0.55 (step 120) and rose to 0.75 while the training loss "
        "fell from 0.538 to 0.222, but the validation accuracy held (85.0% at best, 85.5% at the "
        "end, on 400 samples): the model grew more confident, it did not generalize worse",
    ),
    clear(
        "an accuracy a few rows lower, within what 400 samples can tell",
        "val_loss_rising",
        trained(
            FALLING,
            *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8], [0.6, 0.8, 0.85, 0.83, 0.83]),
        ),
        "the validation loss bottomed at 0.55 (step 120) and rose to 0.75 while the training loss "
        "fell from 0.538 to 0.222, but the validation accuracy held (85.0% at best, 83.0% at the "
        "end, on 400 samples): the model grew more confident, it did not generalize worse",
    ),
    fires(
        "the loss rises and the accuracy falls with it",
        "val_loss_rising",
        trained(
            FALLING,
            *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8], [0.6, 0.8, 0.85, 0.78, 0.76]),
        ),
        "the validation loss bottomed at 0.55 (step 120) and rose to 0.75 while the training loss "
        "fell from 0.538 to 0.222, and the validation accuracy fell from 85.0% to 77.0% (400 "
        "samples)",
    ),
]

MEMORIZED = [*curve(2.0, 0.05, 80), *flat(0.02, 20)]
# Every training call summed over a batch of 32 (the validation passes are read per sample).
SUMMED_OVER_32: dict[str, Any] = {
    "kind": "mse_loss",
    "first_kind": "mse_loss",
    "training_calls": 100,
    "sum_reduction_calls": 100,
    "output_shape": [32, 1],
}
CASES += [
    fires(
        "validation 44% of the way back to where training started",
        "generalization_gap",
        trained(MEMORIZED, val(50, 0.6), val(100, 0.9)),
        "the training loss fell from 2 to 0.02 but the validation loss is 0.9: a gap of 44% of the "
        "way back to where training started (2), the model memorizes the training set",
    ),
    clear(
        "an ordinary gap",
        "generalization_gap",
        trained([*curve(2.0, 0.25, 80), *flat(0.2, 20)], val(50, 0.6), val(100, 0.44)),
        "the training loss fell from 2 to 0.2 but the validation loss is 0.44: a gap of 12% of the "
        "way back to where training started (2)",
    ),
    clear(
        "a training loss 0.002 and a validation loss 0.15, 75 times it, a small part of the fall",
        "generalization_gap",
        trained([*curve(2.3, 0.003, 80), *flat(0.002, 20)], val(50, 0.3), val(100, 0.15)),
        "the training loss fell from 2.3 to 0.002 but the validation loss is 0.15: a gap of 6% of "
        "the way back to where training started (2.3)",
    ),
    fires(
        "a margin loss that reaches zero on the training set",
        "generalization_gap",
        trained([*curve(1.0, 0.01, 80), *flat(0.0, 20)], val(50, 0.4), val(100, 0.3)),
        "the training loss fell from 1 to 0 but the validation loss is 0.3: a gap of 30% of the "
        "way back to where training started (1), the model memorizes the training set",
    ),
    clear(
        "a training loss that barely fell has nothing memorized",
        "generalization_gap",
        trained([*curve(2.0, 1.4, 80), *flat(1.3, 20)], val(50, 2.0), val(100, 2.2)),
        "the training loss went from 2 to 1.3: too little fit to memorize anything",
    ),
    clear(
        "a loss summed over batches of 32 is read per sample, as the validation passes are",
        "generalization_gap",
        trained([32 * v for v in MEMORIZED], val(50, 0.6), val(100, 0.1), **SUMMED_OVER_32),
        "the training loss fell from 2 to 0.02 but the validation loss is 0.1: a gap of 4% of the "
        "way back to where training started (2)",
    ),
    unknown(
        "too short a training log",
        "generalization_gap",
        trained(curve(2.0, 0.1, 8), val(4, 0.6), val(8, 0.5)),
        "fewer than 10 finite training loss values",
    ),
    unknown(
        "a single validation pass",
        "generalization_gap",
        trained(MEMORIZED, val(100, 0.5)),
        "fewer than 2 validation passes with a loss",
    ),
]


def scored(
    accuracies: Sequence[float],
    samples: int,
    data: DataSection | None = None,
    n_classes: int | None = None,
    losses: Sequence[float] | None = None,
) -> Evidence:
    """A classifier's validation passes with these accuracies (and losses, 0.9 if not given) on
    ``samples`` samples each."""
    losses = losses or [0.9] * len(accuracies)
    passes = [
        val(50 * (i + 1), value, accuracy, samples)
        for i, (accuracy, value) in enumerate(zip(accuracies, losses))
    ]
    loss = LossSection(kind="cross_entropy", n_classes=n_classes, eval_passes=passes)
    return evidence(loss=loss, data=data)


MAJORITY_60 = DataSection(class_counts={0: 600, 1: 250, 2: 150})
MAJORITY_40 = DataSection(class_counts={0: 40, 1: 30, 2: 30})
AT_CHANCE = (
    "within what {} validation samples can tell: the model has learned nothing that carries to "
    "validation"
)


def regression(val_losses: Sequence[float]) -> Evidence:
    """An MSE regression whose constant prediction (each batch's target mean) scores 2.0."""
    passes = [
        EvalPass(50 * (i + 1), 400, value, None, 10, 0, kind="mse_loss")
        for i, value in enumerate(val_losses)
    ]
    return evidence(
        loss=LossSection(kind="mse_loss", constant_values=flat(2.0, 20), eval_passes=passes)
    )


CASES += [
    fires(
        "predicting the majority class of an imbalanced set",
        "val_at_chance",
        scored([0.55, 0.6, 0.58, 0.61], 200, MAJORITY_60),
        "validation accuracy stays at 60.0%, the chance level (60.0%, the majority class's share) "
        + AT_CHANCE.format(200),
    ),
    clear(
        "ten points above the majority share, on 200 samples",
        "val_at_chance",
        scored([0.6, 0.68, 0.7, 0.71], 200, MAJORITY_60),
        "validation accuracy 70.0%, chance 60.0%",
    ),
    fires(
        "eight points above chance on 50 samples is luck",
        "val_at_chance",
        scored([0.42, 0.47, 0.48, 0.49], 50, MAJORITY_40),
        "validation accuracy stays at 48.0%, the chance level (40.0%, the majority class's share) "
        + AT_CHANCE.format(50),
    ),
    clear(
        "eight points above chance on 2000 samples is not",
        "val_at_chance",
        scored([0.42, 0.47, 0.48, 0.49], 2000, MAJORITY_40),
        "validation accuracy 48.0%, chance 40.0%",
    ),
    fires(
        "one in ten, with no class counts",
        "val_at_chance",
        scored([0.1, 0.11, 0.09], 500, n_classes=10),
        "validation accuracy stays at 10.0%, the chance level (10.0%, 1/10 classes) "
        + AT_CHANCE.format(500),
    ),
    fires(
        "from a log alone: about the loss of uniform predictions over four classes",
        "val_at_chance",
        scored([0.25, 0.25, 0.25], 100, losses=[1.4, 1.45, 1.5]),
        "validation accuracy stays at 25.0%, the chance level (25.0%, the validation loss 1.5 ≈ "
        "ln(1/accuracy): uniform predictions) " + AT_CHANCE.format(100),
    ),
    clear(
        "from a log alone: a loss 12% off uniform predictions' says nothing about chance",
        "val_at_chance",
        scored([0.25, 0.25, 0.25], 100, losses=[1.4, 1.5, 1.55]),
        "validation accuracy 25.0%",
    ),
    fires(
        "a regression no better than predicting the mean",
        "val_at_chance",
        regression([2.1, 1.95, 1.9]),
        "the validation loss stays at 1.95, no lower than the loss of a model that learned "
        "nothing (2): nothing learned carries to validation",
    ),
    clear(
        "a regression just past the margin",
        "val_at_chance",
        regression([2.1, 1.75, 1.7]),
        "validation mse_loss 1.75, constant prediction 2",
    ),
    unknown(
        "one scored pass",
        "val_at_chance",
        scored([0.1], 500, n_classes=10),
        "fewer than 2 validation passes with an accuracy",
    ),
]


def fitted(
    train_losses: Sequence[float], train_accuracy: Sequence[float] = (), *passes: EvalPass
) -> Evidence:
    """Training accuracy sampled at steps 0, 20, 60, 80 and 99 (as many as given)."""
    return trained(
        train_losses,
        *passes,
        train_accuracy=list(train_accuracy),
        train_accuracy_steps=[0, 20, 60, 80, 99][: len(train_accuracy)],
    )


WORSE = "the training targets hold what the model cannot fit"
VALIDATED = (val(50, 0.6, 0.8), val(100, 0.5, 0.85))
CASES += [
    fires(
        "noisy labels keep the training loss at twice validation's",
        "train_fits_worse_than_val",
        trained(flat(1.2, 100), val(50, 0.6), val(100, 0.5)),
        f"late in training the training loss is 1.2 against 0.5 on validation data at its best "
        f"(2.4x): {WORSE}",
    ),
    fires(
        "validation 12 points more accurate than training",
        "train_fits_worse_than_val",
        fitted(flat(0.9, 100), [0.5, 0.55, 0.73, 0.73, 0.75], *VALIDATED),
        "late in training the training loss is 0.9 against 0.5 on validation data at its best "
        f"(1.8x); the best validation accuracy is 85% against 73% in training: {WORSE}",
    ),
    fires(
        "a loss twice validation's, training the more accurate: no accuracy gap shown",
        "train_fits_worse_than_val",
        fitted(flat(1.2, 100), [0.5, 0.7, 0.88, 0.9, 0.9], *VALIDATED),
        f"late in training the training loss is 1.2 against 0.5 on validation data at its best "
        f"(2.4x): {WORSE}",
    ),
    clear(
        "dropout: training loss 1.4 times validation's, accuracies eight points apart",
        "train_fits_worse_than_val",
        fitted(flat(0.7, 100), [0.5, 0.7, 0.77, 0.77, 0.79], *VALIDATED),
        "training loss 0.7, best validation loss 0.5",
    ),
    fires(
        "a short log is read over its last fifth",
        "train_fits_worse_than_val",
        trained([*flat(0.4, 16), 0.9, 1.2, 1.5, 1.8], val(10, 0.7), val(20, 0.5)),
        f"late in training the training loss is 1.35 against 0.5 on validation data at its best "
        f"(2.7x): {WORSE}",
    ),
    clear(
        "a loss summed over batches of 32: 16 a batch is 0.5 a sample, validation's own level",
        "train_fits_worse_than_val",
        trained(flat(16.0, 100), val(50, 0.6), val(100, 0.5), **SUMMED_OVER_32),
        "training loss 0.5, best validation loss 0.5",
    ),
    unknown(
        "a single validation pass",
        "train_fits_worse_than_val",
        trained(flat(1.2, 100), val(100, 0.5)),
        "fewer than 2 validation passes with a loss",
    ),
]

# -- the same judgements on the fit probe: fixed batches, eval mode, per sample ---------------


def probed(task: TaskInfo, running: Sequence[float], *passes: EvalPass, **sets: Any) -> Evidence:
    """A run whose script logged ``running`` training losses and ``passes`` in its own units, and
    whose fit probe measured ``sets`` (see ``symptom_cases.fit``)."""
    return evidence(
        loss=LossSection(
            steps=list(range(len(running))), values=list(running), eval_passes=list(passes)
        ),
        fit=fit(task, **sets),
    )


CLASSES_60 = TaskInfo(kind="classification", loss="cross_entropy", classes=3, majority={"val": 0.6})
CHAR_LM = TaskInfo(kind="next_token", loss="cross_entropy", classes=65, chance={"val": 3.3})
VAE = TaskInfo(kind="reconstruction", loss="binary_cross_entropy")
REGRESSION = TaskInfo(kind="regression", loss="mse_loss", chance={"val": 1.0})
CASES += [
    clear(
        "unscored passes: the fit probe's validation accuracy holds",
        "val_loss_rising",
        probed(
            CLASSES_60,
            FALLING,
            *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8]),
            val=[
                (1.0, 0.5),
                (0.7, 0.7),
                (0.6, 0.8),
                (0.55, 0.85),
                (0.55, 0.85),
                (0.6, 0.86),
                (0.7, 0.86),
                (0.75, 0.85),
                (0.8, 0.86),
            ],
        ),
        "the validation loss bottomed at 0.55 (step 120) and rose to 0.75 while the training loss "
        "fell from 0.538 to 0.222, but the validation accuracy held (85.0% at best, 85.5% at the "
        "end, on 64 samples): the model grew more confident, it did not generalize worse",
    ),
    fires(
        "a language model's validation loss rises: its token accuracy is no measure",
        "val_loss_rising",
        probed(
            CHAR_LM,
            FALLING,
            *map(val, EVERY_40, [0.9, 0.6, 0.55, 0.7, 0.8], [0.6, 0.8, 0.85, 0.85, 0.86]),
            val=[4.7, 3.0],
        ),
        "the validation loss bottomed at 0.55 (step 120) and rose to 0.75 while the training loss "
        "fell from 0.538 to 0.222",
    ),
]
CASES += [
    fires(
        "a classifier whose validation probe stays at the majority share",
        "val_at_chance",
        probed(CLASSES_60, flat(0.9), val=[(1.1, 0.6), (0.95, 0.59), (0.94, 0.61)]),
        "on the validation probe batches (64 samples, eval mode) the accuracy stays at 60.0%, the "
        "chance level (the most frequent class's share, 60.0%) within what 64 samples can tell: "
        "the model has learned nothing that carries to validation",
    ),
    clear(
        "a character model: 12.9% accuracy under the top character's 19.3%, but the loss fell "
        "far below the unigram entropy",
        "val_at_chance",
        probed(
            CHAR_LM,
            flat(2.6),
            val=[(4.7, 0.02), (3.6, 0.07), (3.0, 0.1), (2.7, 0.12), (2.6, 0.129), (2.6, 0.129)],
        ),
        "validation probe loss 2.6 per sample, chance 3.3",
    ),
    fires(
        "a character model's validation probe at the unigram entropy",
        "val_at_chance",
        probed(CHAR_LM, flat(3.3), val=[(4.7, 0.02), (3.32, 0.19), (3.3, 0.19)]),
        "on the validation probe batches (64 samples, eval mode) the loss stays at 3.32 per "
        "sample, not 10% below a constant prediction's (3.3), and no longer falls: nothing "
        "learned carries to validation",
    ),
    clear(
        "a bigram model's validation probe falling slowly past the unigram entropy",
        "val_at_chance",
        probed(CHAR_LM, flat(3.0), val=[3.6 - 0.022 * k for k in range(25)]),
        "validation probe loss 3.094 per sample near chance 3.3 but still falling: what is "
        "learned carries, not yet past chance",
    ),
    fires(
        "the probe's training batches right every time, its validation batches far less",
        "generalization_gap",
        probed(
            CLASSES_60,
            flat(0.9),
            train=[(1.1, 0.4), (0.3, 0.9), (0.02, 1.0)],
            val=[(1.1, 0.4), (0.6, 0.7), (0.5, 0.76)],
        ),
        "on fixed probe batches in eval mode the first training batches score 100.0% but the "
        "validation batches 76.0% (64 samples): a gap of 60% of a guess's error (40.0%), the "
        "model memorizes the training set",
    ),
    clear(
        "a confident classifier: validation loss 75 times the training loss, accuracy 3 points "
        "behind",
        "generalization_gap",
        probed(
            CLASSES_60,
            flat(0.9),
            train=[(1.1, 0.4), (0.2, 0.95), (0.002, 1.0)],
            val=[(1.1, 0.4), (0.2, 0.95), (0.15, 0.97)],
        ),
        "on fixed probe batches in eval mode the first training batches score 100.0%, the "
        "validation batches 97.0%: within what 64 samples can tell",
    ),
    clear(
        "a classifier that has not fit its training rows memorizes nothing",
        "generalization_gap",
        probed(
            CLASSES_60,
            flat(0.9),
            train=[(1.1, 0.4), (0.9, 0.7), (0.8, 0.75)],
            val=[(1.1, 0.4), (1.0, 0.5), (1.1, 0.45)],
        ),
        "on fixed probe batches in eval mode the first training batches score 75.0%, a guess "
        "60.0%: too little fit to memorize anything",
    ),
    fires(
        "a regression's validation batches far behind its training batches",
        "generalization_gap",
        probed(REGRESSION, flat(0.5), train=[1.0, 0.2, 0.02], val=[1.0, 0.5, 0.4]),
        "on fixed probe batches in eval mode the first training batches have 0.02 per sample but "
        "the validation batches 0.4: a gap of 38% of a constant prediction's loss (1), the model "
        "memorizes the training set",
    ),
    clear(
        "dropout lifts the running loss; on the probe both sets sit together",
        "generalization_gap",
        probed(REGRESSION, flat(0.02), train=[1.0, 0.5, 0.3], val=[1.0, 0.55, 0.35]),
        "on fixed probe batches in eval mode the first training batches have 0.3 per sample but "
        "the validation batches 0.35: a gap of 5% of a constant prediction's loss (1)",
    ),
    clear(
        "a regression that barely fit its training rows",
        "generalization_gap",
        probed(REGRESSION, flat(0.9), train=[1.0, 0.8, 0.7], val=[1.0, 0.95, 0.98]),
        "on fixed probe batches in eval mode the first training batches have 0.7 per sample, a "
        "constant prediction 1: too little fit to memorize anything",
    ),
    clear(
        "a VAE's per-batch sum (2.2e4) against a per-sample mean (169): on the probe both are "
        "per sample",
        "train_fits_worse_than_val",
        probed(
            VAE,
            flat(2.2e4),
            val(50, 175.0),
            val(100, 169.0),
            train=[540, 180, 170],
            val=[545, 178, 169],
        ),
        "at the best validation probe loss (169, step 50) the first training batches have 170 per "
        "sample",
    ),
    fires(
        "noisy labels keep the probe's training batches at twice the validation loss",
        "train_fits_worse_than_val",
        probed(
            CLASSES_60,
            flat(1.2),
            train=[(1.3, 0.3), (1.2, 0.5), (1.2, 0.5)],
            val=[(1.3, 0.3), (0.6, 0.8), (0.5, 0.85)],
        ),
        "on fixed probe batches in eval mode, at step 50, where the validation batches' loss was "
        "lowest (0.5 per sample), the first training batches have 1.2 per sample (2.4x); accuracy "
        f"85% on the validation batches against 50% on the first training batches: {WORSE}",
    ),
    fires(
        "noisy labels: the training rows lag at validation's best, then are memorized",
        "train_fits_worse_than_val",
        probed(
            CLASSES_60,
            flat(0.3),
            sampled=[(1.3, 0.3), (1.1, 0.55), (0.2, 0.97), (0.05, 1.0)],
            val=[(1.3, 0.3), (0.4, 0.85), (0.7, 0.8), (0.9, 0.78)],
        ),
        "on fixed probe batches in eval mode, at step 25, where the validation batches' loss was "
        "lowest (0.4 per sample), rows drawn from the training set have 1.1 per sample (2.8x); "
        f"accuracy 85% on the validation batches against 55% on rows drawn from the training set: "
        f"{WORSE}",
    ),
    clear(
        "a regression at its noise floor: training rows 27x validation's clean targets, but a "
        "tiny share of a constant prediction's loss",
        "train_fits_worse_than_val",
        probed(
            TaskInfo(kind="regression", loss="mse_loss", chance={"train": 0.5, "val": 0.5}),
            flat(0.0025),
            train=[0.5, 0.01, 0.0025],
            val=[0.5, 0.008, 9.4e-05],
        ),
        "the first training batches have 0.0025 per sample at the best validation probe loss "
        "(9.4e-05, step 50), 0.5% of a constant prediction's (0.5): what is left unfit is the "
        "targets' own noise",
    ),
    clear(
        "a run that diverges late: training rows and validation both fine at validation's best",
        "train_fits_worse_than_val",
        probed(
            CLASSES_60,
            [*flat(0.3, 50), *flat(1e2, 50)],
            train=[(2.3, 0.1), (0.25, 0.93), (102.0, 0.36), (110.0, 0.3)],
            val=[(2.3, 0.1), (0.212, 0.96), (95.0, 0.4), (120.0, 0.3)],
        ),
        "at the best validation probe loss (0.212, step 25) the first training batches have 0.25 "
        "per sample",
    ),
    clear(
        "a training set sorted by class: its first batches hold one class, rows drawn from the "
        "whole set fit like validation",
        "train_fits_worse_than_val",
        probed(
            CLASSES_60,
            flat(2.0),
            train=[(2.3, 0.3), (4.0, 0.0), (5.0, 0.0)],
            sampled=[(2.3, 0.1), (2.3, 0.12), (2.4, 0.1)],
            val=[(2.3, 0.1), (2.32, 0.12), (2.4, 0.1)],
        ),
        "at the best validation probe loss (2.3, step 0) rows drawn from the training set have 2.3 "
        "per sample",
    ),
]

# -- the LR range test -------------------------------------------------------------------------

# Half a decade apart from 1e-6 to 10; the loss falls steadily up to 0.01 and explodes from 0.1 on,
# so the valley rule suggests two thirds down the fall: 1e-3.
RANGE_LRS = [10 ** (-6 + 0.5 * k) for k in range(15)]
RANGE_LOSSES = [2.3 - 0.2 * k for k in range(10)] + [50.0] * 5


def with_lr(lr: float, losses: Sequence[float] = RANGE_LOSSES) -> Evidence:
    """The script's SGD at ``lr``, and an LR range test that went through ``losses``."""
    test = replay("lr_range", lr_range=LRRangeSection(lrs=RANGE_LRS, losses=list(losses)))
    return evidence(
        optimizer=OptimizerSection(optimizers=[OptimizerInfo("SGD", lr, 0.9, 0.0, params=4)]),
        scenarios={"lr_range": test},
    )


CASES += [
    fires(
        "fifty times the suggested LR",
        "lr_above_range",
        with_lr(0.05),
        "the LR range test suggests 0.001; the script uses 0.05 (1.7 decades above)",
    ),
    fires(
        "past the LR where the range test diverged",
        "lr_above_range",
        with_lr(0.2),
        "the LR range test suggests 0.001; the script uses 0.2 (2.3 decades above, past the LR "
        "where the loss diverges (0.1))",
    ),
    clear(
        "five times the valley is still in range",
        "lr_above_range",
        with_lr(0.005),
        "user LR 0.005, suggested 0.001",
    ),
    unknown(
        "a range test that produced almost no finite loss",
        "lr_above_range",
        with_lr(0.05, [2.3, 2.1, 1.9, 1.7, 1.5] + [math.nan] * 10),
        "the LR range test gave too few finite losses",
    ),
    fires(
        "a thousand times below the suggestion",
        "lr_below_range",
        with_lr(1e-6),
        "the LR range test suggests 0.001; the script uses 1e-06 (3.0 decades below)",
    ),
    clear(
        "a cautious fine-tuning LR, 1.5 decades below",
        "lr_below_range",
        with_lr(3e-5),
        "user LR 3e-05, suggested 0.001",
    ),
]

# -- the overfit replays -----------------------------------------------------------------------


def loop(
    values: Sequence[float], accuracy: Sequence[float] = (), probe: FitSection | None = None
) -> ScenarioRun:
    """The script's own loop fed one fixed batch (its running loss; ``probe``: the batch measured
    in eval mode at checkpoints)."""
    loss = LossSection(
        steps=list(range(len(values))), values=list(values), train_accuracy=list(accuracy)
    )
    return replay("overfit_loop", loss=loss, fit=probe)


def looped(values: Sequence[float], accuracy: Sequence[float] = ()) -> Evidence:
    return evidence(scenarios={"overfit_loop": loop(values, accuracy)})


MEMORIZES = looped([*curve(2.3, 0.05, 40), *flat(0.02, 10)])
# Label smoothing keeps the loss of a memorized batch well above a tenth of where it started.
SMOOTHED = looped([*curve(2.3, 0.6, 40), *flat(0.5, 10)], [*flat(0.5, 40), *flat(1.0, 10)])
SHORT = looped([*curve(2.3, 0.3, 40), *flat(0.25, 10)], [*flat(0.5, 40), *flat(0.97, 10)])
BLOWS_UP = looped([*curve(2.3, 5.0, 10), *[math.inf] * 40])
OWN_LOOP = "the script's own loop"
MEMORIZED_PROBE = fit(
    TaskInfo(kind="classification"),
    train=[(2.3, 0.1), (1.0, 0.6), (0.3, 0.9), (0.05, 1.0), (0.02, 1.0), (0.02, 1.0)],
)

CASES += [
    fires(
        "the loop memorizes the batch",
        "overfit_loop_fits",
        MEMORIZES,
        f"{OWN_LOOP} can memorize one batch: loss 2.3 → 0.02 on one fixed batch",
    ),
    clear(
        "the loop memorizes the batch",
        "overfit_loop_fails",
        MEMORIZES,
        "loss 2.3 → 0.02 on one fixed batch",
    ),
    fires(
        "every sample right under label smoothing",
        "overfit_loop_fits",
        SMOOTHED,
        f"{OWN_LOOP} can memorize one batch: loss 2.3 → 0.5 on one fixed batch, accuracy 100%",
    ),
    clear(
        "every sample right under label smoothing",
        "overfit_loop_fails",
        SMOOTHED,
        "loss 2.3 → 0.5 on one fixed batch, accuracy 100%",
    ),
    fires(
        "one sample in a hundred still wrong",
        "overfit_loop_fits",
        looped([*curve(2.3, 0.5, 40), *flat(0.4, 10)], [*flat(0.5, 40), *flat(0.99, 10)]),
        f"{OWN_LOOP} can memorize one batch: loss 2.3 → 0.4 on one fixed batch, accuracy 99%",
    ),
    fires(
        "just short of a fit",
        "overfit_loop_fails",
        SHORT,
        f"{OWN_LOOP} cannot memorize one batch: loss 2.3 → 0.25 on one fixed batch, accuracy 97%",
    ),
    clear(
        "just short of a fit",
        "overfit_loop_fits",
        SHORT,
        "loss 2.3 → 0.25 on one fixed batch, accuracy 97%",
    ),
    fires(
        "the loss overflows",
        "overfit_loop_fails",
        BLOWS_UP,
        f"{OWN_LOOP} cannot memorize one batch: the loss became NaN or infinite",
    ),
    fires(
        "train-mode noise keeps the running loss up; in eval mode the batch is memorized",
        "overfit_loop_fits",
        evidence(scenarios={"overfit_loop": loop(flat(1.1, 50), probe=MEMORIZED_PROBE)}),
        f"{OWN_LOOP} can memorize one batch: loss 2.3 → 0.02 on one fixed batch, accuracy 100%",
    ),
    unknown(
        "the replay recorded no loss",
        "overfit_loop_fits",
        evidence(scenarios={"overfit_loop": replay("overfit_loop")}),
        "the overfit replay recorded no loss",
    ),
]


def isolated(
    losses: Sequence[float],
    accuracies: Sequence[float] = (),
    optimizer: str = "Adam",
    lr: float = 1e-3,
) -> Evidence:
    """A fresh copy of the model trained on the batch with a fresh ``optimizer``."""
    section = OverfitSection(optimizer, lr, list(losses), list(accuracies))
    return evidence(scenarios={"overfit_isolated": replay("overfit_isolated", isolated=section)})


COPY_FITS = isolated([*curve(1.6, 0.05, 40), *flat(0.01, 10)], [*flat(0.6, 40), *flat(1.0, 10)])
TOO_SMALL = isolated(
    [*curve(0.7, 0.69, 40), *flat(0.69, 10)], [*flat(0.5, 40), *flat(0.52, 10)], "SGD", 0.01
)
COPY = "a fresh copy of the model with"
NO_MATCH = "skipped: the model's output does not match the loss input"
CASES += [
    fires(
        "a fresh copy memorizes the batch",
        "isolated_fits",
        COPY_FITS,
        f"{COPY} Adam(lr=0.001) can memorize the batch: loss 1.6 → 0.01 on one fixed batch, "
        "accuracy 100%",
    ),
    clear(
        "a fresh copy memorizes the batch",
        "isolated_fails",
        COPY_FITS,
        "loss 1.6 → 0.01 on one fixed batch, accuracy 100%",
    ),
    fires(
        "a model too small for the batch",
        "isolated_fails",
        TOO_SMALL,
        f"{COPY} SGD(lr=0.01) cannot memorize the batch: loss 0.7 → 0.69 on one fixed batch, "
        "accuracy 52%",
    ),
    clear(
        "a model too small for the batch",
        "isolated_fits",
        TOO_SMALL,
        "loss 0.7 → 0.69 on one fixed batch, accuracy 52%",
    ),
    clear(
        "a regression that just gets below a tenth",
        "isolated_fails",
        isolated([*curve(1.6, 0.2, 40), *flat(0.15, 10)]),
        "loss 1.6 → 0.15 on one fixed batch",
    ),
    fires(
        "a regression that just gets below a tenth",
        "isolated_fits",
        isolated([*curve(1.6, 0.2, 40), *flat(0.15, 10)]),
        f"{COPY} Adam(lr=0.001) can memorize the batch: loss 1.6 → 0.15 on one fixed batch",
    ),
    unknown(
        "the copy could not be trained alone",
        "isolated_fits",
        evidence(
            scenarios={
                "overfit_isolated": replay(
                    "overfit_isolated",
                    isolated=OverfitSection(note=NO_MATCH),
                )
            }
        ),
        NO_MATCH,
    ),
]

# -- the label control -------------------------------------------------------------------------

LEARNS = [*curve(2.3, 1.1, 40), *flat(1.0, 10)]  # halves, short of a fit
SHUFFLED = [2.3 - 0.01 * step for step in range(20)]  # mean 2.205


def label_control(
    true: Sequence[float], shuffled: Sequence[float], own: Sequence[float]
) -> Evidence:
    """The same few fixed batches trained on with true and with shuffled labels, beside the
    script's loop on one batch."""
    runs = {
        "overfit_loop": loop(own),
        "subset": replay("subset", loss=LossSection(values=list(true))),
        "label_control": replay("label_control", loss=LossSection(values=list(shuffled))),
    }
    return evidence(scenarios=runs)


CASES += [
    fires(
        "shuffled labels learned about as fast",
        "labels_no_signal",
        label_control([2.3 - 0.02 * step for step in range(20)], SHUFFLED, LEARNS),
        "the loop learns one batch, yet on the same fixed batches the mean loss is 2.11 with the "
        "true labels and 2.205 with shuffled labels",
    ),
    clear(
        "true labels learned 17% faster",
        "labels_no_signal",
        label_control([2.3 - 0.05 * step for step in range(20)], SHUFFLED, LEARNS),
        "on the same fixed batches the mean loss is 1.825 with the true labels and 2.205 with "
        "shuffled labels",
    ),
    unknown(
        "a loop that learns nothing makes the control meaningless",
        "labels_no_signal",
        label_control(SHUFFLED, SHUFFLED, [*curve(2.3, 2.25, 40), *flat(2.2, 10)]),
        "the script's loop does not learn one batch (loss 2.3 → 2.2 on one fixed batch), so "
        "shuffling the labels cannot tell anything about them",
    ),
    unknown(
        "a control too short to average",
        "labels_no_signal",
        label_control([2.3 - 0.02 * step for step in range(20)], SHUFFLED[:5], LEARNS),
        "too few finite losses in the label control",
    ),
]

# -- gradcheck and zeroed inputs ---------------------------------------------------------------


def gradchecked(*results: GradCheckResult) -> Evidence:
    section = GradCheckSection(results=list(results))
    return evidence(scenarios={"gradcheck": replay("gradcheck", gradcheck=section)})


WRONG_BACKWARD = gradchecked(GradCheckResult("MyReLU", 0.5), GradCheckResult("Scale", 2e-7))
# A float32 function's rounding, below a wrong formula's error.
ROUNDED = gradchecked(GradCheckResult("Scale", 8e-4))
CASES += [
    fires(
        "one backward is wrong",
        "custom_backward_mismatch",
        WRONG_BACKWARD,
        "backward() disagrees with finite differences: MyReLU (relative error 0.5)",
    ),
    clear("one backward is wrong", "custom_backward_ok", WRONG_BACKWARD, ""),
    fires(
        "rounding error below a wrong formula's",
        "custom_backward_ok",
        ROUNDED,
        "1 custom backward(s) agree with finite differences",
    ),
    clear("rounding error below a wrong formula's", "custom_backward_mismatch", ROUNDED, ""),
    unknown(
        "no function could be called",
        "custom_backward_mismatch",
        gradchecked(GradCheckResult("Sampler", None, note="needs a generator argument")),
        "no custom autograd.Function could be checked",
    ),
]


def zeroed(observed_end: float, zeroed_end: float) -> Evidence:
    """The observed run and the replay with every input zeroed, each ending at its level."""
    ending = [*curve(2.3, 1.0, 40), *flat(observed_end, 10)]
    replayed = [*curve(2.3, 1.0, 40), *flat(zeroed_end, 10)]
    return evidence(
        loss=LossSection(values=ending),
        scenarios={"zeroed_input": replay("zeroed_input", loss=LossSection(values=replayed))},
    )


CASES += [
    fires(
        "zeroed inputs end 2% off",
        "input_ignored",
        zeroed(0.9, 0.92),
        "with every input replaced by zeros the loss ends at 0.92, as with the real inputs (0.9)",
    ),
    clear(
        "zeroed inputs end 6% off",
        "input_ignored",
        zeroed(0.9, 0.95),
        "with zeroed inputs the loss ends at 0.95 instead of 0.9",
    ),
    unknown(
        "no observed loss to compare with",
        "input_ignored",
        evidence(
            scenarios={"zeroed_input": replay("zeroed_input", loss=LossSection(values=[1.0]))}
        ),
        "no loss curves to compare",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_symptom(case: Case, rule_book: RuleBook) -> None:
    check(case, rule_book)
