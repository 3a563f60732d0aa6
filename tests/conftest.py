"""Shared helpers: run scripts under the real tap (no mocks), once per test session each."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Hashable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest

from diagnose.diagnosis import Diagnosis
from diagnose.driver import zygote
from diagnose.driver.runner import child_env
from diagnose.driver.targets import resolve
from diagnose.evidence import Evidence
from diagnose.facade import observe
from diagnose.rules.engine import evaluate
from diagnose.rules.judge import judge
from diagnose.rules.loader import load_rules

TESTS = Path(__file__).parent
SCRIPTS = TESTS / "scripts"
ZOO = TESTS.parent.parent / "shared" / "zoo"
THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
# Parallel test workers share the cores: each child torch gets one OpenMP thread, as two at a
# time do (two torch processes spinning threads on two cores slow each other down many times over).
if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1:
    os.environ.update(dict.fromkeys(THREAD_VARIABLES, "1"))
# Every process this test session starts inherits this variable: live_runs() finds its own by it.
SESSION_TOKEN = f"DIAGNOSE_TEST_SESSION={uuid.uuid4().hex}"
os.environ.update([SESSION_TOKEN.split("=", 1)])
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
    """Processes of this test session still running a scenario in a work folder the tool made for
    itself (``…/diagnose-…``; tests that keep a fork server use folders of their own): a cold
    child, the fork server and the replays forked from it, a run forked from the zygote, the
    DataLoader workers they forked. A forked process keeps its parent's command line, so the
    folder is read from its command line or from where its output goes. This session's processes
    carry its token in their environment (an orphan too), so other sessions' are never counted."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in (os.getpid(), ZYGOTE.pid):
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            output = os.readlink(entry / "fd" / "1")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        ours = SESSION_TOKEN.encode() in environ and "diagnose.child" in command
        in_work_folder = "/diagnose-" in command or "/diagnose-" in output
        if ours and in_work_folder and state != "Z":  # a zombie has ended: only its status is left
            found.append(f"{entry.name} {command}")
    return found


def cold_env(**extra: str) -> dict[str, str]:
    """This environment for a ``diagnose`` subprocess whose runs start cold interpreters, as a
    single ``diagnose`` command's do (the session's own runs fork from its zygote)."""
    env = {key: value for key, value in os.environ.items() if key != zygote.ENV}
    return {**env, **extra}


class _Zygote:
    """The zygote serving this session's child runs (pid 0 when none), and its folder."""

    pid = 0
    folder = Path()


ZYGOTE = _Zygote()


@pytest.fixture(scope="session", autouse=True)
def session_zygote() -> Iterator[None]:
    """Child runs fork from one pre-imported interpreter (``diagnose.child.zygote``) instead of
    importing torch cold, test after test. ``DIAGNOSE_TEST_COLD=1`` runs every child cold."""
    if os.environ.get("DIAGNOSE_TEST_COLD") == "1":
        yield
        return
    folder = Path(tempfile.mkdtemp(prefix="nn-test-zygote-"))  # not a run's work folder
    with zygote.serving(folder, child_env()) as client:
        if client is not None:
            ZYGOTE.pid, ZYGOTE.folder = int(client.pid_file.read_text()), folder
        yield
    ZYGOTE.pid = 0
    shutil.rmtree(folder, ignore_errors=True)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Modules marked heavy first: with files spread over workers, a long module that started last
    would leave one worker running alone at the end."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is None)


def symptom_status(evidence: Evidence, symptom: str, book) -> str:
    """The rule book's symptom on the evidence (with its rule's parameters): fired, clear or
    not_evaluated."""
    return evaluate(book.symptoms[symptom], evidence).status


def fired(evidence: Evidence, symptom: str, book) -> bool:
    return symptom_status(evidence, symptom, book) == "fired"


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
