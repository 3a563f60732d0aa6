"""Fixes a replay can apply to the user's loop, to confirm a cause: if the symptom goes away with
the fix, the cause is confirmed. Each is the smallest change that repairs one cause."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

from diagnose.child.interventions import Intervention
from diagnose.probes.base import LossCall
from diagnose.probes.standin import HandUpdate
from diagnose.probes.tensors import feature_axis
from diagnose.vocabulary import CLASS_SCORE_LOSSES, ELEMENTWISE_LOSSES

if TYPE_CHECKING:
    from diagnose.child.state import TrainingState


def _params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in optimizer.param_groups for p in group["params"]]


def drop_gradients(state: TrainingState) -> None:
    """Discard the gradients of everything the run trains. A hand-written update reads ``p.grad``
    itself, so there they become zeros rather than None."""
    for optimizer in state.optimizers:
        for p in _params(optimizer):
            if isinstance(optimizer, HandUpdate) and p.grad is not None:
                p.grad.zero_()
            elif not isinstance(optimizer, HandUpdate):
                p.grad = None


class _LossFix(Intervention):
    """A fix to how the loss is computed. It starts at the fork point, whose gradients already come
    from the unrepaired forward (one step on a NaN, or on inputs in the thousands, wrecks the
    weights), so that step applies none: the replay goes on from the same weights, one step
    later."""

    def start(self) -> None:
        super().start()
        if not self.from_start:
            drop_gradients(self.state)


class _SwapLR(Intervention):
    """Sets each group's LR just for the step and restores it, so user schedulers are unaffected."""

    def lr_for(self, index: int, current: float) -> float:
        raise NotImplementedError

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.saved = [group["lr"] for group in optimizer.param_groups]
        for index, group in enumerate(optimizer.param_groups):
            group["lr"] = self.lr_for(index, group["lr"])

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        for group, lr in zip(optimizer.param_groups, self.saved):
            group["lr"] = lr


class ScaleLR(_SwapLR):
    name = "scale_lr"

    def activate(self) -> None:
        self.factor = float(self.params["factor"])
        self.note = f"learning rate multiplied by {self.factor:g}"

    def lr_for(self, index: int, current: float) -> float:
        return current * self.factor


class HoldLR(_SwapLR):
    name = "hold_lr"

    def activate(self) -> None:
        self.initial = [g["lr"] for opt in self.state.optimizers for g in opt.param_groups]
        self.note = "learning rate held at its initial value (scheduler ignored)"

    def lr_for(self, index: int, current: float) -> float:
        return self.initial[index] if index < len(self.initial) else current


class InsertZeroGrad(Intervention):
    name = "insert_zero_grad"

    def activate(self) -> None:
        self.fresh = False
        self.note = "gradients cleared before the first backward of every step"

    def before_backward(self, root: torch.Tensor) -> None:
        if self.fresh:
            for optimizer in self.state.optimizers:
                optimizer.zero_grad(set_to_none=True)
        self.fresh = False

    def before_closure_again(self) -> None:
        """Each further evaluation of a step's closure (LBFGS) computes gradients at new weights."""
        self.fresh = True

    def after_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.fresh = True


class MoveZeroGrad(InsertZeroGrad):
    """zero_grad between backward and step is skipped; gradients are cleared before backward."""

    name = "move_zero_grad"

    def allow_zero_grad(self, owner: Any) -> bool:
        return self.fresh

    def before_backward(self, root: torch.Tensor) -> None:
        super().before_backward(root)
        self.note = "zero_grad() moved before backward()"


class ForceTrainMode(Intervention):
    name = "force_train_mode"

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if torch.is_grad_enabled() and not model.training:
            model.train()
            self.note = "model.train() forced before every training forward"
        return None


class EvalForValidation(Intervention):
    name = "eval_for_validation"

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        self.switched = not torch.is_grad_enabled() and model.training
        if self.switched:
            model.eval()
            self.note = "model.eval() forced for forward passes without gradients"
        return None

    def after_forward(self, model: nn.Module, args: tuple[Any, ...], output: Any) -> Any:
        if getattr(self, "switched", False):
            model.train()
        return None


