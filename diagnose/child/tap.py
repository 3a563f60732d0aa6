"""The tap: observes a training run from inside the user's process and feeds events to probes.

It uses PyTorch's global hooks where they exist (optimizer step hooks, module forward hooks)
and reversible patches where they do not (``Tensor.backward``, ``zero_grad``, ``Module.train``,
``DataLoader`` iteration, LR schedulers' ``step``, the functional losses,
``warnings.showwarning``). Everything comes off in ``remove``. A probe that raises is switched off
and noted; the run goes on.
"""

from __future__ import annotations

import functools
import sys
import warnings
import weakref
from collections.abc import Callable, Collection
from dataclasses import dataclass
from types import MethodType, ModuleType
from typing import Any, cast

import torch
import torch.nn.functional as F
from torch import nn
from torch.optim import optimizer as optimizer_hooks
from torch.utils.data import DataLoader
from torch.utils.data import dataloader as dataloader_module

from diagnose.child import faults
from diagnose.child.budget import Budget
from diagnose.child.forward import ForwardHooks, traced
from diagnose.child.handupdates import HandUpdates
from diagnose.child.heartbeat import Heartbeat
from diagnose.child.interventions import Intervention
from diagnose.child.pacing import Pacing
from diagnose.child.patching import Patches
from diagnose.child.schedulers import SchedulerHooks
from diagnose.child.state import TrainingState
from diagnose.child.userframe import attributed_outside_ours
from diagnose.probes.base import DONE, EVENTS, LossCall, Probe
from diagnose.vocabulary import LOSS_FUNCTIONS


