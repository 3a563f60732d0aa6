"""The tool's own errors are never the script's problem (issue 27): the two reported failures, a
fault in a piece of instrumentation (rerun without it, with a note), the classification of
exceptions, and the removal of the tool's temporary folders (the work folder, the patched copy's,
a batch's)."""

from __future__ import annotations

import json
import subprocess
import tempfile
import traceback
from pathlib import Path

import pytest
import torch
from conftest import one_thread_per_child
from transparency import copy_idiom, diagnose_cli, report

import diagnose
from diagnose.batch.executor import BatchOptions, LocalExecutor, run_batch
from diagnose.batch.runlist import collect
from diagnose.child import faults
from diagnose.child.sandbox import Sandbox
from diagnose.child.userframe import UserCode, is_ours
from diagnose.driver import zygote
from diagnose.driver.workspace import Workspace, remove


def test_whole_model_saved_every_epoch_is_a_healthy_run(tmp_path):
    """Reported: ``torch.save(model, f)`` every epoch crashed under diagnose with a PicklingError
    naming ``UserCode._is_user_file`` (the tap's hooks on the model), reported as the script's
    crash. Plainly the script runs."""
    outcome, out = diagnose_cli(copy_idiom("checkpoint_every_epoch", tmp_path), "--quick")
    assert outcome["code"] in (0, 1), outcome["stderr"]
    result, evidence = report(out)
    assert result["verdict"] != "crashed"
    assert "run_crashed" not in [cause["id"] for cause in result["causes"]]
    assert evidence["observe"]["run"]["status"] == "completed"
    assert "best " in evidence["observe"]["run"]["stdout_tail"]
    assert outcome["folder_unchanged"] and outcome["survivors"] == []


def test_workers_writing_into_the_working_folder_leave_nothing_behind(tmp_path):
    """Reported: a script whose DataLoader workers write into the working folder ended in
    ``diagnose: internal error: OSError: [Errno 39] Directory not empty`` when the work folder was
    removed while processes of a run still wrote there (a race: it did not fail on every run).
    Here replays are forked, and their preview workers, started after the fork point, were left
    running once each replay ended; now every run's group is gone before the folder is removed,
    nothing outlives diagnose, and the user's folder is untouched."""
    outcome, out = diagnose_cli(
        copy_idiom("workers_write", tmp_path), "--steps", "30", "--budget", "10"
    )
    assert outcome["code"] in (0, 1) and "internal error" not in outcome["stderr"]
    _, evidence = report(out)
    assert evidence["scenarios"], "no replay ran: the workers of replays were not exercised"
    assert outcome["folder_unchanged"] and outcome["survivors"] == []


def test_a_fault_of_ours_reruns_without_it_and_says_so(tmp_path):
    """A component that raises (fault injected into the loss wrappers) is not the script's crash:
    the run is repeated without it, the report says which observation was lost and why, and the
    replays' specs keep it off."""
    outcome, out = diagnose_cli(
        copy_idiom("checkpoint_every_epoch", tmp_path), "--quick", inject="losses"
    )
    assert outcome["code"] in (0, 1), outcome["stderr"]
    result, evidence = report(out)
    run = evidence["observe"]["run"]
    assert run["status"] == "completed" and run["disabled"] == ["losses"]
    assert result["verdict"] != "crashed" and evidence["observe"]["messages"]["exception"] is None
    (note,) = [note for note in result["notes"] if "diagnose's own code failed" in note]
    assert "not a problem of the script" in note and "not observed: the loss function" in note
    assert "fault injected" in note
    assert outcome["folder_unchanged"] and outcome["survivors"] == []


# -- which exceptions are ours ---------------------------------------------------------------
USER = UserCode(Path(__file__))


def raised(call) -> BaseException:
    try:
        call()
    except Exception as error:
        return error
    raise AssertionError("nothing was raised")


def test_an_error_of_the_wrapped_call_stays_the_scripts(tmp_path):
    """``torch.load`` of a missing file through the sandbox's wrapper: torch raises in the call
    the wrapper passed on, so the exception is the script's."""
    sandbox = Sandbox(tmp_path / "work" / "scratch", exempt=[tmp_path / "work"])
    sandbox.install()
    try:
        error = raised(lambda: torch.load(tmp_path / "missing.pt"))
    finally:
        sandbox.remove()
    assert isinstance(error, FileNotFoundError)
    assert any(
        is_ours(frame.f_code.co_filename) for frame, _ in traceback.walk_tb(error.__traceback__)
    )
    assert faults.locate(error, USER) is None


def test_an_error_raised_in_our_code_is_ours_and_names_its_component():
    """The stand-in a fault injection installs raises in our code, as a bug of ours would."""
    broken = faults.faulty("backward")
    fault = faults.locate(raised(lambda: broken(torch.zeros(1))), USER)
    assert fault is not None and fault.component == "backward"
    assert faults.switchable("backward") and not faults.switchable(faults.SANDBOX)
    assert fault.lost == faults.COMPONENTS["backward"] and "RuntimeError" in fault.error


def test_a_message_naming_our_code_is_ours():
    """The pickling error of the report named ``diagnose.child.userframe``: no frame of ours."""
    message = "Can't pickle <function>: it's not the same object as diagnose.child.userframe.f"

    def save():
        raise RuntimeError(message)

    fault = faults.locate(raised(save), USER)
    assert fault is not None and fault.component == faults.EVERYTHING


