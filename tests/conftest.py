"""Shared helpers: run scripts under the real tap (no mocks), once per test session each."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from diagnose.diagnosis import Diagnosis
from diagnose.driver.targets import resolve
from diagnose.evidence import Evidence
from diagnose.facade import observe
from diagnose.rules.judge import judge
from diagnose.rules.loader import load_rules

TESTS = Path(__file__).parent
SCRIPTS = TESTS / "scripts"
ZOO = TESTS.parent.parent / "shared" / "zoo"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
SESSION_VARIABLE, SESSION = "DIAGNOSE_TEST_SESSION", uuid.uuid4().hex
os.environ[SESSION_VARIABLE] = SESSION  # every process a test starts inherits it
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@contextmanager
def one_thread_per_child() -> Iterator[None]:
    """Children started in this block run torch with one OpenMP thread."""
    saved = {key: os.environ.get(key) for key in THREAD_VARIABLES}
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def two_at_a_time(work: Callable[[K], V], items: Sequence[K]) -> dict[K, V]:
    """``work`` over ``items``, two at a time (one per core) with one OpenMP thread per child: two
    torch processes spinning threads on the same two cores slow each other down many times over."""
    with one_thread_per_child(), ThreadPoolExecutor(2) as pool:
        return dict(zip(items, pool.map(work, items)))


def live_runs() -> list[str]:
    """Processes still running a scenario of a diagnosis that has ended: child interpreters (and
    the DataLoader workers and forked replays that inherit their command line) whose work folder
    is one the tool made for itself (tests that keep a fork server use folders of their own),
    started by this test session: other sessions may be running on the same machine."""
    found = subprocess.run(
        ["pgrep", "-af", "diagnose[._]+child"], capture_output=True, text=True
    ).stdout
    return [
        line
        for line in found.splitlines()
        if "pgrep" not in line and "/diagnose-" in line and started_here(int(line.split()[0]))
    ]


def started_here(pid: int) -> bool:
    """Whether process ``pid`` descends from this test session (it inherited the marker)."""
    try:
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return False
    return f"{SESSION_VARIABLE}={SESSION}".encode() in environment


@pytest.fixture(scope="session")
def rule_book():
    return load_rules()


@pytest.fixture(scope="session")
def observed() -> Callable[..., Evidence]:
    """Evidence of a script's observed run, cached by script and options for the session."""
    cache: dict[tuple, Evidence] = {}

    def run(script: Path | str, *args: str, steps: int = 200, timeout: float = 60.0) -> Evidence:
        key = (str(script), args, steps, timeout)
        if key not in cache:
            cache[key] = observe(resolve(Path(script), list(args)), steps=steps, timeout=timeout)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def diagnosed(observed, rule_book) -> Callable[..., Diagnosis]:
    def run(script: Path | str, *args: str, **options: float) -> Diagnosis:
        return judge(observed(script, *args, **options), rule_book)

    return run
