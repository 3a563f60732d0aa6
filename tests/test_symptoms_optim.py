"""Symptoms of optimization health (rules/optimization.yaml, detectors in rules/detect_optim.py and
rules/detect_schedule.py), each judged on hand-built evidence: it fires, and its near miss (the
healthy run it must not be confused with) does not."""

from __future__ import annotations

import math

import pytest
from symptom_cases import Case, check, clear, curve, evidence, fires, unknown

from diagnose.evidence import Evidence
from diagnose.probes.sections import (
    ActivationSample,
    ActivationSection,
    ActivationStat,
    BookkeepingSection,
    DataSection,
    GradientSection,
    GradSample,
    InitLayer,
    InitSection,
    LoaderInfo,
    LossSection,
    OptimizerInfo,
    OptimizerSection,
    ProjectedSchedule,
    ScheduleSection,
    TensorSummary,
)


def losses(values: list[float], first_nonfinite_step: int | None = None) -> Evidence:
    return evidence(
        loss=LossSection(
            steps=list(range(len(values))),
            values=values,
            first_nonfinite_step=first_nonfinite_step,
        )
    )


NAN = math.nan
CASES: list[Case] = [
    fires(
        "the loss turned NaN",
        "loss_nonfinite",
        losses([2.3, 2.1, 1.9, NAN, NAN], first_nonfinite_step=3),
        "the training loss became NaN/Inf at step 3 (of 5 observed)",
    ),
    clear(
        "a huge loss that is still finite",
        "loss_nonfinite",
        losses([2.3, 40.0, 9e5, 3e18, 1e30]),
        "",
    ),
    unknown(
        "no loss was recorded", "loss_nonfinite", losses([]), "no training loss value was observed"
    ),
    fires(
        "the loss falls, then climbs to four times its start",
        "loss_diverging",
        losses([2.0, 2.0, 2.0, 1.8, 1.6, 1.5, 1.5, 3.0, 6.0, 8.0, 8.0, 8.0]),
        "the training loss climbed from 2 to 8 (4x)",
    ),
    clear(
        "one exploding batch is no climb",
        "loss_diverging",
        losses([2.0, 2.0, 2.0, *[1.8] * 8, 50.0, *[1.7] * 8]),
        "peak/initial loss 1",
    ),
    clear(
        "a climb to just under three times the start",
        "loss_diverging",
        losses([2.0, 2.0, 2.0, *[5.8] * 7]),
        "peak/initial loss 2.9",
    ),
    clear(
        "an NLL on probabilities falls below zero",
        "loss_diverging",
        losses([-0.08, -0.12, -0.17, *curve(0.23, 19.9, 17)]),
        "the loss started at -0.12, not above zero: no ratio to its start",
    ),
    unknown(
        "nine values",
        "loss_diverging",
        losses(curve(2.0, 9.0, 9)),
        "fewer than 10 finite loss values",
    ),
    fires(
        "late in the run the loss swings between 0 and 2, as far as it started from",
        "loss_noisy",
        losses([*curve(2.0, 1.0, 20), *[0.0, 2.0] * 10]),
        "over the last 50% of the run the loss's standard deviation is 53% of where it started "
        "(1.89; its late mean is 1)",
    ),
    clear(
        "the batch-to-batch noise of a healthy run",
        "loss_noisy",
        losses([*curve(2.0, 1.0, 20), *[0.7, 1.3] * 10]),
        "the late loss spreads by 16% of where it started (1.89)",
    ),
    clear(
        "a regression that fits well: late steps from 0.002 to 0.1 swing by 120% of their mean, "
        "by a tenth of where it started",
        "loss_noisy",
        losses([*curve(0.5, 0.05, 20), *[0.002, 0.1, 0.01, 0.02] * 5]),
        "the late loss spreads by 9% of where it started (0.418)",
    ),
    unknown(
        "a loss that starts below zero has no level to read its spread against",
        "loss_noisy",
        losses([*curve(-0.5, -1.0, 20), *[-1.2, -0.8] * 10]),
        "the loss starts at -0.539: no level to read its spread against",
    ),
    unknown(
        "nineteen values",
        "loss_noisy",
        losses([0.2, 1.8] * 9 + [1.0]),
        "fewer than 20 finite loss values",
    ),
]


