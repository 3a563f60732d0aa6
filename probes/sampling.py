"""The sampled probe set: rows drawn at random from the training loader's dataset, in the form the
model is given them.

The training loader's batches come in the script's order (a sorted training set yields batches
of one class); rows drawn at random from its dataset with our own generator do not. They are
collated by the loader's own ``collate_fn`` and mapped to the model's inputs and the loss targets
the way the script maps a batch, learned from its first training step: each tensor the model and
the loss were given must be a tensor of that batch (moved, cast or reshaped, nothing else). Reading
the dataset may run its transforms, which may draw random numbers: the script's random streams
are put back afterwards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import torch

from diagnose.probes.probeset import ProbeItem
from diagnose.probes.unseen import unseen

SEED = 20_241_207  # our own generator's: the same rows in every run of the script


def sampled_items(
    state: Any, first: ProbeItem, max_samples: int
) -> tuple[list[ProbeItem], str, float | None]:
    """Items of rows drawn from the training dataset, a note when there are none, and the share
    of the dataset the planned run will not reach (None when unknown)."""
    found = state.training_loader()
    batch = state.last_train_batch[1] if state.last_train_batch else None
    if found is None or batch is None:
        return [], "", None
    loader = found[0]
    dataset = getattr(loader, "dataset", None)
    if dataset is None or not _indexable(dataset):
        return [], "the training data is not an indexable dataset: no sampled probe set", None
    sources = _tensors(batch)
    mapping = _mapping(first, sources)
    if mapping is None:
        return [], "the script transforms its batches before the model: no sampled probe set", None
    size = len(dataset)
    per_batch = loader.batch_size or first.samples
    rows = torch.randperm(size, generator=torch.Generator().manual_seed(SEED))[:max_samples]
    try:
        with unseen(state=state):
            items = [
                _rebuild(
                    first, mapping, _tensors(loader.collate_fn([dataset[int(i)] for i in chunk]))
                )
                for chunk in rows.split(per_batch)
            ]
    except Exception as error:  # the dataset cannot be read outside the script's loop
        return [], f"the training dataset could not be sampled ({type(error).__name__})", None
    planned = max(int(getattr(state, "planned_steps", 0) or 0), 1)
    return [i for i in items if i is not None], "", max(0.0, 1.0 - planned * per_batch / size)


def _indexable(dataset: Any) -> bool:
    return hasattr(dataset, "__getitem__") and hasattr(dataset, "__len__")


def _mapping(first: ProbeItem, sources: list[torch.Tensor]) -> dict[int, int] | None:
    """For each tensor the first item holds (inputs, then targets, by position), the index of the
    batch tensor it was made from; None when one was made some other way."""
    mapping: dict[int, int] = {}
    for position, tensor in enumerate(_leaves(first)):
        index = next((i for i, s in enumerate(sources) if _made_from(tensor, s)), None)
        if index is None:
            return None
        mapping[position] = index
    return mapping


def _leaves(item: ProbeItem) -> list[torch.Tensor]:
    """The item's tensors: its inputs in order (depth first), then its loss targets."""
    return [*_tensors((item.args, item.kwargs)), *(term.target for term in item.terms)]


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for item in value.values() for t in _tensors(item)]
    if isinstance(value, (list, tuple)):
        return [t for item in value for t in _tensors(item)]
    return []


def _made_from(tensor: torch.Tensor, source: torch.Tensor) -> bool:
    """The tensor is the batch tensor, moved, cast or reshaped."""
    if tensor.numel() != source.numel():
        return False
    try:
        moved = source.to(tensor.device, tensor.dtype).reshape(tensor.shape)
    except (RuntimeError, TypeError):
        return False
    return bool(torch.equal(moved, tensor))


def _rebuild(
    first: ProbeItem, mapping: dict[int, int], sources: list[torch.Tensor]
) -> ProbeItem | None:
    """The first item's structure with every tensor taken from a new batch, converted alike."""
    leaves = _leaves(first)
    made: list[torch.Tensor] = []
    for position, original in enumerate(leaves):
        if mapping[position] >= len(sources):
            return None
        source = sources[mapping[position]]
        made.append(source.to(original.device, original.dtype).reshape(-1, *original.shape[1:]))
    inputs = iter(made[: len(leaves) - len(first.terms)])
    args, kwargs = _replaced((first.args, first.kwargs), inputs)
    terms = [
        dataclasses.replace(term, target=target)
        for term, target in zip(first.terms, made[len(leaves) - len(first.terms) :])
    ]
    return ProbeItem(tuple(args), dict(kwargs), terms)


def _replaced(value: Any, new: Any) -> Any:
    """``value`` with its tensors replaced, in ``_tensors``' order, by those ``new`` yields."""
    if isinstance(value, torch.Tensor):
        return next(new)
    if isinstance(value, Mapping):
        return {key: _replaced(item, new) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_replaced(item, new) for item in value]
        return tuple(items) if isinstance(value, tuple) else items
    return value
