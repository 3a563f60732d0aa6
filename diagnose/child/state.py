"""What the tap knows about the training run so far; shared, read-mostly, by every probe."""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from diagnose import defaults
from diagnose.child.userframe import UserCode


@dataclass(frozen=True)
class Schedule:
    """Which steps get the expensive statistics: the first few, then every ``every``-th."""

    every: int = defaults.EVERY
    first: int = 3

    def is_sampled(self, step: int) -> bool:
        return step < self.first or step % self.every == 0

    def sparse(self, factor: int) -> Schedule:
        """The same start, ``factor`` times fewer samples later (for the costliest probes)."""
        return Schedule(every=self.every * factor, first=self.first)


@dataclass
class LoaderRecord:
    """A DataLoader seen by the tap. Its role becomes "train" once a backward follows its batch."""

    loader: weakref.ref
    iterations: int = 0
    batches: int = 0
    role: str = "eval"


class TrainingState:
    """Counters and the identity of the trained model, optimizers and loaders.

    The trained model is the top-level module that ran a forward pass with gradients before a
    backward pass, preferring one whose parameters an optimizer holds (DESIGN.md: "the module
    whose parameters the optimizer holds", which also catches an optimizer built for another
    model instance).
    """

    def __init__(self, user: UserCode, schedule: Schedule) -> None:
        self.user = user
        self.schedule = schedule
        self.step_counts: dict[int, int] = {}
        self._steps = 0
        self._sampled = schedule.is_sampled(0)
        self.step_clock: list[float] = []
        self.backward_calls = 0
        self.optimizers: list[torch.optim.Optimizer] = []
        self.roots: list[nn.Module] = []
        self.grad_roots: list[nn.Module] = []
        self.chosen_model: nn.Module | None = None
        self.forward_depth = 0
        self.loaders: dict[int, LoaderRecord] = {}
        self.last_batch_loader: int | None = None
        self.probe_errors: list[str] = []
        self._names: dict[int, str] = {}
        # What a replay needs to reproduce a training step: set by the tap as the run goes.
        self.pending_batch: tuple[Any, Any] | None = None
        self.last_train_batch: tuple[Any, Any] | None = None
        self.last_training_args: tuple[Any, ...] | None = None
        self.last_loss_call: Any = None
        self.last_forward_kwargs: dict[str, Any] = {}  # of the last top-level forward
        self.muted = False
        # The fit probe's settings, set by the session: the steps the run is planned for, where
        # its probe batches go (the observed run) or come from (a replay), and how a replay's fix
        # changes the model's inputs (its probe batches are changed alike).
        self.planned_steps = 0
        self.replay = False  # a replay of the run, not the observed run itself
        self.lr_curve: list[float] = []  # the first optimizer's LR per step (the optimizer probe's)
        self.fit_curve: list[tuple[int, float]] = []  # (step, probe loss) at each checkpoint
        self.probe_sink: str | None = None
        self.probe_source: str | None = None
        self.probe_transform: Any = None
        self.loss_changed = False  # this replay's fix changes what the loss computes
        # Receives every loss call while set, muted or not: the fit probe's own forward passes
        # read the losses a model computes inside its forward (Hugging Face, given labels).
        self.loss_listener: Any = None
        self.notes: list[str] = []
        self.loss_curve: list[
            float
        ] = []  # the training loss per step, as the loss probe records it
        self.last_activity: float | None = None  # the last forward, backward or step
        self.longest_gap = 0.0  # the longest silence between two of them so far: the run's own pace

    # -- clock -------------------------------------------------------------------------------
    @property
    def steps(self) -> int:
        """Optimizer step() calls so far, across all optimizers: a clock that only moves forward,
        also when the script builds a new optimizer (a GAN's two optimizers tick it twice per
        iteration)."""
        return self._steps

    @property
    def sampled(self) -> bool:
        """Whether the current step gets the expensive statistics."""
        return self._sampled

    def note_activity(self) -> None:
        """A training forward, backward or step: the run is making progress."""
        now = time.monotonic()
        if self.last_activity is not None:
            self.longest_gap = max(self.longest_gap, now - self.last_activity)
        self.last_activity = now

    def stalled(self, floor: float) -> bool:
        """No progress for longer than the run's own pace explains (at least ``floor`` seconds):
        hung, not slow. A run that never trained has stalled too."""
        if self.last_activity is None:
            return True
        return time.monotonic() - self.last_activity > max(floor, 3 * self.longest_gap)

    def count_step(self, optimizer: torch.optim.Optimizer) -> None:
        self.step_counts[id(optimizer)] = self.step_counts.get(id(optimizer), 0) + 1
        self._steps += 1
        self.note_activity()
        self._sampled = self.schedule.is_sampled(self._steps)
        self.step_clock.append(time.perf_counter())

    @property
    def median_step_seconds(self) -> float | None:
        """Median time between optimizer steps (what the overhead benchmark compares)."""
        gaps = sorted(b - a for a, b in zip(self.step_clock, self.step_clock[1:]))
        return gaps[len(gaps) // 2] if gaps else None

    def record(self) -> dict[str, Any]:
        """What the run record of a session reports about training itself."""
        return {
            "steps": self.steps,
            "backward_calls": self.backward_calls,
            "notes": self.notes,
            "median_step_seconds": self.median_step_seconds,
            "probe_errors": self.probe_errors,
        }

    # -- model identity ----------------------------------------------------------------------
    @property
    def model(self) -> nn.Module | None:
        if self.chosen_model is not None:
            return self.chosen_model
        candidates = self.grad_roots or self.roots
        return candidates[-1] if candidates else None

    def note_root_forward(self, module: nn.Module) -> None:
        self.note_activity()
        if module not in self.roots:
            self.roots.append(module)
        if torch.is_grad_enabled() and module not in self.grad_roots:
            self.grad_roots.append(module)

    def note_backward(self) -> None:
        """A backward pass ends a training forward: settle which module is being trained."""
        self.note_activity()
        self.backward_calls += 1
        if self.last_batch_loader in self.loaders:
            self.loaders[self.last_batch_loader].role = "train"
            self.last_train_batch = self.pending_batch
        if self.chosen_model is None and (self.grad_roots or self.roots):
            self.chosen_model = self._pick_model(self.grad_roots or self.roots)
            self._names = {}
        self.grad_roots = []

    def _pick_model(self, candidates: list[nn.Module]) -> nn.Module:
        optimized = self.optimized_param_ids()
        owning = [m for m in candidates if any(id(p) in optimized for p in m.parameters())]
        pool = owning or candidates
        return max(pool, key=lambda m: sum(p.numel() for p in m.parameters()))

    def optimized_params(self) -> list[torch.Tensor]:
        return [p for opt in self.optimizers for group in opt.param_groups for p in group["params"]]

    def optimized_param_ids(self) -> set[int]:
        return {id(p) for p in self.optimized_params()}

    def trainable_params(self) -> list[tuple[str, nn.Parameter]]:
        model = self.model
        if model is None:
            return []
        return [(name, p) for name, p in model.named_parameters() if p.requires_grad]

    def name_of(self, module: nn.Module) -> str:
        """Qualified name of a submodule of the trained model (its class name otherwise)."""
        if not self._names and self.model is not None:
            self._names = {
                id(m): name or type(m).__name__ for name, m in self.model.named_modules()
            }
        return self._names.get(id(module), type(module).__name__)

    # -- loaders -----------------------------------------------------------------------------
    def note_loader_iter(self, loader: Any) -> None:
        record = self.loaders.setdefault(id(loader), LoaderRecord(weakref.ref(loader)))
        record.iterations += 1

    def note_batch(self, loader: Any, batch: Any) -> None:
        record = self.loaders.setdefault(id(loader), LoaderRecord(weakref.ref(loader)))
        record.batches += 1
        self.last_batch_loader = id(loader)
        self.pending_batch = (loader, batch)

    def training_loader(self) -> tuple[Any, LoaderRecord] | None:
        """The loader whose batches are trained on, and its record."""
        for record in self.loaders.values():
            loader = record.loader()
            if record.role == "train" and loader is not None:
                return loader, record
        return None

    def training_loader_length(self) -> int | None:
        found = self.training_loader()
        try:
            return len(found[0]) if found else None
        except TypeError:  # an IterableDataset without a length
            return None

    def training_passes(self) -> int | None:
        """Passes started over the training loader (epochs), None without one."""
        found = self.training_loader()
        return found[1].iterations if found else None

    def loader_role(self, loader: Any) -> str:
        record = self.loaders.get(id(loader))
        return record.role if record else "eval"
