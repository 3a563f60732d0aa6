"""Write an offered patch beside the reports: ``OUT/fix.patch`` (the diff, after a few lines of
header that ``patch`` and ``git apply`` skip) and ``OUT/patched/`` (the patched files).

As with the reports, nothing diagnose did not write is ever replaced: ``fix.patch`` carries the
marker, and ``patched/`` counts as ours only beside a ``fix.patch`` that does. A run whose patch
is not offered removes the ones an earlier run left, so no stale fix sits beside a new report.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from diagnose.child import atomic
from diagnose.diagnosis import PatchReport
from diagnose.errors import UsageError
from diagnose.evidence import PatchAttempt
from diagnose.reports.writer import MARKER, written_by_us

PATCH_FILE = "fix.patch"
PATCHED_DIR = "patched"
NOTEBOOK_PROGRAM = (
    "its code cells in order, each after a '# %% cell N' line, IPython's magics as the Python "
    "IPython translates them to"
)


def check_patch_output(out: Path) -> None:
    """Refuse, before anything runs, to replace a ``fix.patch`` or ``patched/`` we did not write."""
    patch, folder = out / PATCH_FILE, out / PATCHED_DIR
    if patch.exists() and not written_by_us(patch):
        raise UsageError(
            f"{patch}: exists and was not written by diagnose; choose another output folder (-o)"
        )
    if folder.exists() and not patch.exists():
        raise UsageError(
            f"{folder}: exists and was not written by diagnose; choose another output folder (-o)"
        )


def write_patch(out: Path, report: PatchReport | None, attempt: PatchAttempt | None) -> list[Path]:
    """The offered patch's files in ``out`` (replacing an earlier run's), or none at all."""
    check_patch_output(out)
    if report is None or attempt is None or not report.offered:
        (out / PATCH_FILE).unlink(missing_ok=True)
        shutil.rmtree(out / PATCHED_DIR, ignore_errors=True)
        return []
    staged = out / f".{PATCHED_DIR}.staging"
    shutil.rmtree(staged, ignore_errors=True)
    for patched in attempt.files:
        path = staged / patched.path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(patched.text, encoding="utf-8", newline="")
    atomic.replace_folder(staged, out / PATCHED_DIR)
    return [atomic.write_text(out / PATCH_FILE, header(report) + report.diff), out / PATCHED_DIR]


def header(report: PatchReport) -> str:
    """Lines before the diff: what it fixes, how it was verified, how to apply it."""
    notebooks = [name for name in report.files if name.endswith(".ipynb")]
    apply = (
        f"The patched notebook is {PATCHED_DIR}/{notebooks[0]}; this diff shows the same edit on "
        f"the program diagnose ran the notebook as ({NOTEBOOK_PROGRAM}), not on a file of yours"
        if notebooks
        else f"Apply it in {report.root}:  patch -p1 < {PATCH_FILE}   (or: git apply {PATCH_FILE})"
    )
    lines = [
        f"{MARKER}: a verified fix for: {report.title} ({report.cause})",
        f"Verified by running the patched {'notebook' if notebooks else 'script'} under the "
        f"same observation: {report.summary}.",
        apply,
        "",
    ]
    return "\n".join(lines) + "\n"
