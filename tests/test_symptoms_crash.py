"""Symptoms of how a run ended (rules/crash.yaml), of logged runs (logs.yaml) and of
multi-process runs (distributed.yaml), each judged on hand-built evidence: it fires, and its near
miss does not."""

from __future__ import annotations

import pytest
from symptom_cases import Case, check, clear, curve, evidence, fires, run_info, unknown

from diagnose.probes.sections import (
    DataSection,
    DistributedSection,
    EvalPass,
    ExceptionInfo,
    LoaderInfo,
    LossSection,
    MessagesSection,
    OptimizerSection,
    RankRecord,
)


def raised(kind: str, message: str, during: str = "script", loss_call: str = "") -> object:
    """A run that crashed with this exception."""
    return evidence(
        run=run_info(status="crashed", reason=f"{kind}: {message}", steps=3),
        messages=MessagesSection(
            exception=ExceptionInfo(kind, message, during=during, loss_call=loss_call)
        ),
    )


SHAPE = "mat1 and mat2 shapes cannot be multiplied (32x784 and 512x10)"
DTYPE = "expected scalar type Long but found Float"
RANGE = "Target 10 is out of bounds."
SIZE = "Using a target size (torch.Size([32])) that is different to the input size ([32, 1])"
INPLACE = (
    "one of the variables needed for gradient computation has been modified by an inplace operation"
)
DEVICE = "Expected all tensors to be on the same device, but found at least two devices"
INPUT_DTYPE = "mat1 and mat2 must have the same dtype, but got Double and Float"
NO_GRAD = "element 0 of tensors does not require grad and does not have a grad_fn"
TWICE = "Trying to backward through the graph a second time"

CRASHES = [
    ("crash_shape", "RuntimeError", SHAPE, DTYPE),
    ("crash_label_dtype", "RuntimeError", DTYPE, SHAPE),
    ("crash_label_range", "IndexError", RANGE, SIZE),
    ("crash_target_size", "ValueError", SIZE, RANGE),
    ("crash_inplace", "RuntimeError", INPLACE, TWICE),
    ("crash_device", "RuntimeError", DEVICE, INPUT_DTYPE),
    ("crash_input_dtype", "RuntimeError", INPUT_DTYPE, DEVICE),
    ("crash_no_grad", "RuntimeError", NO_GRAD, INPLACE),
    ("crash_graph_twice", "RuntimeError", TWICE, NO_GRAD),
]

CASES: list[Case] = [
    case
    for symptom, kind, message, other in CRASHES
    for case in (
        fires("its message", symptom, raised(kind, message), f"{kind}: {message}"),
        clear("another crash's message", symptom, raised(kind, other), ""),
    )
] + [
    fires(
        "the loss call that raised it",
        "crash_label_dtype",
        raised("RuntimeError", DTYPE, during="training", loss_call="cross_entropy"),
        f"RuntimeError during training in cross_entropy: {DTYPE}",
    ),
    clear(
        "no exception at all",
        "crash_shape",
        evidence(messages=MessagesSection()),
        "the script raised no exception",
    ),
    fires(
        "out of memory, by type whatever its message",
        "crash_oom",
        raised("OutOfMemoryError", "CUDA error"),
        "OutOfMemoryError: CUDA error",
    ),
    fires(
        "out of memory, by message",
        "crash_oom",
        raised("RuntimeError", "DefaultCPUAllocator: can't allocate memory: you tried 8GB"),
        "RuntimeError: DefaultCPUAllocator: can't allocate memory: you tried 8GB",
    ),
    clear(
        "a memory-sounding message of another fault",
        "crash_oom",
        raised("RuntimeError", "memory format is not supported for this layout"),
        "",
    ),
    fires(
        "the script crashed",
        "run_crashed",
        evidence(run=run_info(status="crashed", reason="KeyError: 'label'", steps=4)),
        "KeyError: 'label'",
    ),
    clear(
        "the script exited with an error code",
        "run_crashed",
        evidence(run=run_info(status="exited", reason="sys.exit(3)", exit_code=3)),
        "",
    ),
    fires(
        "killed at the time limit",
        "run_timed_out",
        evidence(run=run_info(status="timeout", reason="stopped at the time limit", steps=12)),
        "stopped at the time limit after 12 optimizer steps",
    ),
    clear(
        "a slow run stopped at its budget is not a hang",
        "run_timed_out",
        evidence(run=run_info(status="budget", reason="time budget reached after 40 steps")),
        "",
    ),
    fires(
        "it exited before any step",
        "no_training",
        evidence(run=run_info(status="exited", reason="sys.exit(0)", steps=0, backward_calls=0)),
        "the script exited (sys.exit(0)) without a single backward pass or optimizer step",
    ),
    clear(
        "backward passes without a step are training",
        "no_training",
        evidence(run=run_info(status="completed", steps=0, backward_calls=30)),
        "",
    ),
    fires(
        "the evidence is a log",
        "metrics_only",
        evidence(run=run_info(scenario="logs")),
        "diagnosed from logged metrics only: no model, gradient or data evidence",
    ),
    clear(
        "the script ran under observation",
        "metrics_only",
        evidence(),
        "the script ran under observation",
    ),
]