def sampled(
    *samples: GradSample,
    layers: int | None = None,
    total_norms: list[float] | None = None,
    first_nonfinite_grad_step: int | None = None,
    loss_nonfinite_at: int | None = None,
    summed: int = 0,
) -> Evidence:
    """Gradient samples (and the loss's first non-finite step, when it has one; ``summed``: every
    training loss call summed over a batch of that many)."""
    width = layers if layers is not None else len(samples[0].norms) if samples else 0
    gradients = GradientSection(
        layers=[f"fc{i + 1}.weight" for i in range(width)],
        samples=list(samples),
        total_norm_steps=list(range(len(total_norms or []))),
        total_norms=total_norms or [],
        first_nonfinite_grad_step=first_nonfinite_grad_step,
    )
    loss = LossSection(
        values=[1.0],
        steps=[0],
        first_nonfinite_step=loss_nonfinite_at,
        kind="mse_loss",
        first_kind="mse_loss",
        training_calls=10,
        sum_reduction_calls=10 if summed else 0,
        output_shape=[summed, 1] if summed else [],
    )
    return evidence(gradients=gradients, loss=loss)


def sample(
    step: int,
    updates: list[float | None] | None = None,
    norms: list[float | None] | None = None,
    weights: list[float | None] | None = None,
) -> GradSample:
    """One sampled step: per layer, gradient norm, weight norm and update/weight ratio."""
    width = len(updates or norms or weights or [])
    return GradSample(
        step=step,
        norms=norms or [1.0] * width,
        weight_norms=weights or [1.0] * width,
        update_ratios=updates or [1e-3] * width,
    )


CASES += [
    fires(
        "updates of 0.4 of the weights per step",
        "updates_too_large",
        sampled(*(sample(step, updates=[0.3, 0.5, 0.4]) for step in (0, 1, 2))),
        "single steps change the weights by 0.4 of their norm (healthy: ~1e-3)",
    ),
    fires(
        "the step that sent the weights to infinity, before the loss turned NaN",
        "updates_too_large",
        sampled(
            sample(0, updates=[0.002, 0.002]),
            sample(1, updates=[0.05, 0.05]),
            sample(2, updates=[math.inf, math.inf]),
            loss_nonfinite_at=3,
        ),
        "single steps change the weights by an infinite multiple of their norm (healthy: ~1e-3)",
    ),
    clear(
        "updates after the loss turned NaN do not count",
        "updates_too_large",
        sampled(
            sample(0, updates=[0.002, 0.002]),
            sample(1, updates=[0.003, 0.003]),
            sample(20, updates=[math.inf, NAN]),
            loss_nonfinite_at=10,
        ),
        "largest median update/weight ratio 0.003",
    ),
    clear(
        "large early steps of SGD, under a tenth",
        "updates_too_large",
        sampled(sample(0, updates=[0.08, 0.05, 0.09])),
        "largest median update/weight ratio 0.08",
    ),
    fires(
        "updates of 2e-7 of the weights",
        "updates_tiny",
        sampled(*(sample(step, updates=[2e-7, 2e-7]) for step in (0, 1, 2, 20, 40))),
        "each step changes the weights by only 2e-07 of their norm (healthy: ~1e-3)",
    ),
    clear(
        "Adam at a fine-tuning rate",
        "updates_tiny",
        sampled(*(sample(step, updates=[2e-5, 3e-5]) for step in (0, 1, 2, 20, 40))),
        "median update/weight ratio 2.5e-05",
    ),
    clear(
        "updates that shrink once a schedule decays the rate",
        "updates_tiny",
        sampled(
            *(sample(step, updates=[1e-3]) for step in (0, 1, 2, 20, 40)),
            *(sample(step, updates=[1e-9]) for step in (60, 80, 100, 120, 140, 160)),
        ),
        "median update/weight ratio 0.001",
    ),
    unknown(
        "no step moved the weights",
        "updates_tiny",
        sampled(sample(0, updates=[0.0, 0.0]), sample(1, updates=[0.0, None])),
        "no non-zero parameter update was measured",
    ),
]

