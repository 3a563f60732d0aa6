"""Fit probe: the model's loss on fixed probe batches at checkpoints of the run.

The script's running training loss is measured in train mode (dropout on, batch-norm updating),
on the batch the update is about to learn from, in the script's own units (a per-batch sum, a
per-token mean): it shows the curve's shape, not how well the model fits. This probe keeps a few
batches and measures the model on the same ones throughout, in eval mode, per sample:

- ``train``: the first training batches, as the script fed them;
- ``val``: the first batches of the script's own validation pass, when it has one;
- ``sampled``: rows drawn at random (with our own generator) from the training loader's dataset,
  mapped to the model's inputs as the script maps a batch; order-free, so a sorted training set
  cannot make it one-sided.

It measures at the first step (before any update), at fixed fractions of the planned steps and at
the end. Each measurement is unseen by the script (``probes.unseen``). The items are written to a
file at the end so that replays, forked or cold, and the ``--patch`` check measure on the same
batches; a replay loads them instead of capturing its own.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from diagnose.probes.base import LossCall, Probe
from diagnose.probes.probeset import Measured, ProbeItem, copy_inputs, evaluate, term_of
from diagnose.probes.sampling import sampled_items
from diagnose.probes.sections import FitCheckpoint, FitSection, TaskInfo
from diagnose.probes.task import TOKEN_MATCH, describe_task, looks_ahead
from diagnose.probes.unseen import unseen

TRAIN_ITEMS = 4  # training batches kept
VAL_ITEMS = 4  # batches of the first validation pass kept
MAX_SAMPLES = 512  # rows per probe set
CHECKPOINTS = (0.05, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 1.0)  # of the planned steps
SETS = ("train", "val", "sampled")


@dataclass
class _Forward:
    """A top-level forward pass being watched: its inputs, output and loss calls."""

    module: nn.Module
    args: tuple[Any, ...]
    kwargs: dict[str, Any] = field(default_factory=dict)
    output: Any = None
    training: bool = True
    inside: list[LossCall] = field(default_factory=list)  # losses the model computed itself
    after: list[LossCall] = field(default_factory=list)  # losses the script computed from it


class FitProbe(Probe):
    name = "fit"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.items: dict[str, list[ProbeItem]] = {name: [] for name in SETS}
        self.loaded = False
        self.pending: _Forward | None = None
        self.checkpoints: list[FitCheckpoint] = []
        self.due: list[int] = []
        self.notes: list[str] = []
        self.unseen_share: float | None = None
        self.planned_for = 0
        self.restarted = False
        self.seconds = 0.0
        self.val_closed = False
        self.finished: tuple[int, FitSection] | None = None
        self._sync()

    @contextlib.contextmanager
    def _clocked(self) -> Iterator[None]:
        """Add the block's wall time to what the probe cost the run."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds += time.perf_counter() - started

    def _sync(self) -> None:
        """A forked replay inherits this probe in the state it had at the fork point. A fix's
        replay measures the observed run's probe batches (from the file the session names); a
        control's measures its own (the fixed batches it trains on), captured anew."""
        source = getattr(self.state, "probe_source", None)
        if getattr(self.state, "replay", False) and not source and not self.restarted:
            self.restarted, self.pending = True, None
            self.items, self.checkpoints, self.due = {name: [] for name in SETS}, [], []
            self.val_closed = False
            self.state.fit_curve = []
            return
        if not source or self.loaded or not Path(source).exists():
            return
        try:
            self.items = torch.load(source, weights_only=False)
        except Exception as error:  # a replay measures nothing rather than fail the run
            self.notes.append(f"the probe batches could not be read ({type(error).__name__})")
            self.state.probe_source = None
            return
        self.loaded, self.checkpoints, self.pending = True, [], None
        if self.state.steps or self.state.backward_calls:  # forked: the run is under way
            self._begin()

    # -- capture -------------------------------------------------------------------------------
    def on_root_forward_pre(self, model: nn.Module, args: tuple[Any, ...]) -> None:
        self._settle()
        if model is self.state.model or self.state.model is None:
            self.pending = _Forward(model, args, training=torch.is_grad_enabled())

    def on_root_forward(self, model: nn.Module, args: tuple[Any, ...], output: Any) -> None:
        if self.pending is not None and self.pending.output is None:
            self.pending.output = output
            self.pending.kwargs = dict(getattr(self.state, "last_forward_kwargs", {}) or {})

    def on_loss(self, call: LossCall) -> None:
        pending = self.pending
        if pending is None or call.grad_enabled != pending.training:
            return
        (pending.inside if pending.output is None else pending.after).append(call)

    def on_backward(self, root: torch.Tensor) -> None:
        self._sync()
        self._settle()
        if not self.checkpoints and (self.items["train"] or self.loaded):
            self._begin()

    def on_step_pre(self, optimizer: torch.optim.Optimizer) -> None:
        self._sync()
        if self.checkpoints and self.planned_for != self._planned():
            self._plan()  # a forked replay plans its own steps

    def on_step(self, optimizer: torch.optim.Optimizer) -> None:
        self._settle()
        if self.items["val"]:
            self.val_closed = True  # training went on: the first validation pass is over
        step = self.state.steps + 1  # the step being taken, counted once this hook returns
        if self.due and step >= self.due[0]:
            while self.due and step >= self.due[0]:
                self.due.pop(0)
            self._measure(step)

    def _settle(self) -> None:
        """Turn the watched forward into a probe item, if one is still wanted."""
        pending, self.pending = self.pending, None
        if pending is None or self.loaded or pending.output is None:
            return
        if self.state.model is not None and pending.module is not self.state.model:
            return  # another network's forward (a GAN's other half)
        kind = "train" if pending.training else "val"
        limit = TRAIN_ITEMS if kind == "train" else VAL_ITEMS
        kept = self.items[kind]
        if len(kept) >= limit or sum(item.samples for item in kept) >= MAX_SAMPLES:
            return
        if kind == "val" and not self.items["train"]:
            return  # a pass before training (a baseline) is not the validation the run repeats
        if kind == "val" and self.val_closed:
            return  # later passes repeat the same rows: counting them again inflates the sample
        item = _item(pending)
        if item is not None:
            kept.append(item)

    def _begin(self) -> None:
        """The first training step is captured: draw the sampled set, plan the checkpoints and
        measure before the first update."""
        if not self.loaded and self.items["train"]:
            with self._clocked():
                found = sampled_items(self.state, self.items["train"][0], MAX_SAMPLES)
            self.items["sampled"], note, self.unseen_share = found
            if note:
                self.notes.append(note)
        self._plan()
        self._measure(self.state.steps)

    def _plan(self) -> None:
        """Checkpoints at fixed shares of the steps this run is planned for, from where it is."""
        planned, now = self._planned(), self.state.steps
        self.planned_for = planned
        self.due = sorted({now + max(1, round(planned * share)) for share in CHECKPOINTS})

    def _planned(self) -> int:
        return max(int(getattr(self.state, "planned_steps", 0) or 0), 1)

    # -- measuring -----------------------------------------------------------------------------
    def _measure(self, step: int) -> None:
        model = _without_ddp(self.state.model)
        if model is None or not any(self.items.values()):
            return
        measured = {name: self._evaluate_set(model, name) for name in SETS}
        checkpoint = _checkpoint(step, measured)
        self.checkpoints.append(checkpoint)
        primary = next(
            (v for v in (checkpoint.sampled, checkpoint.val, checkpoint.train) if v), None
        )
        if primary is not None:
            self.state.fit_curve.append((step, primary))  # read by the pacing: still falling?
        if step and not self.due and step >= self._planned():
            self.due = [step + max(1, self._planned() // len(CHECKPOINTS))]  # a longer horizon

    def _evaluate_set(self, model: nn.Module, name: str) -> Measured | None:
        """One probe set measured; a set the model cannot take (kept from another network's
        forward before the model was known, as a GAN's two halves alternate) is dropped with a
        note rather than failing the probe."""
        try:
            return self._evaluate(model, self.items[name])
        except Exception as error:
            self.items[name] = []
            self.notes.append(
                f"the {name} probe batches could not be measured ({type(error).__name__}): left out"
            )
            return None

    def _evaluate(self, model: nn.Module, items: list[ProbeItem]) -> Measured | None:
        if not items:
            return None
        transform = getattr(self.state, "probe_transform", None)
        with self._clocked(), unseen(model, state=self.state), torch.no_grad():
            return evaluate(model, items, self._listen, transform)

    def _listen(self, receiver: Any) -> None:
        self.state.loss_listener = receiver

    # -- the end -------------------------------------------------------------------------------
    def finish(self) -> FitSection:
        if self.finished is not None and self.finished[0] == self.state.steps:
            return self.finished[1]  # asked again with no step since: the same section
        self._settle()
        if self.checkpoints and self.checkpoints[-1].step != self.state.steps:
            self._measure(self.state.steps)
        with self._clocked():
            self._save(getattr(self.state, "probe_sink", None))
            task = self._task()
        section = FitSection(
            task=task,
            samples={
                name: sum(item.samples for item in items) for name, items in self.items.items()
            },
            loaded=self.loaded,
            sampled_unseen=self.unseen_share,
            checkpoints=self.checkpoints,
            note="; ".join(self.notes) or self._why_none(),
            seconds=round(self.seconds, 3),
            loss_changed=bool(getattr(self.state, "loss_changed", False)),
        )
        self.finished = (self.state.steps, section)
        return section

    def _task(self) -> TaskInfo:
        """The task model; whether the model looks ahead is checked only when the targets copy
        its inputs (it costs three forwards)."""
        with unseen(state=self.state):  # chance is computed by the script's loss functions
            task = describe_task(self.items)
        model, train = _without_ddp(self.state.model), self.items["train"]
        if model is not None and train and (task.copies_input or 0) >= TOKEN_MATCH:
            with unseen(model, state=self.state), torch.no_grad():
                task.looks_ahead = looks_ahead(model, train[0], self._listen)
        return task

    def _why_none(self) -> str:
        if self.items["train"] or self.loaded:
            return ""
        return (
            "no training step's loss could be computed again from the model's output (the script "
            "transforms the output before its loss): fit was judged from the running loss"
        )

    def _save(self, path: str | None) -> None:
        if not path or self.loaded or not self.items["train"]:
            return
        with contextlib.suppress(Exception):  # an item that cannot be saved leaves replays alone
            torch.save(self.items, path)


def _checkpoint(step: int, measured: dict[str, Measured | None]) -> FitCheckpoint:
    def loss(name: str) -> float | None:
        found = measured.get(name)
        return None if found is None or found.loss is None else round(found.loss, 6)

    def accuracy(name: str) -> float | None:
        found = measured.get(name)
        return None if found is None or found.accuracy is None else round(found.accuracy, 4)

    return FitCheckpoint(
        step=step,
        train=loss("train"),
        train_accuracy=accuracy("train"),
        val=loss("val"),
        val_accuracy=accuracy("val"),
        sampled=loss("sampled"),
        sampled_accuracy=accuracy("sampled"),
    )


def _item(forward: _Forward) -> ProbeItem | None:
    """The probe item of a watched forward and its losses, when every loss can be recomputed."""
    calls = [(call, True) for call in forward.inside] + [(call, False) for call in forward.after]
    if not calls:
        return None
    terms = [term_of(call, forward.output, inside) for call, inside in calls]
    args, kwargs = copy_inputs(forward.args), copy_inputs(forward.kwargs)
    if any(term is None for term in terms) or args is None or kwargs is None:
        return None
    return ProbeItem(tuple(args), dict(kwargs), [t for t in terms if t is not None])


def _without_ddp(model: nn.Module | None) -> nn.Module | None:
    """The module a DistributedDataParallel wraps: its own forward runs collectives (a buffer
    broadcast) that a probe pass on one rank must never start."""
    if isinstance(model, nn.parallel.DistributedDataParallel):
        return model.module
    return model
