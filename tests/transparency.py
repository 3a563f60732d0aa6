"""Run an idiom script plainly and under diagnose, and keep what each run showed of itself.

``diagnose_cli`` runs the whole ``diagnose`` command instead (replays, reports), for the tests
that need more than the observed run.

Plainly: ``python train.py`` in a fresh copy of the script's folder. Observed: the observed run
of ``diagnose --quick`` (``diagnose.facade.observe``, the same call ``run`` makes when replays are
off) in another fresh copy, from a separate interpreter started in that copy, with a work folder
the test keeps, so that the files the script wrote (redirected to the scratch folder) can be
compared with the plain run's. Both runs get one OpenMP thread and an environment marker that
finds every process of their tree afterwards.
"""

from __future__ import annotations

import io
import json
import os
import pickle
import re
import shutil
import subprocess
import sys
import time
import uuid
import warnings
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from diagnose.child import faults
from diagnose.evidence import Evidence

IDIOMS = Path(__file__).parent / "scripts" / "idioms"
MARKER = "DIAGNOSE_TRANSPARENCY_RUN"
OBSERVE = """
import sys
from pathlib import Path
from diagnose.driver.targets import resolve
from diagnose.facade import observe
script, work, steps, *args = sys.argv[1:]
evidence = observe(resolve(Path(script), args), steps=int(steps), workdir=Path(work))
Path(work, "evidence.json").write_text(evidence.to_json())
"""
TORCH_SERIALIZATION_ID = ".data/serialization_id"  # random per save: not the checkpoint's content


@dataclass
class Run:
    """What a run of a script showed: output, exit, the files it wrote, what it left behind."""

    folder: Path
    stdout: str
    stderr: str
    exit_code: int
    written: dict[str, bytes]
    folder_changes: list[str] = field(default_factory=list)
    survivors: list[int] = field(default_factory=list)
    evidence: Evidence | None = None

    def lines(self, tag: str) -> list[str]:
        """The printed lines of one idiom (``[tag] ...``)."""
        return [line for line in self.stdout.splitlines() if line.startswith(f"[{tag}]")]

    def errors(self) -> list[str]:
        """Standard error as lines (a progress bar's carriage returns too), the folder's path
        replaced so that two copies of a folder compare equal."""
        text = self.stderr.replace(str(self.folder), "<folder>")
        return [line for line in re.split(r"[\r\n]+", text) if line]


def both(name: str, root: Path, *args: str, steps: int = 200) -> tuple[Run, Run]:
    """The script ``idioms/<name>/train.py`` run plainly and observed, side by side."""
    with ThreadPoolExecutor(2) as pool:
        plain = pool.submit(run_plainly, name, root / "plain", *args)
        observed = pool.submit(run_observed, name, root / "observed", *args, steps=steps)
        return plain.result(), observed.result()


def run_plainly(name: str, root: Path, *args: str) -> Run:
    folder = copy_idiom(name, root)
    before = files_in(folder)
    marker = uuid.uuid4().hex
    done = subprocess.run(
        [sys.executable, "train.py", *args],
        cwd=folder,
        env=environment(marker),
        capture_output=True,
        text=True,
        timeout=300,
    )
    after = files_in(folder)
    written = {path: data for path, data in after.items() if before.get(path) != data}
    return Run(folder, done.stdout, done.stderr, done.returncode, written, [], survivors(marker))


def run_observed(name: str, root: Path, *args: str, steps: int = 200) -> Run:
    """The observed run; ``evidence`` is None when diagnose itself failed on it (the script's
    output and files are still compared)."""
    folder, work = copy_idiom(name, root), root / "work"
    before = files_in(folder)
    marker = uuid.uuid4().hex
    subprocess.run(
        [sys.executable, "-c", OBSERVE, str(folder / "train.py"), str(work), str(steps), *args],
        cwd=folder,
        env=environment(marker),
        capture_output=True,
        timeout=300,
    )
    saved = work / "evidence.json"
    evidence = Evidence.load(saved) if saved.exists() else None
    after = files_in(folder)
    changes = sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))
    scratch = work / "scratch" / folder.relative_to("/")
    return Run(
        folder,
        (work / "observe.stdout").read_text(),
        (work / "observe.stderr").read_text(),
        (evidence.observe.run.exit_code or 0) if evidence else -1,
        files_in(scratch),
        changes,
        survivors(marker),
        evidence,
    )