CASES += [
    fires(
        "the first layer's relative gradient is 2e-6 of the last's",
        "grads_vanish",
        sampled(
            *(
                sample(step, norms=[2e-6, 1e-4, 1e-3, 0.01, 0.5], weights=[4.0, 2.0, 2.0, 2.0, 2.0])
                for step in (0, 1, 2)
            )
        ),
        "the first layer's gradient is 2e-06x the last layer's (relative to weight size) across "
        "5 layers: gradients vanish toward the input",
    ),
    clear(
        "small gradients on small weights are not vanishing",
        "grads_vanish",
        sampled(
            *(
                sample(
                    step, norms=[1e-6, 1e-4, 1e-3, 0.01, 0.5], weights=[1e-3, 0.1, 1.0, 1.0, 0.5]
                )
                for step in (0, 1, 2)
            )
        ),
        "first/last layer relative gradient 0.001",
    ),
    unknown(
        "two weight layers",
        "grads_vanish",
        sampled(sample(0, norms=[1e-9, 1.0])),
        "fewer than 3 weight layers",
    ),
    fires(
        "the gradient norm turned NaN before the loss",
        "grads_explode",
        sampled(total_norms=[1.5, 2.0, NAN], first_nonfinite_grad_step=2),
        "the gradient norm became NaN/Inf at step 2 (it was 1.5 at the first step)",
    ),
    fires(
        "the gradient norm grew 1250x",
        "grads_explode",
        sampled(total_norms=[0.2, 1.0, 30.0, 250.0]),
        "the gradient norm grew 1.25e+03x, from 0.2 to 250",
    ),
    clear(
        "a 500x rise, short of an explosion",
        "grads_explode",
        sampled(total_norms=[0.01, 0.5, 5.0, 4.0]),
        "gradient norm growth 500x",
    ),
    unknown(
        "a single step",
        "grads_explode",
        sampled(total_norms=[1e9]),
        "fewer than two steps with gradients",
    ),
    fires(
        "a first gradient 25x its weights",
        "grads_huge_at_start",
        sampled(sample(0, norms=[50.0, 1.0], weights=[2.0, 1.0])),
        "at the first step a layer's gradient is 25x the size of its weights",
    ),
    clear(
        "the same gradient on weights five times larger",
        "grads_huge_at_start",
        sampled(sample(0, norms=[50.0, 1.0], weights=[10.0, 1.0])),
        "largest gradient/weight norm ratio 5",
    ),
    clear(
        "25x its weights from a loss summed over 64 samples: under half of it per sample",
        "grads_huge_at_start",
        sampled(sample(0, norms=[50.0, 1.0], weights=[2.0, 1.0]), summed=64),
        "largest gradient/weight norm ratio 0.391, per item of a loss summed over 64",
    ),
    fires(
        "the weight norm falls to 30%",
        "weights_shrinking",
        sampled(
            sample(0, weights=[10.0, 5.0]),
            sample(20, weights=[6.0, 3.0]),
            sample(40, weights=[3.0, 1.5]),
        ),
        "the total weight norm shrank from 15 to 4.5",
    ),
    clear(
        "the weight norm falls to 60%",
        "weights_shrinking",
        sampled(
            sample(0, weights=[10.0, 5.0]),
            sample(20, weights=[8.0, 4.0]),
            sample(40, weights=[6.0, 3.0]),
        ),
        "",
    ),
    unknown(
        "two samples",
        "weights_shrinking",
        sampled(sample(0, weights=[10.0]), sample(1, weights=[1.0])),
        "fewer than 3 gradient samples",
    ),
]


