"""The operator catalogue: every mutation operator and every benign operator, in a fixed order,
looked up by name."""

from __future__ import annotations

from . import benign_eval as evaluation
from . import benign_loop as loop
from . import benign_model as model
from . import ops_capacity, ops_data, ops_loop, ops_loss, ops_optim
from .operators import Benign, Operator

ALL: list[Operator] = (
    ops_loop.OPERATORS
    + ops_loss.OPERATORS
    + ops_optim.OPERATORS
    + ops_data.OPERATORS
    + ops_capacity.OPERATORS
)
BY_NAME: dict[str, Operator] = {op.name: op for op in ALL}

CLASSIFY = frozenset({"classification"})
EVAL_MODE = frozenset({"eval_mode"})  # dropout or batch norm added to a script that never
# switches to eval mode would make its evaluation wrong: a real fault, not a benign change
BENIGN: list[Benign] = [
    Benign(
        "dropout_head",
        "dropout (p=0.2) on the features the head reads",
        model.dropout_before_head,
        needs=EVAL_MODE,
    ),
    Benign(
        "label_smoothing",
        "label_smoothing=0.1 on the cross-entropy",
        model.label_smoothing,
        needs=CLASSIFY,
        touches_loss=True,
    ),
    Benign(
        "noise_augment",
        "Gaussian noise (std 0.05) added to each training batch's inputs",
        loop.augment(loop.NOISE),
        needs=frozenset({"float_inputs"}),
    ),
    Benign(
        "flip_augment",
        "training images flipped left-right at random (p=0.5)",
        loop.augment(loop.FLIP),
        needs=frozenset({"grid_inputs"}),
    ),
    Benign(
        "adamw_decay",
        "AdamW with weight decay 0.01 in place of the optimizer (lr 1e-3 unless Adam-like)",
        model.adamw,
    ),
    Benign(
        "warmup_cosine",
        "per-batch schedule: warm-up over 10 steps, cosine to 10 % of the LR over 500",
        loop.warmup_cosine,
    ),
    Benign("step_lr", "StepLR(step_size=3, gamma=0.5) stepped every epoch", loop.step_schedule),
    Benign("clip_grad_1", "gradient norm clipped at 1.0 before each step", loop.grad_clip),
    Benign(
        "accumulate_2",
        "gradients accumulated over 2 batches (loss halved, step every second batch)",
        loop.grad_accumulation,
    ),
    Benign(
        "half_batch",
        "training batch size halved, the LR scaled (linearly for SGD, by the square root else)",
        model.scale_batch(0.5),
    ),
    Benign(
        "double_batch",
        "training batch size doubled, the LR scaled (linearly for SGD, by the square root else)",
        model.scale_batch(2),
    ),
    Benign("gelu_for_relu", "GELU in place of ReLU", model.replace_relu("GELU")),
    Benign("silu_for_relu", "SiLU in place of ReLU", model.replace_relu("SiLU")),
    Benign(
        "layer_norm_added",
        "LayerNorm after the first of several Linear layers",
        model.add_norm("LayerNorm"),
    ),
    Benign(
        "batch_norm_added",
        "BatchNorm after the first Conv2d (else after the first of several Linear layers)",
        model.add_norm("BatchNorm"),
        needs=EVAL_MODE,
    ),
    Benign(
        "sum_loss_lr_scaled",
        "reduction='sum', the LR divided by the batch size for SGD (adaptive ones need no change)",
        model.summed_loss,
        touches_loss=True,
    ),
    Benign(
        "ema_eval",
        f"an EMA of the weights (decay {evaluation.EMA_DECAY}) evaluated in place of the model",
        evaluation.ema_for_evaluation,
    ),
    Benign(
        "early_stop",
        f"early stopping on the validation loss (patience {evaluation.PATIENCE} epochs)",
        evaluation.early_stopping,
    ),
    Benign("save_model", "torch.save(model) after every epoch", evaluation.checkpoint(whole=True)),
    Benign(
        "save_state_dict",
        "torch.save(model.state_dict()) after every epoch",
        evaluation.checkpoint(whole=False),
    ),
    Benign(
        "progress_bar", "a tqdm progress bar over the training batches", evaluation.progress_bar
    ),
    Benign("print_to_logging", "logging.info in place of print", model.logging_for_print),
    Benign("seed_plus_1", "every seed the script sets, plus one", model.another_seed),
    Benign(
        "inference_mode_eval",
        "evaluation under torch.inference_mode() instead of no_grad()",
        evaluation.inference_mode,
    ),
    Benign(
        "model_factory",
        "the model built by a small factory function instead of inline",
        model.model_factory,
    ),
]
BENIGN_BY_NAME: dict[str, Benign] = {op.name: op for op in BENIGN}