class Reinit(Intervention):
    name = "reinit"

    def activate(self) -> None:
        model, count = self.state.model, 0
        for module in model.modules() if model is not None else ():
            if any(True for _ in module.parameters(recurse=False)):
                count += _default_reset(module)
        drop_gradients(self.state)
        self.note = f"{count} layers re-initialised with PyTorch's default (Kaiming-uniform) init"


class StandardizeInputs(_LossFix):
    name = "standardize_inputs"

    def activate(self) -> None:
        self.mean = torch.tensor(self.params["mean"], dtype=torch.float32)
        self.std = torch.tensor(self.params["std"], dtype=torch.float32).clamp_min(1e-8)
        self.note = "inputs standardized with the training data's per-feature mean and std"

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if not args or not isinstance(args[0], torch.Tensor) or not args[0].is_floating_point():
            return None
        return self.probe_inputs(args)

    def probe_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        if not self.active or not args or not isinstance(args[0], torch.Tensor):
            return args
        x = args[0]
        if not x.is_floating_point():
            return args
        mean, std = self.mean.to(x.device, x.dtype), self.std.to(x.device, x.dtype)
        if x.dim() >= 2 and x.shape[feature_axis(x)] == mean.numel():
            shape = [1] * x.dim()
            shape[feature_axis(x)] = -1
            mean, std = mean.reshape(shape), std.reshape(shape)
        elif mean.numel() != 1:
            mean, std = mean.mean(), std.mean()
        return ((x - mean) / std, *args[1:])