def test_a_scripts_own_error_is_the_scripts():
    assert faults.locate(raised(lambda: {}["missing"]), USER) is None


# -- the work folder ---------------------------------------------------------------------------
def immutable(path: Path, on: bool) -> bool:
    """Make ``path`` impossible to remove, even for root (``chattr +i``), or removable again."""
    done = subprocess.run(["chattr", "+i" if on else "-i", str(path)], capture_output=True)
    return done.returncode == 0


def test_a_work_folder_that_cannot_be_removed_is_left_with_a_note():
    """A file the file system refuses to delete: removal gives up after a few tries, leaves the
    folder in place and says so, instead of failing the diagnosis."""
    space = Workspace()
    with space as folder:
        stuck = folder / "scratch" / "stuck.txt"
        stuck.parent.mkdir()
        stuck.write_text("x")
        if not immutable(stuck, on=True):
            pytest.skip("chattr +i is not available here (needs root on ext4 or xfs)")
    try:
        assert space.leftover is not None and str(folder) in space.leftover
        assert "left in place" in space.leftover and stuck.exists()
    finally:
        immutable(stuck, on=False)
    assert remove(folder) is None and not folder.exists()


def test_a_work_folder_is_removed():
    space = Workspace()
    with space as folder:
        (folder / "a" / "b").mkdir(parents=True)
    assert space.leftover is None and not folder.exists()


# -- the other temporary folders of ours ------------------------------------------------------
@pytest.fixture
def unremovable(monkeypatch, tmp_path):
    """``unremovable("diagnose-batch-", ...)``: from now on, the temporary folders made with one
    of these prefixes hold a file the file system refuses to delete (``chattr +i``), as a folder
    that a process outside our control keeps open would; returns those files (the list fills as
    folders are made). Freed and removed when the test ends."""
    probe = tmp_path / "probe"
    probe.write_text("x")
    if not immutable(probe, on=True):
        pytest.skip("chattr +i is not available here (needs root on ext4 or xfs)")
    immutable(probe, on=False)
    stuck: list[Path] = []
    prefixes: set[str] = set()
    make = tempfile.mkdtemp

    def mkdtemp(suffix=None, prefix=None, dir=None):
        folder = make(suffix, prefix, dir)
        if prefix in prefixes:
            held = Path(folder, ".held")  # hidden: a batch run's files are the rest of its folder
            held.write_text("x")
            assert immutable(held, on=True)
            stuck.append(held)
        return folder

    def choose(*chosen: str) -> list[Path]:
        prefixes.update(chosen)
        return stuck

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp)
    yield choose
    for held in stuck:
        immutable(held, on=False)
        assert remove(held.parent) is None


def left(stuck: list[Path], prefix: str) -> Path:
    (folder,) = [held.parent for held in stuck if held.parent.name.startswith(prefix)]
    assert folder.exists()
    return folder


def test_a_patched_copys_folder_that_cannot_be_removed_is_left_with_a_note(
    unremovable, tmp_path, monkeypatch
):
    """The folder of the patched copy's run (``diagnose-patched-``) was a TemporaryDirectory,
    whose removal raised: the patch was lost ("could not be made"). Now it is left with a note and
    the verified patch is offered."""
    stuck = unremovable("diagnose-patched-")
    folder = copy_idiom("checkpoint_no_zero_grad", tmp_path)
    monkeypatch.chdir(folder)
    with one_thread_per_child():
        diagnosis = diagnose.run("train.py", out=tmp_path / "out", quick=True, patch=True)
    assert diagnosis.patch is not None and diagnosis.patch.offered, diagnosis.patch
    assert (tmp_path / "out" / "fix.patch").is_file()
    patched = left(stuck, "diagnose-patched-")
    (note,) = [note for note in diagnosis.notes if str(patched) in note]
    assert "left in place" in note


def test_batch_folders_that_cannot_be_removed_are_left_with_notes(
    unremovable, tmp_path, monkeypatch
):
    """A batch run's report folder (``diagnose-batch-``) and the batch's zygote folder
    (``diagnose-zygote-``) were TemporaryDirectory folders: a failed removal of the first failed
    the whole batch, of the second its end. Now the run is a finished row with a note, the batch
    ends with its summaries, and both notes are in summary.json and index.html."""
    stuck = unremovable("diagnose-batch-", "diagnose-zygote-")
    monkeypatch.delenv(zygote.ENV, raising=False)  # the batch starts a zygote of its own
    runs = collect([copy_idiom("checkpoint_every_epoch", tmp_path) / "train.py"])
    executor, out = LocalExecutor(1), tmp_path / "batch"
    with one_thread_per_child():
        (row,) = run_batch(runs, BatchOptions(out=out, jobs=1, diagnose_args=["--quick"]), executor)
    assert row.status == "done" and row.verdict in ("healthy", "problems"), row
    assert (out / row.name / "report.json").is_file()
    (run_note,) = row.notes
    assert str(left(stuck, "diagnose-batch-")) in run_note and "left in place" in run_note
    (batch_note,) = executor.notes
    assert str(left(stuck, "diagnose-zygote-")) in batch_note and "left in place" in batch_note
    summary = json.loads((out / "summary.json").read_text())
    assert summary["notes"] == [batch_note] and summary["rows"][0]["notes"] == [run_note]
    index = (out / "index.html").read_text()
    assert batch_note in index and f"{row.name}: {run_note}" in index
