"""Run jobs in parallel subprocesses without oversubscribing the cores."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def threads_per_job(jobs: int) -> int:
    """`cores // jobs` threads per child (two torch processes spinning OpenMP threads on the same
    cores slow each other down many times over); an OMP_NUM_THREADS already set caps it."""
    share = max(1, (os.cpu_count() or 1) // max(1, jobs))
    cap = os.environ.get("OMP_NUM_THREADS", "")
    return min(share, int(cap)) if cap.isdigit() and int(cap) > 0 else share


def parallel(fn: Callable[[T], R], items: Iterable[T], jobs: int) -> Iterator[tuple[T, R]]:
    """(item, fn(item)) as each finishes; the work is subprocesses, so threads suffice."""
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {pool.submit(fn, item): item for item in items}
        for future in as_completed(futures):
            yield futures[future], future.result()
