"""The sandbox as frameworks use the file system: atomic moves with a chmod (fsspec, Lightning's
checkpoints), folder listings (loggers numbering their runs), stat, and safetensors' Rust I/O."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile

import pytest

from diagnose.child.sandbox import Sandbox


@pytest.fixture
def sandboxed(tmp_path):
    """A user folder with one file of the user's, and a sandbox installed around the test."""
    user = tmp_path / "user"
    (user / "logs" / "version_0").mkdir(parents=True)
    (user / "mine.txt").write_text("keep")
    sandbox = Sandbox(tmp_path / "work" / "scratch", exempt=[tmp_path / "work"])
    sandbox.install()
    try:
        yield user, sandbox
    finally:
        sandbox.remove()


def test_an_atomic_move_and_chmod_land_in_scratch(sandboxed):
    user, sandbox = sandboxed
    handle, temporary = tempfile.mkstemp()
    os.close(handle)
    os.makedirs(user / "ckpt", exist_ok=True)
    shutil.move(temporary, user / "ckpt" / "last.ckpt")
    os.chmod(user / "ckpt" / "last.ckpt", 0o644)
    assert os.stat(user / "ckpt" / "last.ckpt").st_size == 0 and os.path.isfile(
        user / "ckpt" / "last.ckpt"
    )
    assert str(user / "ckpt" / "last.ckpt") in sandbox.written


def test_listings_merge_the_users_folder_with_what_the_run_wrote(sandboxed):
    user, _ = sandboxed
    os.makedirs(user / "logs" / "version_1")
    assert sorted(os.listdir(user / "logs")) == ["version_0", "version_1"]
    with os.scandir(user / "logs") as entries:
        assert sorted(entry.name for entry in entries) == ["version_0", "version_1"]
    assert sorted(os.listdir(user)) == ["logs", "mine.txt"]


def test_the_users_files_stay_as_they_were(tmp_path):
    user = tmp_path / "user"
    user.mkdir()
    (user / "mine.txt").write_text("keep")
    sandbox = Sandbox(tmp_path / "work" / "scratch", exempt=[tmp_path / "work"])
    sandbox.install()
    try:
        with open(user / "mine.txt", "w") as handle:
            handle.write("overwritten")
        os.chmod(user / "mine.txt", 0o600)
        shutil.rmtree(user)
    finally:
        sandbox.remove()
    assert (user / "mine.txt").read_text() == "keep" and sorted(os.listdir(user)) == ["mine.txt"]


def test_safetensors_files_are_mapped_once_the_script_imports_it(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    import torch

    for name in (
        "safetensors.torch",
        "safetensors",
    ):  # as in a fresh child: imported after the sandbox is in
        del sys.modules[name]  # (the Rust extension stays loaded: it cannot be initialised twice)
    sandbox = Sandbox(tmp_path / "work" / "scratch", exempt=[tmp_path / "work"])
    sandbox.install()
    try:
        from safetensors.torch import load_file, save_file

        save_file({"w": torch.ones(3)}, tmp_path / "model.safetensors")
        assert load_file(tmp_path / "model.safetensors")["w"].sum() == 3
    finally:
        sandbox.remove()
    assert not (tmp_path / "model.safetensors").exists() and safetensors_torch is not None
