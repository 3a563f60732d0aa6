"""Data probe: what the model is fed (inputs and targets), label balance and order, loaders,
validation rows that also occur in training, and torchvision normalisation calls."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import TensorDataset
from torch.utils.data.distributed import DistributedSampler

from diagnose.probes.base import LossCall, Probe
from diagnose.probes.sections import DataSection, LoaderInfo, NormalizeCall
from diagnose.probes.tensors import TensorAccumulator, first_tensor, tensors_in
from diagnose.probes.tokens import TOKEN_MATCH, token_shares
from diagnose.vocabulary import CLASSIFICATION_LOSSES

SAMPLE_FIRST, SAMPLE_EVERY = 10, 50
MAX_TRAIN_ROWS, MAX_VAL_ROWS, MAX_DATASET_ROWS = 100_000, 50_000, 200_000
MAX_NORMALIZE_CALLS = 20
MAX_TRACKED = 1000
HASH_FIRST, HASH_EVERY = 50, 10  # rows of loader-fed TensorDatasets are hashed whole at the end
SAMPLE_IMAGES, MAX_SIDE = 16, 32
LABELS_FIRST = 20  # how mixed batches are: every batch at first, then sampled steps
MIN_TRAINING_SET, TRAINING_SET_SHARE = (
    100,
    0.9,
)  # rows: an evaluated tensor that is the training set
MAX_CONSTANT_BATCHES = 10_000
TOKEN_CHECKS = 20  # loss calls whose targets are compared with the model's integer inputs


class DataProbe(Probe):
    name = "data"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.inputs = TensorAccumulator()
        self.val_inputs = TensorAccumulator()
        self.targets = TensorAccumulator(track_distinct=True)
        self.class_counts = torch.zeros(0, dtype=torch.long)
        self.batch_shares: list[float] = []
        self.training_forwards = 0
        self.eval_forwards = 0
        self.target_calls = 0
        self.gathered_losses: set[str] = set()
        self.constant_batches: list[tuple[str, int, int, bool]] = []
        self.train_rows: set[int] = set()
        self.train_tensors: set[tuple[int, tuple[int, ...]]] = set()
        self.train_memory: set[tuple[int, int]] = set()
        self.val_sources: dict[tuple[Any, ...], set[int]] = {}
        self.loaders: dict[int, LoaderInfo] = {}
        self.loader_objects: dict[int, Any] = {}
        self.normalize_calls: list[NormalizeCall] = []
        self.normalize_count = 0
        self.samples_fetched = 0
        self.sample_images: list = []
        self.sample_labels: list[int] = []
        # The latest training forward's integer inputs (a decoder is given its targets too).
        self.token_inputs: list[torch.Tensor] = []
        self.token_checks = 0
        self.targets_from_inputs = 0

    # -- loaders -------------------------------------------------------------------------------
    def on_loader_iter(self, loader: Any) -> None:
        if id(loader) not in self.loaders:
            self.loaders[id(loader)] = LoaderInfo(
                role="eval",
                batch_size=loader.batch_size,
                dataset_size=_length(loader.dataset),
                sampler=type(loader.sampler).__name__,
                num_workers=loader.num_workers,
                iterations=0,
                sharded=isinstance(loader.sampler, DistributedSampler),
            )
            self.loader_objects[id(loader)] = loader
        self.loaders[id(loader)].iterations += 1
        self.loaders[id(loader)].pass_steps.append(self.state.steps)

    def on_batch(self, loader: Any, batch: Any) -> None:
        if self.normalize_count:  # samples are counted only to relate them to normalize calls
            found = first_tensor(batch)
            if found is not None:
                self.samples_fetched += int(found.shape[0]) if found.dim() else 1

    def on_normalize(self, given: torch.Tensor, mean: Any, std: Any) -> None:
        self.normalize_count += 1
        if len(self.normalize_calls) < MAX_NORMALIZE_CALLS and given.is_floating_point():
            self.normalize_calls.append(
                NormalizeCall(
                    input_mean=float(given.mean()),
                    input_std=float(given.std()) if given.numel() > 1 else 0.0,
                    mean=_floats(mean),
                    std=_floats(std),
                )
            )

    def on_scaler(self, given: Any, center: Any, scale: Any) -> None:
        """A scikit-learn scaler's transform: recorded like a normalize call, but not per sample (it
        transforms whole arrays once, before training)."""
        if len(self.normalize_calls) >= MAX_NORMALIZE_CALLS:
            return
        try:
            values = torch.as_tensor(np.asarray(given, dtype=np.float64))
        except (TypeError, ValueError):  # a sparse matrix: not read, and the data probe stays on
            return
        if values.numel() > 1:
            self.normalize_calls.append(
                NormalizeCall(
                    input_mean=float(values.mean()),
                    input_std=float(values.std()),
                    mean=_floats(np.asarray(center, dtype=np.float64).ravel()),
                    std=_floats(np.asarray(scale, dtype=np.float64).ravel()),
                )
            )

    # -- inputs --------------------------------------------------------------------------------
    def on_root_forward_pre(self, model: nn.Module, args: tuple[Any, ...]) -> None:
        x = first_tensor(args)
        if x is None:
            return
        if torch.is_grad_enabled():
            self.training_forwards += 1
            if (
                self.training_forwards <= HASH_FIRST or self.state.sampled
            ):  # full-batch tensors recur
                self.train_tensors.add(_key(x))
                if len(self.train_memory) < MAX_TRACKED:
                    self.train_memory.add(_memory(x))
            if self.training_forwards == 1:
                self.sample_images = _thumbnails(x)
            if self.token_checks < TOKEN_CHECKS:  # the check reads the first loss calls only
                tokens = [t for t in tensors_in(args) if not t.is_floating_point() and t.dim() >= 2]
                self.token_inputs = tokens or self.token_inputs
            if _sampled(self.training_forwards):
                self.inputs.add(x)
            if len(self.train_rows) < MAX_TRAIN_ROWS and (
                self.training_forwards <= HASH_FIRST or self.training_forwards % HASH_EVERY == 0
            ):
                self.train_rows.update(_row_hashes(x))
        else:
            self.eval_forwards += 1
            rows = self.val_sources.setdefault(self._source(x), set())
            if _sampled(self.eval_forwards):
                self.val_inputs.add(x)
            if sum(len(r) for r in self.val_sources.values()) < MAX_VAL_ROWS:
                rows.update(_row_hashes(x))

    def _from_data(self, y: torch.Tensor) -> bool:
        """Labels read from the data (a loader batch, or a slice of a stored label tensor), not
        built in the loop (a GAN's torch.ones targets say nothing about the data's order)."""
        latest = self.state.pending_batch
        if latest is not None and y.data_ptr() in {t.data_ptr() for t in tensors_in(latest[1])}:
            return True
        return y._base is not None

    def _source(self, x: torch.Tensor) -> tuple[Any, ...]:
        """The loader whose latest batch this input is, or the tensor itself."""
        latest = self.state.pending_batch
        if latest is not None and x.data_ptr() in {t.data_ptr() for t in tensors_in(latest[1])}:
            return ("loader", id(latest[0]))
        return ("tensor", *_key(x))

    # -- targets -------------------------------------------------------------------------------
    def on_loss_start(self, call: LossCall) -> None:
        y = call.target
        if not call.grad_enabled or not isinstance(y, torch.Tensor) or not y.numel():
            return
        self.target_calls += 1
        if _sampled(self.target_calls):
            self.targets.add(y)
        if self.token_inputs and self.token_checks < TOKEN_CHECKS:
            self.token_checks += 1
            self.targets_from_inputs += any(
                _tokens_of(y, x, call.ignore_index) for x in self.token_inputs
            )
        labels = _class_labels(call.name, y, call.ignore_index)
        if labels is None:
            return
        share = self.target_calls <= LABELS_FIRST or self.state.sampled
        if not self._from_data(y):
            # Labels gathered by index (y[idx]) are copies, as are labels built in the loop (a GAN's
            # torch.ones). Built ones are constant: a batch that mixes classes is data, and a
            # constant batch counts once the same loss has been given such data.
            if int(labels.min()) == int(labels.max()):
                if len(self.constant_batches) < MAX_CONSTANT_BATCHES:
                    self.constant_batches.append((call.name, int(labels[0]), labels.numel(), share))
                return
            self.gathered_losses.add(call.name)
        if self.sample_images and not self.sample_labels:
            self.sample_labels = labels[: len(self.sample_images)].tolist()
        self._count(
            torch.bincount(labels), share
        )  # every batch: sampled counts are biased when data is sorted

    def _count(self, counts: torch.Tensor, share: bool) -> None:
        if counts.numel() > self.class_counts.numel():
            counts, self.class_counts = (
                counts.clone(),
                torch.nn.functional.pad(
                    self.class_counts, (0, counts.numel() - self.class_counts.numel())
                ),
            )
        self.class_counts[: counts.numel()] += counts
        if share:
            self.batch_shares.append(float(counts.max()) / float(counts.sum()))

    # -- summary -------------------------------------------------------------------------------
    def finish(self) -> DataSection:
        for loss, label, size, share in self.constant_batches:
            if loss in self.gathered_losses:
                counts = torch.zeros(label + 1, dtype=torch.long)
                counts[label] = size
                self._count(counts, share)
        train_loaders = [
            lid for lid, record in self.state.loaders.items() if record.role == "train"
        ]
        for lid in train_loaders:
            if lid in self.loaders:
                self.loaders[lid].role = "train"
        train_rows = self.train_rows | self._dataset_rows(train_loaders)
        memory = self.train_memory | {
            _memory(ds.tensors[0]) for ds in self._train_datasets(train_loaders) if ds.tensors
        }
        val_rows: set[int] = set()
        slice_rows: set[int] = set()
        for source, rows in self.val_sources.items():
            if self._is_training_source(source, train_loaders) or _holds_training_set(
                rows, train_rows
            ):
                continue
            inside = source[0] == "tensor" and any(low <= source[1] < high for low, high in memory)
            (slice_rows if inside else val_rows).update(rows)
        return DataSection(
            batches=self.training_forwards,
            inputs=self.inputs.summary(),
            val_inputs=self.val_inputs.summary(),
            targets=self.targets.summary(),
            class_counts={i: int(c) for i, c in enumerate(self.class_counts.tolist()) if c},
            batch_majority_share=sum(self.batch_shares) / len(self.batch_shares)
            if self.batch_shares
            else None,
            loaders=list(self.loaders.values()),
            train_rows_hashed=len(train_rows),
            val_rows_hashed=len(val_rows),
            val_rows_in_train=len(val_rows & train_rows),
            train_slice_rows=len(slice_rows),
            train_slice_rows_in_train=len(slice_rows & train_rows),
            targets_from_inputs=self.targets_from_inputs / self.token_checks
            if self.token_checks
            else None,
            normalize_calls=self.normalize_calls,
            sample_images=self.sample_images,
            sample_labels=self.sample_labels,
            normalize_calls_per_sample=(
                self.normalize_count / self.samples_fetched
                if self.samples_fetched and self.normalize_count
                else None
            ),
        )

    def _is_training_source(self, source: tuple[Any, ...], train_loaders: list[int]) -> bool:
        if source[0] == "loader":
            return source[1] in train_loaders
        key = source[1:]
        return key in self.train_tensors or key in self._dataset_keys(train_loaders)

    def _train_datasets(self, train_loaders: list[int]) -> list[TensorDataset]:
        loaders = self.loader_objects
        return [
            loaders[lid].dataset
            for lid in train_loaders
            if lid in loaders and isinstance(loaders[lid].dataset, TensorDataset)
        ]

    def _dataset_keys(self, train_loaders: list[int]) -> set[tuple[int, tuple[int, ...]]]:
        return {_key(ds.tensors[0]) for ds in self._train_datasets(train_loaders) if ds.tensors}

    def _dataset_rows(self, train_loaders: list[int]) -> set[int]:
        rows: set[int] = set()
        for ds in self._train_datasets(train_loaders):
            if ds.tensors:
                rows.update(_row_hashes(ds.tensors[0][:MAX_DATASET_ROWS]))
        return rows


def _holds_training_set(rows: set[int], train_rows: set[int]) -> bool:
    """An evaluated tensor holding (nearly) every training row seen is the training set itself,
    rebuilt or indexed apart from the batches: a training-accuracy check. A validation set that
    leaks holds a part of the training rows, in proportion to its size."""
    return len(train_rows) >= MIN_TRAINING_SET and len(
        rows & train_rows
    ) >= TRAINING_SET_SHARE * len(train_rows)


def _sampled(count: int) -> bool:
    return count <= SAMPLE_FIRST or count % SAMPLE_EVERY == 0


def _key(x: torch.Tensor) -> tuple[int, tuple[int, ...]]:
    return (x.data_ptr(), tuple(x.shape))


def _memory(x: torch.Tensor) -> tuple[int, int]:
    """The byte range a tensor's elements span (to tell a slice of the training data)."""
    return (x.data_ptr(), x.data_ptr() + x.numel() * x.element_size())