def weight(
    name: str,
    fan_out: int,
    fan_in: int,
    std: float,
    *,
    constant: bool = False,
    identical_rows: float = 0.0,
    lookup: bool = False,
) -> InitLayer:
    """A Linear weight (fan_out x fan_in) drawn with ``std``, beside the scales PyTorch's default
    (kaiming_uniform with a=sqrt(5)), He and Glorot give it."""
    return InitLayer(
        name=name,
        shape=[fan_out, fan_in],
        fan_in=fan_in,
        fan_out=fan_out,
        std=std,
        mean=0.0,
        default_std=1 / math.sqrt(3 * fan_in),
        he_std=math.sqrt(2 / fan_in),
        glorot_std=math.sqrt(2 / (fan_in + fan_out)),
        constant=constant,
        identical_rows=identical_rows,
        zero_fraction=1.0 if constant and not std else 0.0,
        lookup=lookup,
    )


def zeros(name: str, fan_out: int, fan_in: int) -> InitLayer:
    return weight(name, fan_out, fan_in, 0.0, constant=True, identical_rows=1 - 1 / fan_out)


def default(name: str, fan_out: int, fan_in: int, scale: float = 1.0) -> InitLayer:
    """PyTorch's own initialisation, optionally scaled."""
    return weight(name, fan_out, fan_in, scale / math.sqrt(3 * fan_in))


def initialised(*layers: InitLayer, normalization_layers: int = 0) -> Evidence:
    return evidence(init=InitSection(list(layers), normalization_layers))


def small_transformer(normalization_layers: int) -> Evidence:
    """A d_model=32 transformer block with GPT-2's N(0, 0.02) everywhere."""
    return initialised(
        weight("wte.weight", 1000, 32, 0.02, lookup=True),
        weight("attn.qkv.weight", 96, 32, 0.02),
        weight("attn.proj.weight", 32, 32, 0.02),
        weight("mlp.fc.weight", 128, 32, 0.02),
        weight("mlp.proj.weight", 32, 128, 0.02),
        normalization_layers=normalization_layers,
    )


CASES += [
    fires(
        "a hidden layer starts at zero",
        "init_constant",
        initialised(zeros("fc1.weight", 128, 784), default("fc2.weight", 64, 128)),
        "1 hidden weight(s) start with identical rows (fc1.weight); every unit of such a layer "
        "gets the same gradient and stays identical",
    ),
    clear(
        "a zero-initialised output head",
        "init_constant",
        initialised(default("fc1.weight", 128, 784), zeros("head.weight", 10, 128)),
        "",
    ),
    fires(
        "an MLP drawn from N(0, 1)",
        "init_scale_off",
        initialised(
            weight("fc1.weight", 256, 784, 1.0),
            weight("fc2.weight", 128, 256, 1.0),
            weight("fc3.weight", 10, 128, 1.0),
        ),
        "3 of 3 weight layers start far from the He/Glorot/PyTorch-default scales, up to 19.8x "
        "larger (fc1.weight: std 1, usual 0.0206 to 0.0505)",
    ),
    fires(
        "GPT-2's N(0, 0.02) in a narrow model without normalization",
        "init_scale_off",
        small_transformer(normalization_layers=0),
        "3 of 4 weight layers start far from the He/Glorot/PyTorch-default scales, up to 5.1x "
        "smaller (attn.qkv.weight: std 0.02, usual 0.102 to 0.25)",
    ),
    clear(
        "the same N(0, 0.02) with LayerNorms (the embedding table has no fan-in)",
        "init_scale_off",
        small_transformer(normalization_layers=5),
        "0 of 4 layers 3x above or 10x below the usual scales",
    ),
    clear(
        "one head scaled down on purpose",
        "init_scale_off",
        initialised(
            default("fc1.weight", 256, 784),
            default("fc2.weight", 128, 256),
            default("head.weight", 10, 128, scale=0.01),
        ),
        "1 of 3 layers 3x above or 5x below the usual scales",
    ),
    unknown(
        "only constant weights",
        "init_scale_off",
        initialised(zeros("fc1.weight", 128, 784)),
        "no non-constant weight layer with a fan-in",
    ),
]