def diagnose_cli(folder: Path, *options: str, inject: str | None = None) -> tuple[dict, Path]:
    """``diagnose train.py OPTIONS`` in ``folder`` (a fault injected into the component named
    ``inject``): its outcome, and the report folder."""
    marker, out = uuid.uuid4().hex, folder.parent / "out"
    env = environment(marker)
    if inject:
        env[faults.INJECT_VARIABLE] = inject
    before = files_in(folder)
    done = subprocess.run(
        [sys.executable, "-m", "diagnose", "train.py", "-o", str(out), "--no-color", *options],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    outcome = {
        "code": done.returncode,
        "stderr": done.stderr,
        "survivors": survivors(marker),
        "folder_unchanged": files_in(folder) == before,
    }
    return outcome, out


def report(out: Path) -> tuple[dict, dict]:
    """``report.json`` and ``evidence.json`` of a diagnosis."""
    return json.loads((out / "report.json").read_text()), json.loads(
        (out / "evidence.json").read_text()
    )


def same_content(first: bytes, second: bytes) -> bool:
    """Equal files, or equal checkpoints: the tensors and structure they load to (pickles hold
    storage addresses, TorchScript archives the source's path and constants in hash order)."""
    if first == second:
        return True
    if _is_zip(first) and _is_zip(second):
        if any(name.startswith("code/") for name in _members(first)):
            return _equal(_script_state(first), _script_state(second))
        return _members(first) == _members(second)
    try:
        return _equal(pickle.loads(first), pickle.loads(second))
    except Exception:
        return False


def _is_zip(data: bytes) -> bool:
    return zipfile.is_zipfile(io.BytesIO(data))


def _members(archive: bytes) -> dict[str, bytes]:
    """A torch.save archive's records (its tensors' bytes and its pickled structure), by name."""
    with zipfile.ZipFile(io.BytesIO(archive)) as opened:
        return {
            # the archive's top folder is named after the file the checkpoint was saved to
            info.filename.split("/", 1)[-1]: opened.read(info)
            for info in opened.infolist()
            if not info.filename.endswith(TORCH_SERIALIZATION_ID)
        }


def _script_state(archive: bytes) -> dict[str, torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.load is deprecated
        return dict(torch.jit.load(io.BytesIO(archive)).state_dict())


def _equal(first: Any, second: Any) -> bool:
    if isinstance(first, torch.Tensor) and isinstance(second, torch.Tensor):
        return first.dtype == second.dtype and torch.equal(first, second)
    if isinstance(first, dict) and isinstance(second, dict):
        return list(first) == list(second) and all(_equal(first[k], second[k]) for k in first)
    if isinstance(first, (list, tuple)) and isinstance(second, (list, tuple)):
        return len(first) == len(second) and all(map(_equal, first, second))
    return type(first) is type(second) and first == second


def copy_idiom(name: str, root: Path) -> Path:
    folder = root / name
    shutil.copytree(IDIOMS / name, folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folder


def files_in(folder: Path) -> dict[str, bytes]:
    if not folder.is_dir():
        return {}
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def environment(marker: str) -> dict[str, str]:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", MARKER: marker}


def survivors(marker: str, grace: float = 1.0) -> list[int]:
    """Processes of a run's tree still alive once the run has returned (found by the environment
    marker every descendant inherits; a zombie has no environment left to read), after ``grace``
    seconds for processes already told to stop."""
    deadline = time.monotonic() + grace
    while (found := _marked(marker)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def _marked(marker: str) -> list[int]:
    needle = f"{MARKER}={marker}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