class NanToNum(_LossFix):
    name = "nan_to_num"
    changes_loss = True

    def activate(self) -> None:
        self.note = "NaN/Inf in inputs and targets replaced by 0"

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        if args and isinstance(args[0], torch.Tensor) and args[0].is_floating_point():
            return self.probe_inputs(args)
        return None

    def probe_inputs(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        if args and isinstance(args[0], torch.Tensor) and args[0].is_floating_point():
            return (torch.nan_to_num(args[0], nan=0.0, posinf=0.0, neginf=0.0), *args[1:])
        return args

    def transform_loss(self, call: LossCall) -> None:
        if isinstance(call.target, torch.Tensor) and call.target.is_floating_point():
            call.target = torch.nan_to_num(call.target, nan=0.0, posinf=0.0, neginf=0.0)


class LogitsFromProbabilities(_LossFix):
    """Undo softmax/sigmoid into a logit loss: log(softmax(z)) is log_softmax(z) plus a constant."""

    name = "logits_from_probabilities"
    changes_loss = True

    def transform_loss(self, call: LossCall) -> None:
        x = call.input
        if not isinstance(x, torch.Tensor) or not x.numel() or x.min() < 0 or x.max() > 1:
            return
        if call.name == "cross_entropy":
            call.input = torch.log(x.clamp_min(1e-12))
        elif call.name == "binary_cross_entropy_with_logits":
            call.input = torch.logit(x, eps=1e-6)
        self.note = "the loss is given log-probabilities (logits) instead of probabilities"


class LogSoftmaxForNll(_LossFix):
    name = "log_softmax_for_nll"
    changes_loss = True

    def transform_loss(self, call: LossCall) -> None:
        if (
            call.name == "nll_loss"
            and isinstance(call.input, torch.Tensor)
            and call.input.dim() >= 2
        ):
            call.input = F.log_softmax(call.input, dim=1)
            self.note = "log_softmax applied before nll_loss"


class StableLog(_LossFix):
    name = "stable_log"
    changes_loss = True

    def activate(self) -> None:
        original = torch.log

        def log(x: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(x, torch.Tensor) and x.is_floating_point():
                x = x.clamp_min(1e-12)
            return original(x, *args, **kwargs)

        # The replay's fix is this very replacement (undone with the process that forked for it).
        torch.log = log  # type: ignore[assignment]
        torch.Tensor.log = lambda tensor, *a, **k: log(tensor, *a, **k)  # type: ignore[method-assign]
        self.note = "torch.log clamps its input to >= 1e-12"


class ClipGradients(Intervention):
    name = "clip_gradients"

    def before_step(self, optimizer: torch.optim.Optimizer) -> None:
        limit = float(self.params.get("max_norm", 1.0))
        nn.utils.clip_grad_norm_(_params(optimizer), limit)
        self.note = f"gradient norm clipped to {limit:g} before every step"


class ReshapeTarget(_LossFix):
    name = "reshape_target"
    changes_loss = True

    def transform_loss(self, call: LossCall) -> None:
        x, y = call.input, call.target
        if (
            call.name in ELEMENTWISE_LOSSES
            and isinstance(x, torch.Tensor)
            and isinstance(y, torch.Tensor)
            and x.shape != y.shape
            and x.numel() == y.numel()
        ):
            call.target = y.reshape(x.shape)
            self.note = "the target reshaped to the output's shape"


class RebindOptimizer(Intervention):
    """The optimizer's first group gets all of the trained model's parameters (made trainable), the
    other groups none: the groups themselves stay, since an LR scheduler (Hugging Face's,
    Lightning's) zips its per-group LRs with them."""

    name = "rebind_optimizer"

    def activate(self) -> None:
        model = self.state.model
        if model is None or not self.state.optimizers:
            return
        params = list(model.parameters())
        for p in params:
            p.requires_grad_(True)
        optimizer = self.state.optimizers[0]
        optimizer.state.clear()
        optimizer.param_groups[0]["params"] = params
        for group in optimizer.param_groups[1:]:
            group["params"] = []
        self.note = (
            f"the optimizer rebuilt over the trained model's {len(params)} parameter tensors"
        )


class ClassWeights(_LossFix):
    name = "class_weights"
    changes_loss = True

    def transform_loss(self, call: LossCall) -> None:
        if call.name == "cross_entropy" and "weights" in self.params:
            call.kwargs["weight"] = torch.tensor(self.params["weights"], dtype=torch.float32)
        elif call.name == "binary_cross_entropy_with_logits" and "pos_weight" in self.params:
            call.kwargs["pos_weight"] = torch.tensor([float(self.params["pos_weight"])])
        else:
            return
        self.note = "the loss weighted by inverse class frequency"


class Shuffle(Intervention):
    """Every batch of the training loader is replaced by a batch of randomly drawn samples, at once
    (the loader's own epoch structure is kept, so per-epoch code still runs)."""

    name = "shuffle"

    def activate(self) -> None:
        last = self.state.last_train_batch
        self.loader = last[0] if last else None
        dataset = getattr(self.loader, "dataset", None)
        if (
            self.loader is None
            or self.loader.batch_size is None
            or not hasattr(dataset, "__getitem__")
        ):
            return
        self.size = self.resampled_size(self.loader.batch_size)
        self.generator = torch.Generator().manual_seed(0)
        self.order: list[int] = []
        self.note = self.describe(self.loader.batch_size)

    def resampled_size(self, batch_size: int) -> int:
        return batch_size

    def describe(self, batch_size: int) -> str:
        return "the training loader serves randomly shuffled samples"

    def replace_batch(self, loader: Any, batch: Any) -> Any:
        if self.loader is None or loader is not self.loader or not self.note:
            return batch
        while len(self.order) < self.size:
            self.order += torch.randperm(len(loader.dataset), generator=self.generator).tolist()
        indices, self.order = self.order[: self.size], self.order[self.size :]
        return loader.collate_fn([loader.dataset[i] for i in indices])


class LargerBatch(Shuffle):
    """Each step trains on ``batch_size`` randomly drawn samples instead of the loader's few: as
    many steps as before, each with a gradient averaged over a real batch."""

    name = "larger_batch"

    def resampled_size(self, batch_size: int) -> int:
        return max(batch_size, int(self.params.get("batch_size", batch_size)))

    def describe(self, batch_size: int) -> str:
        return (
            f"the training loader serves random batches of {self.size} samples instead "
            f"of {batch_size}"
        )


class InsertActivation(_LossFix):
    name = "insert_activation"

    def activate(self) -> None:
        model, names = self.state.model, list(self.params.get("layers", []))
        found = [
            model.get_submodule(n) for n in names if model is not None and _has_submodule(model, n)
        ]
        for module in found:  # a wrapped forward, not a hook: the probe's passes keep it
            module.forward = _then_relu(module.forward)
        self.note = f"ReLU inserted after {len(found)} layer(s) feeding another linear layer"


class CastTargets(Intervention):
    name = "cast_targets"
    changes_loss = True
    from_start = True

    def transform_loss(self, call: LossCall) -> None:
        y = call.target
        if not isinstance(y, torch.Tensor):
            return
        if call.name in CLASS_SCORE_LOSSES and y.is_floating_point() and torch.equal(y, y.round()):
            call.target = y.long()
        elif call.name in ELEMENTWISE_LOSSES and not y.is_floating_point():
            call.target = y.float()
        else:
            return
        self.note = "targets cast to the dtype the loss expects"


class CastInputs(Intervention):
    name = "cast_inputs"
    from_start = True

    def before_forward(self, model: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        weight = next(model.parameters(), None)
        if weight is None or not args or not isinstance(args[0], torch.Tensor):
            return None
        if args[0].is_floating_point() and args[0].dtype != weight.dtype:
            self.note = f"inputs cast to {weight.dtype}"
            return (args[0].to(weight.dtype), *args[1:])
        return None


class MeanReduction(_LossFix):
    name = "mean_reduction"
    changes_loss = True

    def transform_loss(self, call: LossCall) -> None:
        if call.kwargs.get("reduction") == "sum":
            call.kwargs["reduction"] = "mean"
            self.note = "the loss averaged over the batch instead of summed"


class LowerDropout(Intervention):
    name = "lower_dropout"

    def activate(self) -> None:
        limit = float(self.params.get("p", 0.2))
        model = self.state.model
        for module in model.modules() if model is not None else ():
            if isinstance(module, nn.modules.dropout._DropoutNd):
                module.p = min(module.p, limit)
        self.note = f"dropout lowered to p <= {limit:g}"


class NoWeightDecay(Intervention):
    name = "no_weight_decay"

    def activate(self) -> None:
        for optimizer in self.state.optimizers:
            for group in optimizer.param_groups:
                group["weight_decay"] = 0.0
        self.note = "weight decay set to 0"


def _default_reset(module: nn.Module) -> bool:
    """Re-initialise a layer the way PyTorch's own class does: a subclass that overrides
    ``reset_parameters`` with the bad init must not get it again. A layer of the user's own with no
    PyTorch ancestor that resets is reset by its own method."""
    own = next(
        (
            cls
            for cls in type(module).__mro__
            if cls.__module__.startswith("torch.nn") and "reset_parameters" in vars(cls)
        ),
        None,
    )
    reset = (
        getattr(own, "reset_parameters", None)
        if own is not None
        else getattr(type(module), "reset_parameters", None)
    )
    if reset is None:
        return False
    reset(module)
    return True


def _has_submodule(model: nn.Module, name: str) -> bool:
    try:
        model.get_submodule(name)
    except AttributeError:
        return False
    return True


FIXES: dict[str, type[Intervention]] = {
    cls.name: cls
    for cls in (
        ScaleLR,
        HoldLR,
        InsertZeroGrad,
        MoveZeroGrad,
        ForceTrainMode,
        EvalForValidation,
        Reinit,
        StandardizeInputs,
        NanToNum,
        LogitsFromProbabilities,
        LogSoftmaxForNll,
        StableLog,
        ClipGradients,
        ReshapeTarget,
        RebindOptimizer,
        ClassWeights,
        Shuffle,
        LargerBatch,
        InsertActivation,
        CastTargets,
        CastInputs,
        MeanReduction,
        LowerDropout,
        NoWeightDecay,
    )
}


def _then_relu(forward: Callable[..., Any]) -> Callable[..., Any]:
    def with_relu(*args: Any, **kwargs: Any) -> Any:
        return F.relu(forward(*args, **kwargs))

    return with_relu