def relu(name: str, units: int, dead: float) -> ActivationStat:
    return ActivationStat(f"{name} → relu", "relu", units, 0.5, 1.0, dead, dead, 0.0, 1.0)


def tanh(name: str, saturated: float) -> ActivationStat:
    return ActivationStat(f"{name} → tanh", "tanh", 64, 0.0, 0.9, 0.0, 0.0, saturated, 3.0)


def activations(*samples: list[ActivationStat]) -> Evidence:
    return evidence(
        activations=ActivationSection(
            [ActivationSample(step * 20, stats) for step, stats in enumerate(samples)]
        )
    )


CASES += [
    fires(
        "most units dead from the first step",
        "relu_dead",
        activations([relu("fc1", 100, 0.7), relu("fc2", 100, 0.5)]),
        "60% of ReLU units output zero for the whole batch from the first step (fc1 → relu: 70%)",
    ),
    fires(
        "one layer almost entirely dead",
        "relu_dead",
        activations([relu("fc1", 256, 0.1), relu("fc2", 64, 0.95)]),
        "27% of ReLU units output zero for the whole batch from the first step (fc2 → relu: 95%)",
    ),
    fires(
        "units that die during training",
        "relu_dead",
        activations(
            [relu("fc1", 100, 0.0), relu("fc2", 100, 0.02)],
            [relu("fc1", 100, 0.6), relu("fc2", 100, 0.5)],
        ),
        "55% of ReLU units output zero for the whole batch by the end (fc1 → relu: 60%)",
    ),
    clear(
        "a quarter dead by the end, no layer past 90%",
        "relu_dead",
        activations(
            [relu("fc1", 100, 0.0), relu("fc2", 300, 0.05)],
            [relu("fc1", 100, 0.85), relu("fc2", 300, 0.05)],
        ),
        "25% of ReLU units dead",
    ),
    unknown(
        "a tanh network",
        "relu_dead",
        activations([tanh("fc1", 0.1)]),
        "no ReLU activation was observed",
    ),
    unknown(
        "alive at the start and no ReLU in the last sample: dying later cannot be told",
        "relu_dead",
        activations([relu("fc1", 100, 0.1)], [tanh("fc1", 0.0)]),
        "the last activation sample holds no ReLU (the first does): whether units died later "
        "cannot be told",
    ),
    fires(
        "dead from the start, whatever the last sample holds",
        "relu_dead",
        activations([relu("fc1", 100, 0.7)], [tanh("fc1", 0.0)]),
        "70% of ReLU units output zero for the whole batch from the first step (fc1 → relu: 70%)",
    ),
    fires(
        "tanh layers pinned at their bounds",
        "activations_saturated",
        activations([tanh("fc1", 0.8), tanh("fc2", 0.6)]),
        "70% of sigmoid/tanh outputs sit at their bounds at the first step, where their gradient "
        "is ~0",
    ),
    clear(
        "saturation that comes late, with confident outputs",
        "activations_saturated",
        activations([tanh("fc1", 0.02), tanh("fc2", 0.04)], [tanh("fc1", 0.9), tanh("fc2", 0.95)]),
        "3% of sigmoid/tanh outputs saturated",
    ),
    unknown(
        "a ReLU network",
        "activations_saturated",
        activations([relu("fc1", 100, 0.0)]),
        "no sigmoid/tanh activation was observed",
    ),
]


def optimizer(cls: str, lr: float, weight_decay: float = 0.0) -> Evidence:
    return evidence(
        optimizer=OptimizerSection(
            optimizers=[OptimizerInfo(cls, lr, momentum=None, weight_decay=weight_decay, params=1)]
        )
    )


