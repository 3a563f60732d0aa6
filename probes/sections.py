"""The typed sections of Evidence, one per probe.

They are plain dataclasses, free of torch and pydantic, so that the child process can fill them
with nothing but the standard library and the parent can validate them with pydantic
(``diagnose.evidence.Evidence`` embeds them) without importing torch. Probes record numbers only;
judging them is the rules' job.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class SourceLine:
    """A line of the user's code, so a finding can point at it; where the interpreter knows it, the
    span of the very call on that line (a line may hold several: ``criterion(model(x), y)``)."""

    file: str
    line: int
    code: str = ""
    col: int | None = None
    end_line: int | None = None
    end_col: int | None = None


@dataclass
class TensorSummary:
    """Statistics of the tensors one role (inputs or targets) took over the sampled batches."""

    shape: list[int] = field(default_factory=list)
    dtype: str = ""
    count: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    std: float | None = None
    nan: int = 0
    inf: int = 0
    integer_valued: bool = False
    distinct: int | None = None
    feature_mean: list[float] = field(default_factory=list)
    feature_std: list[float] = field(default_factory=list)


@dataclass
class LoaderInfo:
    """A DataLoader the script iterated, and the role the tap inferred for it."""

    role: str
    batch_size: int | None
    dataset_size: int | None
    sampler: str
    num_workers: int
    iterations: int
    pass_steps: list[int] = field(
        default_factory=list
    )  # the step count when each pass began (epochs)
    sharded: bool = False  # a DistributedSampler: each rank sees its own part of the dataset


@dataclass
class NormalizeCall:
    """A torchvision ``normalize`` call: what it was given and what it subtracted and divided by."""

    input_mean: float
    input_std: float
    mean: list[float]
    std: list[float]


@dataclass
class DataSection:
    batches: int = 0
    inputs: TensorSummary | None = None
    val_inputs: TensorSummary | None = None
    targets: TensorSummary | None = None
    class_counts: dict[int, int] = field(default_factory=dict)
    targets_from_inputs: float | None = (
        None  # share of checked loss calls whose targets are the (next) input tokens
    )
    batch_majority_share: float | None = None
    loaders: list[LoaderInfo] = field(default_factory=list)
    train_rows_hashed: int = 0
    val_rows_hashed: int = 0
    val_rows_in_train: int = 0
    train_slice_rows: int = 0
    train_slice_rows_in_train: int = 0
    normalize_calls: list[NormalizeCall] = field(default_factory=list)
    normalize_calls_per_sample: float | None = None
    sample_images: list[list[list[list[float]]]] = field(default_factory=list)
    sample_labels: list[int] = field(default_factory=list)


@dataclass
class EvalPass:
    """One validation pass: the loss calls made without gradients between two training steps."""

    after_step: int
    samples: int
    loss: float | None
    accuracy: float | None
    forwards: int
    forwards_in_train_mode: int
    kind: str = (
        ""  # the loss function of the pass, to compare its loss with the training loss's scale
    )


@dataclass
class LossSection:
    kind: str = ""
    kinds: list[str] = field(default_factory=list)
    first_values: dict[str, float] = field(default_factory=dict)
    calls: int = 0
    steps: list[int] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    first_nonfinite_step: int | None = None
    n_classes: int | None = None
    first_kind: str = ""  # the first training loss function called, even if it raised
    output_shape: list[int] = field(default_factory=list)
    target_shape: list[int] = field(default_factory=list)
    broadcast_shapes: list[str] = field(default_factory=list)
    probability_inputs: int = 0
    logit_loss_calls: int = 0
    nll_calls: int = 0
    nll_positive_inputs: int = 0
    sum_reduction_calls: int = 0
    # regression only: per training call, the loss of predicting the batch's own target mean
    # (median for L1), the level of a model that learned nothing about the inputs
    constant_values: list[float] = field(default_factory=list)
    # per summed call, what backward() ran on it: the sum's value over the backpropagated one, per
    # item summed (1.0: sum / n_items, a mean; 1 / n_items: the sum itself). Hugging Face sums over
    # tokens and divides by the batch's token count.
    sum_divisors: list[float] = field(default_factory=list)
    weighted_calls: int = 0  # class weights or pos_weight: the loss is not on the unweighted scale
    training_calls: int = 0
    output_min: float | None = None
    output_max: float | None = None
    input_grad_fn: str = ""
    train_accuracy: list[float] = field(default_factory=list)
    train_accuracy_steps: list[int] = field(default_factory=list)
    predicted_share: float | None = None
    eval_passes: list[EvalPass] = field(default_factory=list)
    confusion: list[list[int]] = field(default_factory=list)  # of the last labelled validation pass
    train_confusion: list[list[int]] = field(
        default_factory=list
    )  # of the last sampled training batches


@dataclass
class OptimizerInfo:
    cls: str
    lr: float | None
    momentum: float | None
    weight_decay: float | None
    params: int
    created_at: SourceLine | None = None


@dataclass
class OptimizerSection:
    optimizers: list[OptimizerInfo] = field(default_factory=list)
    lr_steps: list[int] = field(default_factory=list)
    lr_values: list[float] = field(default_factory=list)
    model_params: int = 0
    model_params_trainable: int = 0
    model_params_optimized: int = 0
    optimized_params_in_model: int = 0
    optimized_params: int = 0


@dataclass
class ProjectedSchedule:
    """One LR scheduler the script stepped, and its whole schedule over the run's planned length:
    the steps observed, then a copy stepped on to the planned end. Steps count the script's
    ``scheduler.step()`` calls. Each point of the curve stands for a span of steps: its first step
    and the largest LR within it (a cyclic schedule's peaks are never lost)."""

    cls: str
    observed_steps: int  # scheduler.step() calls the run made
    base_lr: float | None = None  # the first param group's LR before the schedule (initial_lr)
    steps_per_epoch: float | None = None  # per pass over the full training loader
    planned_epochs: int | None = None
    planned_steps: int | None = None
    # where the planned length comes from: "loop" (the length of the loop around the training
    # passes), "passes" (the passes the observed run saw end: a lower bound), "horizon" (the
    # scheduler's own length)
    planned_from: str = ""
    horizon: int | None = (
        None  # the length the scheduler was given (total_steps, T_max, total_iters)
    )
    steps: list[int] = field(default_factory=list)
    lrs: list[float] = field(default_factory=list)
    stopped: str = ""  # why the projection ended before the planned end ("" when it reached it)
    note: str = ""  # why there is no projection


@dataclass
class ScheduleSection:
    schedulers: list[ProjectedSchedule] = field(default_factory=list)


@dataclass
class LayerInfo:
    name: str
    type: str
    params: int
    trainable: int


@dataclass
class ModelSection:
    cls: str = ""
    roots: list[str] = field(default_factory=list)
    params: int = 0
    trainable: int = 0
    layers: list[LayerInfo] = field(default_factory=list)
    mode_dependent: list[str] = field(default_factory=list)
    dropout: list[float] = field(default_factory=list)
    linear_chains: list[list[str]] = field(default_factory=list)
    linear_layers: int = 0
    unregistered: list[str] = field(default_factory=list)
    compiled: bool = False
    frozen_stds: dict[str, float] = field(
        default_factory=dict
    )  # frozen weight matrices' spread at the end


@dataclass
class InitLayer:
    """Initial statistics of one weight, beside the scale common initialisers would give it."""

    name: str
    shape: list[int]
    fan_in: int
    fan_out: int
    std: float
    mean: float
    default_std: float
    he_std: float
    glorot_std: float
    constant: bool
    identical_rows: float
    zero_fraction: float
    lookup: bool = (
        False  # an embedding table: a row is looked up, no sum over a fan-in to scale for
    )


@dataclass
class InitSection:
    layers: list[InitLayer] = field(default_factory=list)
    normalization_layers: int = 0  # LayerNorm/BatchNorm/GroupNorm/RMSNorm modules in the model


@dataclass
class GradSample:
    step: int
    norms: list[float | None]
    weight_norms: list[float | None]
    update_ratios: list[float | None]


@dataclass
class GradientSection:
    layers: list[str] = field(default_factory=list)
    samples: list[GradSample] = field(default_factory=list)
    total_norm_steps: list[int] = field(default_factory=list)
    total_norms: list[float] = field(default_factory=list)
    first_nonfinite_grad_step: int | None = None


@dataclass
class ActivationStat:
    name: str
    kind: str
    units: int
    mean: float
    std: float
    zero_fraction: float
    dead_fraction: float
    saturated_fraction: float
    input_std: float
    dims: int = 2  # of the activation tensor: 2 for (batch, units), 3 with a sequence, 4 for images
    # Whether everything the model knows passes through it: removing it from the loss's autograd
    # graph cuts the loss off from the model's first layer (no residual path, no parallel head
    # around it). None: not checked.
    cut: bool | None = None


@dataclass
class ActivationSample:
    step: int
    stats: list[ActivationStat]


@dataclass
class ActivationSection:
    samples: list[ActivationSample] = field(default_factory=list)


@dataclass
class BookkeepingSection:
    steps: int = 0
    backward_calls: int = 0
    zero_grad_calls: int = 0
    stale_checks: int = 0
    stale_steps: int = 0
    steps_checked_for_grads: int = 0
    steps_without_grads: int = 0
    zero_grad_between_backward_and_step: int = 0
    steps_checked_for_change: int = 0
    steps_params_unchanged: int = 0
    optimizer_switches: int = (
        0  # steps taken by another optimizer than the step before (GANs take turns)
    )
    backward_in_eval_mode: int = 0
    backward_mode_checked: int = 0
    eval_calls: int = 0
    train_calls: int = 0
    sequence: str = ""


@dataclass
class GraphSection:
    checked: int = 0
    trainable_params: int = 0
    params_reached: int = 0
    root_requires_grad: bool = True
    root_grad_fn: str = ""
    ops: dict[str, int] = field(default_factory=dict)
    log_of_probabilities: int = 0
    softmax_into_log_softmax: int = 0
    custom_functions: list[str] = field(default_factory=list)
    # The trained model's parameters that an optimizer updates, by element count, and how many of
    # them any checked backward pass reached or whose layer never ran; the largest ones that ran
    # but were never reached, by name.
    updated_elements: int = 0
    updated_elements_reached: int = 0
    never_reached: list[str] = field(default_factory=list)


@dataclass
class WarningInfo:
    category: str
    message: str
    file: str
    line: int


@dataclass
class Frame:
    file: str
    line: int
    function: str
    code: str


@dataclass
class ExceptionInfo:
    type: str
    message: str
    frames: list[Frame] = field(default_factory=list)
    user_frame: Frame | None = None
    during: str = ""
    loss_call: str = ""


@dataclass
class SourcesSection:
    """Where the key calls live in the user's code (first occurrence of each)."""

    lines: dict[str, SourceLine] = field(default_factory=dict)


@dataclass
class MessagesSection:
    warnings: list[WarningInfo] = field(default_factory=list)
    exception: ExceptionInfo | None = None


@dataclass
class InterventionSection:
    """What a replay changed in the user's run, and from which step."""

    name: str
    params: dict[str, float | int | str | bool | list[float]] = field(default_factory=dict)
    activated_at_step: int | None = None
    note: str = ""


@dataclass
class LRRangeSection:
    """Loss per step while the learning rate of every param group rose exponentially."""

    lrs: list[float] = field(default_factory=list)
    losses: list[float] = field(default_factory=list)
    stopped: str = ""


@dataclass
class GradCheckResult:
    """Autograd vs central finite differences (float64) for one custom autograd.Function."""

    function: str
    relative_error: float | None
    note: str = ""


@dataclass
class GradCheckSection:
    results: list[GradCheckResult] = field(default_factory=list)


@dataclass
class OverfitSection:
    """A copy of the model trained on one fixed batch outside the user's loop."""

    optimizer: str = ""
    lr: float | None = None
    losses: list[float] = field(default_factory=list)
    accuracies: list[float] = field(default_factory=list)
    note: str = ""


@dataclass
class RankRecord:
    """What one rank of a multi-process run saw: its weights at three moments (a few values of a few
    tensors, comparable across ranks), its DistributedSampler's epochs and its own reductions."""

    rank: int
    status: str = ""
    steps: int = 0
    start: list[float] = field(default_factory=list)  # before the first update
    first_step: list[float] = field(default_factory=list)  # right after it
    last: list[float] = field(default_factory=list)  # at the end of the run
    sampler_epochs: list[int] = field(
        default_factory=list
    )  # the sampler's epoch at each pass over it
    set_epoch_calls: int = 0
    metric_reductions: int = (
        0  # collectives the script runs on anything but gradients: losses, metrics, counts
    )
    gradient_reductions: int = 0  # all_reduce of parameters' gradients: DDP's work done by hand
    last_loss: float | None = None


@dataclass
class DistributedSection:
    """A run launched as several processes (``--nproc-per-node``): the process group, whether the
    trained model is wrapped in DistributedDataParallel, and every rank's record (the child fills
    its own; the parent gathers them all into rank 0's section)."""

    world_size: int = 1
    backend: str = ""
    ddp_wrapped: bool = False
    samplers: int = 0  # DistributedSamplers the script built
    ranks: list[RankRecord] = field(default_factory=list)


@dataclass
class TaskInfo:
    """The task the probe batches pose (read from the loss and its targets), and chance: the
    per-sample loss of the best constant prediction, fitted on the training probe's targets."""

    kind: str = ""  # classification, binary, next_token, reconstruction, regression ("" unknown)
    loss: str = ""  # the loss function the probes measure first
    classes: int | None = None
    chance: dict[str, float] = field(default_factory=dict)  # per probe set
    majority: dict[str, float] = field(default_factory=dict)  # the top class's share, per set
    copies_input: float | None = None  # share of integer targets equal to the input there
    next_input: float | None = None  # share equal to the input one position on
    copied_feature: int | None = None  # a tabular input column equal to the target
    # Whether the model's output at a position depends on later inputs (checked only when the
    # targets copy the inputs): a causal model can read a same-position copy, an autoencoder not.
    looks_ahead: bool | None = None


@dataclass
class FitCheckpoint:
    """The model measured on each probe set at one step, in eval mode, per sample."""

    step: int
    train: float | None = None
    train_accuracy: float | None = None
    val: float | None = None
    val_accuracy: float | None = None
    sampled: float | None = None
    sampled_accuracy: float | None = None


@dataclass
class FitSection:
    """Fit on fixed probe batches (``train``: the first training batches; ``val``: the first of
    the script's validation pass; ``sampled``: rows drawn at random from the training set),
    measured at checkpoints; a replay measures on the observed run's batches (``loaded``)."""

    task: TaskInfo = field(default_factory=TaskInfo)
    samples: dict[str, int] = field(default_factory=dict)  # rows per probe set
    loaded: bool = False
    sampled_unseen: float | None = None  # share of the training set the planned run never reaches
    checkpoints: list[FitCheckpoint] = field(default_factory=list)
    note: str = ""
    seconds: float = 0.0  # what the probe cost the run: drawing, measuring, saving its batches
    # A replay whose fix changes what the loss computes: the probe's loss (the script's own, on the
    # model's outputs) is not what it trained on; its accuracy still is comparable.
    loss_changed: bool = False