def logged(losses: list[float], lrs: list[float]) -> object:
    steps = list(range(len(losses)))
    return evidence(
        loss=LossSection(steps=steps, values=losses),
        optimizer=OptimizerSection(lr_steps=steps, lr_values=lrs),
    )


WARMUP = [1e-4 * 1.05**step for step in range(40)]  # 7x by step 40
CASES += [
    fires(
        "a warm-up to 4.7x the start, then the loss triples",
        "lr_rose_before_divergence",
        logged([*curve(2.0, 1.5, 32), 7.0, 20.0, 50.0, 90.0, 99.0, 99.0, 99.0, 99.0], WARMUP),
        "the loss blew up at step 32, when the learning rate had risen from 0.0001 to 0.000476",
    ),
    clear(
        "the same blow-up at a rise of 2.5x",
        "lr_rose_before_divergence",
        logged([*curve(2.0, 1.5, 19), 7.0, *curve(8.0, 90.0, 20)], WARMUP),
        "learning rate 0.0001 at the start, 0.000253 at the blow-up",
    ),
    clear(
        "the learning rate rose and the loss kept falling",
        "lr_rose_before_divergence",
        logged(curve(2.0, 0.5, 40), WARMUP),
        "the loss did not blow up",
    ),
    unknown(
        "too short a log",
        "lr_rose_before_divergence",
        logged(curve(2.0, 9.0, 8), WARMUP[:8]),
        "fewer than 10 steps with a loss and a learning rate",
    ),
]


def ranks(*records: RankRecord, samplers: int = 0) -> object:
    return evidence(
        distributed=DistributedSection(
            world_size=len(records), samplers=samplers, ranks=list(records)
        )
    )


WEIGHTS = [0.5, -1.0, 0.25]
CASES += [
    fires(
        "rank 1 starts from its own random weights",
        "ranks_weights_differ",
        ranks(
            RankRecord(0, start=WEIGHTS, first_step=WEIGHTS, last=WEIGHTS),
            RankRecord(
                1, start=[0.4, -1.0, 0.25], first_step=[0.4, -1.0, 0.25], last=[0.3, -1.0, 0.2]
            ),
        ),
        "after the first optimizer step rank 1's weights differ from rank 0's by 0.1 of their size "
        "(0.2 at the end); they already differed before it: each rank initialised its own weights "
        "and nothing broadcast rank 0's",
    ),
    clear(
        "rounding noise between replicas",
        "ranks_weights_differ",
        ranks(
            RankRecord(0, start=WEIGHTS, first_step=WEIGHTS, last=WEIGHTS),
            RankRecord(1, start=WEIGHTS, first_step=[0.5, -1.000001, 0.25], last=WEIGHTS),
        ),
        "the 2 ranks hold the same weights after the first step and at the end",
    ),
    fires(
        "three epochs, always epoch 0",
        "sampler_epoch_fixed",
        ranks(
            RankRecord(0, sampler_epochs=[0, 0, 0]),
            RankRecord(1, sampler_epochs=[0, 0, 0]),
            samplers=1,
        ),
        "rank 0's DistributedSampler was iterated 3 times, always at epoch 0 (set_epoch was called "
        "0 times): every epoch repeats the same order",
    ),
    clear(
        "set_epoch moves the epoch",
        "sampler_epoch_fixed",
        ranks(RankRecord(0, sampler_epochs=[0, 1, 2], set_epoch_calls=3), samplers=1),
        "the sampler's epoch moved: [0, 1, 2]",
    ),
]

SHARDED = DataSection(
    loaders=[LoaderInfo("eval", 64, 512, "DistributedSampler", 0, 2, sharded=True)]
)
VALIDATION = LossSection(eval_passes=[EvalPass(50, 256, 0.9, 0.7, 4, 0)])
CASES += [
    fires(
        "each rank validates its shard and reduces nothing",
        "eval_unreduced",
        evidence(
            distributed=DistributedSection(world_size=2, ranks=[RankRecord(0), RankRecord(1)]),
            data=SHARDED,
            loss=VALIDATION,
        ),
        "1 validation passes ran over a DistributedSampler that gives each of the 2 ranks its own "
        "part of the validation data, and the script reduced or gathered no loss or metric across "
        "ranks: rank 0's numbers cover 1/2 of it",
    ),
    clear(
        "the validation loss is all-reduced",
        "eval_unreduced",
        evidence(
            distributed=DistributedSection(
                world_size=2, ranks=[RankRecord(0, metric_reductions=2), RankRecord(1)]
            ),
            data=SHARDED,
            loss=VALIDATION,
        ),
        "rank 0 reduced or gathered its numbers 2 times",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.id)
def test_symptom(case: Case, rule_book) -> None:
    check(case, rule_book)
