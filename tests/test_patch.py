"""``--patch`` end to end: on copies of zoo scripts and of tests/cases scripts in other styles,
``diagnose --patch`` writes a diff that ``patch -p1`` applies to a fresh copy of the script, giving
the file ``patched/`` holds; that file runs plainly, and under observation it learns by the
healthy standard (the verification). The folder diagnose was pointed at stays byte-identical.

All cases run once per session, two at a time with one OpenMP thread each, as the command line.
The plain runs fork from a warm interpreter (``warm_python``) that imported torch and scikit-learn
once: the same ``python SCRIPT``, without its start paid for fifteen times over.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import TESTS, ZOO, one_thread_per_child, two_at_a_time
from warm_python import WarmPython, serving

from diagnose.driver.interpreter import module_command
from diagnose.facade import rerender

CASES = TESTS / "cases"
PATCHED = [
    ZOO / f"{name}.py"
    for name in (
        "missing_zero_grad",
        "optimizer_step_missing",
        "train_mode_not_restored",
        "eval_mode_missing",
        "softmax_before_cross_entropy",
        "lr_too_high",
        "lr_too_low",
        "data_not_shuffled",
        "frozen_parameters",
    )
]
PATCHED += [
    CASES / f"{name}.py" for name in ("case06", "case22", "case41", "case48", "case49", "case51")
]
NOT_LOCAL = ZOO / "detached_graph.py"
PLAIN_SECONDS = 180

pytestmark = [
    pytest.mark.heavy,
    pytest.mark.skipif(
        importlib.util.find_spec("sklearn") is None or shutil.which("patch") is None,
        reason="needs scikit-learn and the patch program",
    ),
    pytest.mark.skipif(not ZOO.exists(), reason="shared/zoo is not beside the repository"),
]


@dataclass
class Outcome:
    user: Path
    out: Path
    before: dict[str, bytes]
    after: dict[str, bytes]
    report: dict
    applied: subprocess.CompletedProcess | None = None
    copy: Path | None = None
    plain: subprocess.CompletedProcess | None = None


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else b"<dir>"
        for p in sorted(folder.rglob("*"))
    }


def _diagnose_and_apply(script: Path, tmp: Path, python: WarmPython) -> Outcome:
    """diagnose --patch on a copy of the folder; then patch -p1 on a fresh copy, and a plain run."""
    user, out = tmp / "user" / script.stem, tmp / "out" / script.stem
    user.mkdir(parents=True)
    shutil.copy(script, user / script.name)
    (user / "notes.txt").write_text("the user's own file\n")
    before = snapshot(user)
    subprocess.run(
        module_command(
            "diagnose",
            str(user / script.name),
            "-o",
            str(out),
            "--format",
            "md,json",
            "--patch",
            "-q",
        ),
        cwd=tmp,
        timeout=600,
    )
    outcome = Outcome(
        user, out, before, snapshot(user), json.loads((out / "report.json").read_text())
    )
    if (out / "fix.patch").exists():
        outcome.copy = tmp / "copy" / script.stem
        outcome.copy.mkdir(parents=True)
        shutil.copy(script, outcome.copy / script.name)
        outcome.applied = subprocess.run(
            ["patch", "-p1", "-i", str(out / "fix.patch")],
            cwd=outcome.copy,
            capture_output=True,
            text=True,
        )
        outcome.plain = python.run(script.name, outcome.copy, PLAIN_SECONDS)
    return outcome


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory) -> dict[str, Outcome]:
    tmp = tmp_path_factory.mktemp("patch")
    with one_thread_per_child(), serving(dict(os.environ)) as python:
        done = two_at_a_time(
            lambda script: _diagnose_and_apply(script, tmp, python), [*PATCHED, NOT_LOCAL]
        )
    return {script.stem: outcome for script, outcome in done.items()}


@pytest.mark.parametrize("script", PATCHED, ids=lambda s: s.stem)
def test_patch_applies_runs_plainly_and_trains(outcomes, script):
    outcome = outcomes[script.stem]
    patch = outcome.report["patch"]
    assert patch and patch["offered"] and patch["verified"], (outcome.report["causes"][:1], patch)
    assert outcome.applied is not None and outcome.applied.returncode == 0, outcome.applied
    patched = {
        p.relative_to(outcome.out / "patched").as_posix(): p.read_bytes()
        for p in (outcome.out / "patched").rglob("*")
        if p.is_file()
    }
    assert patched == {name: (outcome.copy / name).read_bytes() for name in patched}
    assert outcome.plain.returncode == 0 and "Traceback" not in outcome.plain.stderr, (
        outcome.plain.stderr[-2000:]
    )


@pytest.mark.parametrize("script", [*PATCHED, NOT_LOCAL], ids=lambda s: s.stem)
def test_the_users_folder_is_byte_identical(outcomes, script):
    outcome = outcomes[script.stem]
    assert outcome.after == outcome.before


def test_a_fix_that_is_not_a_local_edit_is_said_not_invented(outcomes):
    outcome = outcomes[NOT_LOCAL.stem]
    assert outcome.report["patch"]["offered"] is False
    assert (
        "no local edit" in outcome.report["patch"]["reason"]
        and "numpy" in outcome.report["patch"]["reason"]
    )
    assert not (outcome.out / "fix.patch").exists() and not (outcome.out / "patched").exists()
    assert "**No patch offered**" in (outcome.out / "report.md").read_text()


def test_the_report_shows_the_diff_with_its_numbers(outcomes, tmp_path):
    outcome = outcomes["missing_zero_grad"]
    markdown = (outcome.out / "report.md").read_text()
    patch = outcome.report["patch"]
    assert (
        "## Patch" in markdown
        and "```diff\n--- a/missing_zero_grad.py\n+++ b/missing_zero_grad.py\n" in markdown
    )
    assert "+        optimizer.zero_grad()\n" in markdown
    assert f"| the patched script | {patch['before']:.4g} | {patch['after']:.4g} |" in markdown
    rerender(outcome.out / "evidence.json", out=tmp_path, formats=["html"])
    html = (tmp_path / "report.html").read_text()
    assert (
        'id="patch"' in html
        and '<span class="diff-add">+        optimizer.zero_grad()</span>' in html
    )
    assert (tmp_path / "fix.patch").read_text() == (outcome.out / "fix.patch").read_text()
    assert (tmp_path / "patched" / "missing_zero_grad.py").exists()


def test_batch_writes_a_patch_per_run_and_a_column_for_it(tmp_path):
    from diagnose.batch.executor import BatchOptions, LocalExecutor, run_batch
    from diagnose.batch.runlist import collect

    target = TESTS / "scripts" / "replay_target.py"
    runs = tmp_path / "runs.jsonl"
    runs.write_text(
        json.dumps(
            {"script": str(target), "args": ["--bug", "no_zero_grad"], "name": "no zero grad"}
        )
        + "\n"
        + json.dumps({"script": str(target), "name": "healthy"})
    )
    options = BatchOptions(
        out=tmp_path / "out",
        jobs=2,
        formats=["md", "json"],
        diagnose_args=["--quick", "--patch", "--timeout", "60"],
        run_seconds=300,
    )
    rows = {row.name: row for row in run_batch(collect([runs]), options, LocalExecutor(2))}
    assert rows["no-zero-grad"].patch == "verified" and rows["healthy"].patch == ""
    folder = options.out / "no-zero-grad"
    assert "+            optimizer.zero_grad()\n" in (folder / "fix.patch").read_text()
    assert (folder / "patched" / "replay_target.py").is_file()
    table = (options.out / "summary.csv").read_text().splitlines()
    assert table[0].endswith(",patch") and any(line.endswith(",verified") for line in table[1:])
    assert '<a href="no-zero-grad/fix.patch">' in (options.out / "index.html").read_text()