def _row_hashes(x: torch.Tensor) -> set[int]:
    if x.dim() == 0 or x.shape[0] == 0:
        return set()
    rows = x.detach().reshape(x.shape[0], -1).contiguous().cpu().numpy()
    return {hash(row.tobytes()) for row in rows}


def _class_labels(loss: str, y: torch.Tensor, ignore_index: int) -> torch.Tensor | None:
    """Class indices of a classification target of shape (N,) or (N, 1), else None; positions
    the loss ignores (padding) are no label."""
    if loss not in CLASSIFICATION_LOSSES or y.dim() > 2 or (y.dim() == 2 and y.shape[1] != 1):
        return None
    flat = y.detach().flatten()
    if flat.is_floating_point() and not torch.equal(flat, flat.round()):
        return None
    flat = flat[flat != ignore_index]
    if not flat.numel() or flat.min() < 0 or flat.max() > 100_000:
        return None
    return flat.long().cpu()


def _tokens_of(y: torch.Tensor, x: torch.Tensor, ignore_index: int) -> bool:
    """Whether integer targets are the model's integer inputs, as they are or shifted by one
    position along a sequence axis: a language model's next-token targets (padding the loss
    ignores is left out). Their class balance is the text's token frequencies."""
    return any(
        share is not None and share >= TOKEN_MATCH
        for share in token_shares(y.detach(), x.detach(), ignore_index)
    )


def _thumbnails(x: torch.Tensor) -> list:
    """A few inputs as small (C, H, W) images, when the inputs are images (N, 1 or 3, H, W)."""
    if (
        x.dim() != 4
        or x.shape[1] not in (1, 3)
        or not x.is_floating_point()
        or min(x.shape[2:]) < 4
    ):
        return []
    images = x[:SAMPLE_IMAGES].detach().float().cpu()
    if max(images.shape[2:]) > MAX_SIDE:
        images = torch.nn.functional.interpolate(images, size=(MAX_SIDE, MAX_SIDE), mode="area")
    return [
        [[[round(v, 3) for v in row] for row in channel] for channel in image]
        for image in images.tolist()
    ]


def _length(dataset: Any) -> int | None:
    try:
        return len(dataset)
    except TypeError:
        return None


def _floats(values: Any) -> list[float]:
    if isinstance(values, (torch.Tensor, np.ndarray)):
        return [float(v) for v in values.flatten()[:8]]
    if isinstance(values, (list, tuple)):
        return [float(v) for v in values[:8]]
    return [float(values)]