class Tap:
    """Install with ``install()``, run the user's code, then ``remove()`` and ``sections()``."""

    def __init__(
        self,
        state: TrainingState,
        probes: list[Probe],
        budget: Budget,
        intervention: Intervention | None = None,
        watching: bool = False,
        disabled: Collection[str] = (),
    ) -> None:
        self.state = state
        self.disabled = frozenset(disabled)  # components this run goes without (faults.py)
        self.probes = probes
        self.budget = budget
        self.heartbeat = Heartbeat(None)
        self.intervention = intervention or Intervention(state)
        self.fork_point: list[Callable[[], None]] = []
        self._past_fork_point = False
        self._closure_pending = False
        self.patches = Patches()
        self.handles: list[Any] = []
        # the probes' bound methods: a failing one is switched off with its probe
        self.subscribers: dict[str, tuple[MethodType, ...]] = {
            event: tuple(getattr(p, event) for p in probes if p.handles(event)) for event in EVENTS
        }
        self._in_loss = False
        self._torchvision_patched = False
        self._in_backward = False
        self._mode_depth = 0
        self.forward = ForwardHooks(self)
        self.hand = HandUpdates(self, eager=not watching, active=self.enabled("hand_updates"))
        self.schedulers = SchedulerHooks(self)
        self.pacing = Pacing(
            state,
            budget.max_steps,
            adaptive=False,
            compress=not watching and self.enabled("pacing"),
        )
        # Passes over DataLoaders, by iterator: nothing of ours is stored on the user's objects.
        self._passes: weakref.WeakKeyDictionary[Any, _Pass] = weakref.WeakKeyDictionary()

    # -- dispatch ----------------------------------------------------------------------------
    def emit(self, event: str, *args: Any) -> None:
        handlers = self.subscribers[event]
        if not handlers or self.state.muted:
            return
        for handler in handlers:
            try:
                if handler(*args) is DONE:
                    self.subscribers[event] = tuple(
                        h for h in self.subscribers[event] if h != handler
                    )
            except Exception as error:  # a broken probe must never break the user's run
                self._disable(cast(Probe, handler.__self__), event, error)

    def _disable(self, probe: Probe, event: str, error: Exception) -> None:
        self.state.probe_errors.append(f"{probe.name}.{event}: {type(error).__name__}: {error}")
        for name, handlers in self.subscribers.items():
            self.subscribers[name] = tuple(h for h in handlers if h.__self__ is not probe)
        probe.disabled = True

    def sections(self) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for probe in self.probes:
            try:
                result[probe.name] = probe.finish()
            except Exception as error:
                self.state.probe_errors.append(
                    f"{probe.name}.finish: {type(error).__name__}: {error}"
                )
        return result

    # -- install / remove --------------------------------------------------------------------
    def install(self) -> None:
        """Install each component (``faults.COMPONENTS``) the run has not turned off."""
        for component, install in self._components():
            if self.enabled(component):
                self.patches.component = component  # what the wrappers installed now belong to
                install()
        self.patches.component = None

    def enabled(self, component: str) -> bool:
        if faults.EVERYTHING in self.disabled:
            return component == "step_hooks"
        return component not in self.disabled

    def _components(self) -> tuple[tuple[str, Callable[[], None]], ...]:
        return (
            ("step_hooks", self._install_step_hooks),
            ("forward_hooks", self.forward.install),
            ("optimizer_init", self._patch_optimizer_init),
            ("schedulers", self.schedulers.install),
            ("backward", self._patch_backward),
            ("zero_grad", self._patch_zero_grad),
            ("mode", self._patch_mode),
            ("loaders", self._patch_loaders),
            ("losses", self._patch_losses),
            ("scalers", self._patch_scalers),
            ("warnings", self._patch_warnings),
            ("compile", self._patch_compile),
            ("grad_mode", self._patch_grad_mode),
            ("torchscript", self._patch_torchscript),
        )

    def _install_step_hooks(self) -> None:
        self.handles += [
            optimizer_hooks.register_optimizer_step_pre_hook(self._on_step_pre),
            optimizer_hooks.register_optimizer_step_post_hook(self._on_step_post),
        ]

    def remove(self) -> None:
        self.hand.settle(final=True)
        for handle in self.handles:
            handle.remove()
        self.handles.clear()
        self.forward.remove()
        self.patches.restore()

    # -- optimizer ---------------------------------------------------------------------------
    def _patch_optimizer_init(self) -> None:
        def wrap(original: Callable[..., None]) -> Callable[..., None]:
            @functools.wraps(original)
            def __init__(optimizer: torch.optim.Optimizer, *args: Any, **kwargs: Any) -> None:
                original(optimizer, *args, **kwargs)
                if not self.state.muted:  # the tool's own optimizer (a copy trained alone)
                    self.adopt_optimizer(optimizer)

            return __init__

        self.patches.replace(torch.optim.Optimizer, "__init__", wrap)

    def adopt_optimizer(self, optimizer: torch.optim.Optimizer) -> None:
        """Track an optimizer: when it is built, at its first step, or when handed to ``watch``."""
        if optimizer not in self.state.optimizers:
            self.state.optimizers.append(optimizer)
            self.emit("on_optimizer_created", optimizer)

    @faults.entry("step_hooks")
    def _on_step_pre(self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any) -> Any:
        if self.state.muted:
            return None
        self.adopt_optimizer(optimizer)
        deferred = defer_to_closure(
            args, kwargs, functools.partial(self._step_begins, optimizer), self._closure_again
        )
        if deferred is not None:
            self._closure_pending = True
            return deferred
        self._step_begins(optimizer)
        return None

    def _step_begins(self, optimizer: torch.optim.Optimizer) -> None:
        """The step's gradients are ready and the weights not yet updated: before ``step()``, or
        once its closure has run."""
        self._closure_pending = False
        if not self._past_fork_point:
            self._reach_fork_point()
        if self.intervention.active:
            self.intervention.before_step(optimizer)
        self.emit("on_step_pre", optimizer)

    def _closure_again(self) -> None:
        """A step(closure) evaluates its closure again (LBFGS's line search): at new weights."""
        if self.intervention.active:
            self.intervention.before_closure_again()

    def _reach_fork_point(self) -> None:
        """The first optimizer step: replays fork from here, and interventions start here."""
        self._past_fork_point = True
        for callback in self.fork_point:
            callback()
        if not self.intervention.active:
            self.intervention.start()
        self.forward.narrow()

    @faults.entry("step_hooks")
    def _on_step_post(
        self, optimizer: torch.optim.Optimizer, args: Any, kwargs: Any, final: bool = False
    ) -> None:
        if self.state.muted:
            return
        if self._closure_pending:  # a step that never called its closure
            self._step_begins(optimizer)
        if self.intervention.active:
            self.intervention.after_step(optimizer)
        self.emit("on_step", optimizer)
        self.state.count_step(optimizer)
        self.heartbeat.beat(self.state.steps)
        if not final:
            self.pacing.extend(self.budget)
            self.budget.check(self.state.steps, self.state.backward_calls)
            self.pacing.after_step()

    def step_pre(self, optimizer: torch.optim.Optimizer) -> None:
        """A step that no ``optimizer.step()`` announces (a hand-written update) begins."""
        self._on_step_pre(optimizer, (optimizer,), {})

    def step_post(self, optimizer: torch.optim.Optimizer, final: bool = False) -> None:
        """That step ends; ``final`` when the run itself is ending (no budget check then)."""
        self._on_step_post(optimizer, (optimizer,), {}, final)

    # -- backward and gradient bookkeeping ---------------------------------------------------
    def _patch_backward(self) -> None:
        def wrap_tensor_backward(original: Callable[..., None]) -> Callable[..., None]:
            @functools.wraps(original)
            def backward(tensor: torch.Tensor, *args: Any, **kwargs: Any) -> None:
                return self._backward(original, tensor, (tensor, *args), kwargs)

            return backward

        def wrap_autograd_backward(original: Callable[..., None]) -> Callable[..., None]:
            @functools.wraps(original)
            def backward(tensors: Any, *args: Any, **kwargs: Any) -> None:
                root = tensors if isinstance(tensors, torch.Tensor) else next(iter(tensors), None)
                return self._backward(original, root, (tensors, *args), kwargs)

            return backward

        self.patches.replace(torch.Tensor, "backward", wrap_tensor_backward)
        self.patches.replace(torch.autograd, "backward", wrap_autograd_backward)

    @faults.entry("backward", passes_through=True)
    def _backward(
        self,
        original: Callable[..., Any],
        root: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> None:
        if self._in_backward or self.state.muted or not isinstance(root, torch.Tensor):
            return original(*args, **kwargs)
        self.hand.settle()  # a hand-written update ends where the next backward begins
        self._in_backward = True
        try:
            self.state.note_backward()
            if self.state.chosen_model is not None:
                self.forward.narrow()  # the trained model is known: only its calls count now
            if self.intervention.active:
                self.intervention.before_backward(root)
            self.emit("on_backward", root)
            result = original(*args, **kwargs)
            if self.intervention.active:
                self.intervention.after_backward(root)
            self.emit("after_backward", root)
            self.hand.after_backward(root)
        finally:
            self._in_backward = False
        self.budget.check(self.state.steps, self.state.backward_calls)
        return result

    def _patch_zero_grad(self) -> None:
        def wrap(original: Callable[..., None]) -> Callable[..., None]:
            @functools.wraps(original)
            def zero_grad(owner: Any, *args: Any, **kwargs: Any) -> None:
                if self.state.muted:
                    return original(owner, *args, **kwargs)
                if self.intervention.active and not self.intervention.allow_zero_grad(owner):
                    return None
                self.emit("on_zero_grad", owner)
                return original(owner, *args, **kwargs)

            return zero_grad

        self.patches.replace(torch.optim.Optimizer, "zero_grad", wrap)
        self.patches.replace(nn.Module, "zero_grad", wrap)

    def _patch_mode(self) -> None:
        def wrap(original: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
            @functools.wraps(original)
            def train(module: nn.Module, mode: bool = True) -> nn.Module:
                outermost = self._mode_depth == 0
                self._mode_depth += 1
                try:
                    result = original(module, mode)
                finally:
                    self._mode_depth -= 1
                if outermost:
                    self.emit("on_mode_change", module, bool(mode))
                return result

            return train

        self.patches.replace(nn.Module, "train", wrap)

    # -- data --------------------------------------------------------------------------------
    def _patch_loaders(self) -> None:
        def wrap_iter(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def __iter__(loader: DataLoader) -> Any:
                iterator = original(loader)
                if self.state.muted:
                    return iterator
                self._passes[iterator] = _Pass(loader)
                self._patch_torchvision()
                self.state.note_loader_iter(loader)
                self.emit("on_loader_iter", loader)
                return iterator

            return __iter__

        def wrap_next(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def __next__(iterator: Any) -> Any:
                current = self._passes.get(iterator)
                limit = self.pacing.pass_limit()
                if limit is not None and current is not None and current.batches >= limit:
                    raise StopIteration  # a compressed epoch ends here
                batch = original(iterator)
                if current is None:
                    return batch
                current.batches += 1
                loader = current.loader
                if not self.state.muted:
                    if self.intervention.active:
                        batch = self.intervention.replace_batch(loader, batch)
                    self.state.note_batch(loader, batch)
                    self.emit("on_batch", loader, batch)
                return batch

            return __next__

        self.patches.replace(DataLoader, "__iter__", wrap_iter)
        self.patches.replace(dataloader_module._BaseDataLoaderIter, "__next__", wrap_next)

    def _patch_torchvision(self) -> None:
        """Watch torchvision's ``normalize`` once a script that uses it starts loading data.

        Done lazily so that diagnosing a script that never imports torchvision does not import it.
        """
        functional = sys.modules.get("torchvision.transforms.functional")
        if functional is None or self._torchvision_patched or not self.enabled("normalize"):
            return
        self._torchvision_patched = True

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def normalize(tensor: Any, mean: Any, std: Any, *args: Any, **kwargs: Any) -> Any:
                if isinstance(tensor, torch.Tensor):
                    self.emit("on_normalize", tensor, mean, std)
                return original(tensor, mean, std, *args, **kwargs)

            return normalize

        self.patches.replace(functional, "normalize", wrap, component="normalize")

    def _patch_scalers(self) -> None:
        """Watch scikit-learn's standardizing scalers once the script imports them: a scaler applied
        to data it already standardized is the tabular form of normalizing twice."""

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def transform(scaler: Any, given: Any, *args: Any, **kwargs: Any) -> Any:
                result = original(scaler, given, *args, **kwargs)
                center = getattr(scaler, "mean_", None)
                if not self.state.muted:
                    self.emit(
                        "on_scaler",
                        given,
                        0.0 if center is None else center,
                        getattr(scaler, "scale_", 1.0),
                    )
                return result

            return transform

        def patch(module: ModuleType) -> None:
            if hasattr(module, "StandardScaler"):
                self.patches.replace(module.StandardScaler, "transform", wrap)

        self.patches.when_imported("sklearn.preprocessing._data", patch)

    def _patch_losses(self) -> None:
        for name in LOSS_FUNCTIONS:
            if hasattr(F, name):
                self.patches.replace(F, name, functools.partial(self._wrap_loss, name))

    def _wrap_loss(
        self, name: str, original: Callable[..., torch.Tensor]
    ) -> Callable[..., torch.Tensor]:
        @functools.wraps(original)
        def loss_function(input: Any, target: Any, *args: Any, **kwargs: Any) -> torch.Tensor:
            listener = self.state.loss_listener
            if listener is not None and not self._in_loss:  # the fit probe's own forward pass
                output = original(input, target, *args, **kwargs)
                grad = torch.is_grad_enabled()
                listener(LossCall(name, input, target, dict(kwargs), grad, output, args))
                return output
            if self._in_loss or self.state.muted or traced():
                return original(input, target, *args, **kwargs)
            self._in_loss = True
            call = LossCall(name, input, target, dict(kwargs), torch.is_grad_enabled(), args=args)
            try:
                if self.intervention.active:
                    self.intervention.transform_loss(call)
                self.emit("on_loss_start", call)
                call.output = original(call.input, call.target, *call.args, **call.kwargs)
            finally:
                self._in_loss = False
            if call.grad_enabled:
                self.state.last_loss_call = call
            self.emit("on_loss", call)
            return call.output

        return loss_function

    def _patch_grad_mode(self) -> None:
        """A hand-written update runs under ``no_grad``: its step can end when that block closes."""

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def __exit__(context: Any, *args: Any) -> Any:
                result = original(context, *args)
                if self.hand.pending and not self.state.muted:
                    self.hand.settle_if_updated()
                return result

            return __exit__

        self.patches.replace(torch.no_grad, "__exit__", wrap)
        self.patches.replace(torch.set_grad_enabled, "__exit__", wrap)

    def _patch_torchscript(self) -> None:
        """``torch.jit.script`` compiles the torch functions it finds from their source, with the
        globals of the function object: it must find torch's own, not the tap's wrappers (which
        scripted code never calls back anyway)."""

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def script(obj: Any, *args: Any, **kwargs: Any) -> Any:
                with self.patches.originals():
                    return original(obj, *args, **kwargs)

            return script

        self.patches.replace(torch.jit, "script", wrap)

    # -- messages ----------------------------------------------------------------------------
    def _patch_compile(self) -> None:
        """Compiled code hides the ops the probes watch: observe the same model in eager mode."""

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def compile(model: Any = None, *args: Any, **kwargs: Any) -> Any:
                note = "torch.compile was bypassed: the model ran in eager mode under diagnose"
                if note not in self.state.notes:
                    self.state.notes.append(note)
                return model if model is not None else (lambda fn: fn)

            return compile

        self.patches.replace(torch, "compile", wrap)

    def _patch_warnings(self) -> None:
        def wrap(original: Callable[..., None]) -> Callable[..., None]:
            @functools.wraps(original)
            def showwarning(
                message: Any,
                category: type,
                filename: str,
                lineno: int,
                file: Any = None,
                line: str | None = None,
            ) -> None:
                where = attributed_outside_ours(filename, lineno)
                if where != (filename, lineno):
                    (filename, lineno), line = where, None  # the source line is read again
                self.emit("on_warning", str(message), category.__name__, filename, lineno)
                return original(message, category, filename, lineno, file, line)

            return showwarning

        self.patches.replace(warnings, "showwarning", wrap)

    def on_exception(self, error: BaseException) -> None:
        self.emit("on_exception", error)


@dataclass(slots=True)
class _Pass:
    """One pass over a DataLoader: its loader and the batches served so far."""

    loader: DataLoader
    batches: int = 0


def defer_to_closure(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    begins: Callable[[], None],
    again: Callable[[], None] = lambda: None,
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """For ``step(closure)`` (LBFGS, and every step Lightning takes), the step's arguments with the
    closure wrapped so that ``begins`` runs once its first call returns: the gradients are computed
    inside the step, so the step really begins there (the fork point, the probes' pre-step checks);
    ``again`` runs before each further call. None for a step without a closure. The hook's args
    start with the optimizer itself."""
    position = next((i for i, a in enumerate(args[1:], 1) if callable(a)), None)
    closure = kwargs.get("closure") if position is None else args[position]
    if not callable(closure):
        return None
    called = [False]

    def closure_then_begin(*a: Any, **k: Any) -> Any:
        if called[0]:
            again()
        result = closure(*a, **k)
        if not called[0]:
            called[0] = True
            begins()
        return result

    faults.tag("step_hooks", closure_then_begin, passes_through=True)
    if position is None:
        return args, {**kwargs, "closure": closure_then_begin}
    return (*args[:position], closure_then_begin, *args[position + 1 :]), kwargs