CASES += [
    fires(
        "Adam at 0.1",
        "lr_atypically_high",
        optimizer("Adam", 0.1),
        "Adam with lr=0.1 is far above the usual range for Adam (limit 0.03)",
    ),
    clear("SGD at 0.5, usual for SGD", "lr_atypically_high", optimizer("SGD", 0.5), ""),
    clear("an optimizer without a known range", "lr_atypically_high", optimizer("Lion", 5.0), ""),
    fires(
        "SGD at 1e-6",
        "lr_atypically_low",
        optimizer("SGD", 1e-6),
        "SGD with lr=1e-06 is far below the usual range for SGD (limit 1e-05)",
    ),
    clear("Adam at a fine-tuning rate", "lr_atypically_low", optimizer("Adam", 1e-5), ""),
    fires(
        "Adam with L2 decay 0.1",
        "weight_decay_high",
        optimizer("Adam", 1e-3, weight_decay=0.1),
        "Adam with weight_decay=0.1",
    ),
    clear(
        "AdamW's decoupled decay at 0.1",
        "weight_decay_high",
        optimizer("AdamW", 1e-3, weight_decay=0.1),
        "",
    ),
]


def lr_curve(lrs: list[float], pass_steps: list[int] | None = None) -> Evidence:
    """The LR of each observed step and, when given, where each pass over the training data
    began."""
    data = None
    if pass_steps is not None:
        loader = LoaderInfo("train", 32, 32 * 25, "RandomSampler", 0, len(pass_steps), pass_steps)
        data = DataSection(loaders=[loader])
    steps = list(range(len(lrs)))
    return evidence(optimizer=OptimizerSection(lr_steps=steps, lr_values=lrs), data=data)


COSINE = [0.05 * (1 + math.cos(math.pi * step / 99)) / 2 for step in range(100)]
CASES += [
    fires(
        "ExponentialLR(gamma=0.5) stepped every batch",
        "lr_decays_early",
        lr_curve([0.1 * 0.5**step for step in range(100)]),
        "the learning rate fell from 0.1 to 9.77e-05 within 10 steps and ended at 1.58e-31",
    ),
    fires(
        "a per-epoch decay in the third epoch, with a fourth to come",
        "lr_decays_early",
        lr_curve([0.1] * 60 + [1e-5] * 40, pass_steps=[0, 25, 50, 75]),
        "the learning rate fell from 0.1 to 1e-05 within 60 steps and ended at 1e-05",
    ),
    clear(
        "a cosine decay to zero at the end of the run",
        "lr_decays_early",
        lr_curve(COSINE),
        "learning rate 0.05 → 0",
    ),
    clear(
        "a step decay in the last epoch, nothing after it",
        "lr_decays_early",
        lr_curve([0.1] * 70 + [1e-5] * 30, pass_steps=[0, 30, 60]),
        "learning rate 0.1 → 1e-05",
    ),
    unknown(
        "a warm-up from zero",
        "lr_decays_early",
        lr_curve([0.01 * step for step in range(10)] + [0.1] * 90),
        "the learning rate starts at 0: no fall from its start can be measured",
    ),
    unknown(
        "five steps",
        "lr_decays_early",
        lr_curve([0.1] * 5),
        "fewer than 10 steps with a learning rate",
    ),
]


def projected(*schedules: ProjectedSchedule) -> Evidence:
    return evidence(schedule=ScheduleSection(list(schedules)))


