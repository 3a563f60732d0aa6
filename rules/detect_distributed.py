"""Detectors of multi-process runs (``diagnose --nproc-per-node N``): they compare the ranks.

Data-parallel training keeps one model on every rank: the same weights after every step, each rank
on its own shard of data, reshuffled every epoch. Every rank records a fingerprint of its weights
and its DistributedSampler's epochs; these detectors read them side by side.
"""

from __future__ import annotations

import math

from diagnose.evidence import Evidence
from diagnose.probes.sections import RankRecord
from diagnose.rules.findings import Finding, NotEvaluated, detector, observed


def _apart(reference: list[float], other: list[float]) -> float:
    """How far two fingerprints of the same weights are, relative to the weights' size."""
    if len(reference) != len(other) or not reference:
        return math.inf
    scale = max(abs(v) for v in reference) or 1.0
    return max(abs(a - b) for a, b in zip(reference, other)) / scale


@detector
def ranks_weights_differ(ev: Evidence, max_relative: float = 1e-5) -> Finding:
    """After an optimizer step the ranks hold different weights: they train different models (no
    DistributedDataParallel, or weights initialised per rank and never broadcast from rank 0)."""
    ranks = [r for r in observed(ev, "distributed").ranks if r.first_step]
    if len(ranks) < 2:
        raise NotEvaluated("fewer than two ranks recorded their weights after an optimizer step")
    first, others = ranks[0], ranks[1:]
    worst = max(others, key=lambda r: _apart(first.first_step, r.first_step))
    after_step, at_end = _apart(first.first_step, worst.first_step), _apart(first.last, worst.last)
    if max(after_step, at_end) <= max_relative:
        return Finding.no(
            f"the {len(ranks)} ranks hold the same weights after the first step and at the end"
        )
    return Finding.yes(
        1.0,
        f"after the first optimizer step rank {worst.rank}'s weights differ from rank "
        f"{first.rank}'s by {after_step:.2g} of their size ({at_end:.2g} at the end)"
        f"{_why_apart(first, worst)}",
        where="optimizer",
    )


def _why_apart(first: RankRecord, other: RankRecord) -> str:
    if _apart(first.start, other.start) > 0:
        return (
            "; they already differed before it: each rank initialised its own weights and nothing "
            "broadcast rank 0's"
            + (" (the gradients are averaged by hand)" if other.gradient_reductions else "")
        )
    return ""


@detector
def sampler_epoch_fixed(ev: Evidence, min_passes: int = 2) -> Finding:
    """A DistributedSampler iterated over several epochs always at the same epoch: ``set_epoch`` is
    never called, so every epoch serves each rank the same samples in the same order."""
    section = observed(ev, "distributed")
    passes = [r for r in section.ranks if len(r.sampler_epochs) >= min_passes]
    if not section.samplers or not passes:
        raise NotEvaluated(f"no DistributedSampler was iterated {min_passes} times or more")
    stuck = [r for r in passes if len(set(r.sampler_epochs)) == 1]
    if not stuck:
        return Finding.no(f"the sampler's epoch moved: {passes[0].sampler_epochs[:6]}")
    rank = stuck[0]
    return Finding.yes(
        1.0,
        f"rank {rank.rank}'s DistributedSampler was iterated {len(rank.sampler_epochs)} times, "
        f"always at epoch {rank.sampler_epochs[0]} (set_epoch was called {rank.set_epoch_calls} "
        "times): every epoch repeats the same order",
        where="loader",
    )


@detector
def eval_unreduced(ev: Evidence) -> Finding:
    """Validation on a sharded loader (each rank evaluates its own part of the data) while the
    script reduces or gathers nothing across ranks: what rank 0 reports covers 1/N of the validation
    data."""
    section, data = observed(ev, "distributed"), observed(ev, "data")
    loss = ev.observe.loss
    passes = [p for p in (loss.eval_passes if loss else []) if p.forwards or p.loss is not None]
    sharded = [info for info in data.loaders if info.role == "eval" and info.sharded]
    if section.world_size < 2 or not passes or not sharded:
        raise NotEvaluated(
            "no validation pass over a DistributedSampler's shard in a multi-process run"
        )
    first = section.ranks[0] if section.ranks else None
    if first is None or first.metric_reductions:
        return Finding.no(
            f"rank 0 reduced or gathered its numbers {first.metric_reductions if first else 0} "
            "times"
        )
    return Finding.yes(
        0.9,
        f"{len(passes)} validation passes ran over a DistributedSampler that gives each of the "
        f"{section.world_size} ranks its own part of the validation data, and the script reduced "
        "or gathered no loss or metric across ranks: rank 0's numbers cover "
        f"1/{section.world_size} of it",
        where="loader",
    )