STEPS = [1, 50, 100, 150, 200, 250, 500, 1000]
COSINE_STEPS = [1, *range(100, 1001, 100)]
PLANNED_LOOP = "the length of the loop around the passes over the training data"
CASES += [
    fires(
        "StepLR(step_size=50, gamma=0.05) meant per epoch, stepped every batch",
        "lr_schedule_collapses_projected",
        projected(
            ProjectedSchedule(
                "StepLR",
                observed_steps=200,
                base_lr=0.1,
                steps_per_epoch=100.0,
                planned_epochs=10,
                planned_steps=1000,
                planned_from="loop",
                steps=STEPS,
                lrs=[0.1 * 0.05 ** (step // 50) for step in STEPS],
            )
        ),
        f"StepLR, stepped 100 times per epoch: projected over the run's planned 1000 steps over 10 "
        f"epochs ({PLANNED_LOOP}), the learning rate falls below 0.001x its peak 0.1 by step 150 "
        "(15% of the run) and stays there to the planned end (9.5e-28); 200 steps were observed",
    ),
    fires(
        "a milestone with gamma=1e-4 a fifth into a run stepped every other epoch",
        "lr_schedule_collapses_projected",
        projected(
            ProjectedSchedule(
                "MultiStepLR",
                observed_steps=3,
                base_lr=0.1,
                steps_per_epoch=0.5,
                planned_epochs=50,
                planned_steps=25,
                planned_from="loop",
                steps=list(range(1, 26)),
                lrs=[0.1] * 4 + [1e-5] * 21,
            )
        ),
        f"MultiStepLR, stepped once every 2 epochs: projected over the run's planned 25 steps over "
        f"50 epochs ({PLANNED_LOOP}), the learning rate falls below 0.001x its peak 0.1 by step 5 "
        "(20% of the run) and stays there to the planned end (1e-05); 3 steps were observed",
    ),
    clear(
        "a cosine decay to zero at the planned end",
        "lr_schedule_collapses_projected",
        projected(
            ProjectedSchedule(
                "CosineAnnealingLR",
                observed_steps=200,
                base_lr=0.1,
                steps_per_epoch=100.0,
                planned_epochs=10,
                planned_steps=1000,
                planned_from="loop",
                steps=COSINE_STEPS,
                lrs=[0.1 * (1 + math.cos(math.pi * step / 1000)) / 2 for step in COSINE_STEPS],
            )
        ),
        "CosineAnnealingLR: 0.1 → 0 over 1000 planned steps",
    ),
    clear(
        "no scheduler",
        "lr_schedule_collapses_projected",
        projected(),
        "no torch.optim.lr_scheduler scheduler was stepped",
    ),
    unknown(
        "ReduceLROnPlateau follows a metric",
        "lr_schedule_collapses_projected",
        projected(ProjectedSchedule("ReduceLROnPlateau", 3, note="its future cannot be projected")),
        "ReduceLROnPlateau: its future cannot be projected",
    ),
]


def bookkeeping(**counts: int) -> Evidence:
    return evidence(bookkeeping=BookkeepingSection(**counts))


def batches(*shape: int) -> Evidence:
    return evidence(data=DataSection(inputs=TensorSummary(shape=list(shape))))


CASES += [
    fires(
        "zero_grad never called",
        "grads_not_cleared",
        bookkeeping(steps=200, backward_calls=200, stale_checks=199, stale_steps=199),
        "in 199 of 199 steps checked, the optimizer's gradients had not been cleared since its "
        "previous step (zero_grad was called 0 times)",
    ),
    clear(
        "gradients accumulated over four backward passes, cleared after each step",
        "grads_not_cleared",
        bookkeeping(steps=50, backward_calls=200, zero_grad_calls=50, stale_checks=49),
        "0% of steps applied stale gradients",
    ),
    unknown(
        "four steps checked",
        "grads_not_cleared",
        bookkeeping(steps=5, backward_calls=5, stale_checks=4, stale_steps=4),
        "fewer than 5 optimizer steps checked",
    ),
    fires(
        "batches of four",
        "tiny_batches",
        batches(4, 1, 28, 28),
        "training batches hold 4 sample(s)",
    ),
    clear("batches of eight", "tiny_batches", batches(8, 1, 28, 28), "batch size 8"),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_symptom(case: Case, rule_book) -> None:
    check(case, rule_book)
