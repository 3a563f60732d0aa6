"""Keep the user's files safe: what the script writes goes to a scratch folder instead.

A truncated diagnostic run must not overwrite last night's ``best.pt``. Inside the child, writes
through ``open`` (which ``torch.save``, ``np.save``, loggers and most libraries use), directory
creation, renames, deletions and metadata changes (``chmod``, ``utime``: fsspec's atomic writes,
which Lightning's checkpoints use, set the mode of the file they just moved) are mapped to
``scratch/<absolute path>``; reads of a file the run wrote earlier come back from there (``open``,
``os.stat``, ``torch.load``, folder listings merged with the user's), so a script that saves and
reloads a checkpoint still works. TorchScript archives, written and read by torch's C++ code, are
mapped at ``ScriptModule.save`` and ``torch.jit.load``. A script may ``os.chdir`` into a folder it
created: the process then works in that folder's shadow while ``os.getcwd`` still answers the
folder's own path. Processes started with the spawn or forkserver methods (DataLoader workers)
install the same sandbox before they import anything of the script's (``spawned``).
"""

from __future__ import annotations

import builtins
import functools
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from diagnose.child import faults, spawned
from diagnose.child.patching import Patches

WRITE_MODES = set("wax+")
# Not the user's files: compiler caches, and what tempfile / multiprocessing (DataLoader workers)
# create.
TEMP_PREFIXES = ("torchinductor_", "triton", "pymp-", "tmp")
SYSTEM_ROOTS = ("/dev/", "/proc/", "/sys/")


class Sandbox:
    def __init__(self, scratch: Path, exempt: list[Path]) -> None:
        self.scratch = scratch.resolve()
        self.folders = list(exempt)
        folders = [scratch, *exempt, Path.home() / ".cache", Path.home() / ".triton"]
        self.exempt = tuple(str(p.resolve()) + os.sep for p in folders) + tuple(
            os.path.join(tempfile.gettempdir(), name) for name in TEMP_PREFIXES
        )
        self.written: list[str] = []
        self.patches = Patches(component=faults.SANDBOX)
        self._lstat = os.lstat  # the real one: os.path.lexists would call the patched os.lstat
        self._stat = os.stat
        self._getcwd = os.getcwd
        self.in_shadow = False  # the process works in a folder that exists only in the scratch

    # -- mapping -----------------------------------------------------------------------------
    def _absolute(self, path: Any) -> str | None:
        if isinstance(path, int):
            return None
        try:
            text = os.fsdecode(os.fspath(path))
        except TypeError:
            return None
        absolute = os.path.abspath(text)
        if absolute.startswith(SYSTEM_ROOTS) or (absolute + os.sep).startswith(self.exempt):
            return None
        return absolute

    def _shadow(self, absolute: str) -> str:
        return str(self.scratch) + absolute

    def for_write(self, path: Any) -> Any:
        absolute = self._absolute(path)
        if absolute is None:
            return path
        shadow = self._shadow(absolute)
        folder = os.path.dirname(shadow)
        if not (self._real_dir(folder) or self._real_dir(os.path.dirname(absolute))):
            return path  # a folder that exists nowhere: the call fails as it would unobserved
        os.makedirs(folder, exist_ok=True)
        if absolute not in self.written:
            self.written.append(absolute)
        return shadow

    def for_read(self, path: Any) -> Any:
        absolute = self._absolute(path)
        if absolute is None:
            return path
        shadow = self._shadow(absolute)
        try:
            self._lstat(shadow)
        except (OSError, ValueError):
            # a relative path means the folder os.getcwd() names, not the shadow the process is in
            return absolute if self.in_shadow else path
        return shadow

    def _logical(self, real: str) -> str:
        """The path a shadow stands for (``real`` itself outside the scratch folder)."""
        root = str(self.scratch)
        return real[len(root) :] or os.sep if (real + os.sep).startswith(root + os.sep) else real

    # -- install -----------------------------------------------------------------------------
    def install(self) -> None:
        import torch  # torch.save with a path writes through its own C++ writer, not open()

        self.patches.replace(torch, "save", self._save)
        self.patches.replace(torch, "load", self._mapped_first(self.for_read))
        self.patches.replace(torch.jit, "load", self._mapped_first(self.for_read))
        self.patches.replace(torch.jit.RecursiveScriptModule, "save", self._script_save)
        self.patches.when_imported("safetensors", self._patch_safetensors)
        self.patches.replace(builtins, "open", self._open)
        self.patches.replace(io, "open", self._open)
        for name in ("mkdir", "remove", "unlink", "rmdir", "chmod", "utime"):
            self.patches.replace(os, name, self._single_path)
        for name in ("rename", "replace"):
            self.patches.replace(os, name, self._move)
        self.patches.replace(shutil, "rmtree", self._rmtree)
        for name in ("exists", "isfile", "isdir"):
            self.patches.replace(os.path, name, self._query)
        for name in ("stat", "lstat"):
            self.patches.replace(os, name, self._read_path)
        self.patches.replace(os, "listdir", self._listdir)
        self.patches.replace(os, "scandir", self._scandir)
        self.patches.replace(os, "chdir", self._chdir)
        self.patches.replace(os, "getcwd", self._getcwd_logical)
        self.patches.replace(os, "getcwdb", self._getcwdb_logical)
        spawned.carry(self, self.patches)

    def remove(self) -> None:
        self.patches.restore()

    def _open(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            writing = bool(WRITE_MODES & set(mode))
            return original(
                self.for_write(file) if writing else self.for_read(file), mode, *args, **kwargs
            )

        return open

    def _save(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def save(obj: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
            return original(
                obj,
                self.for_write(f) if isinstance(f, (str, bytes, os.PathLike)) else f,
                *args,
                **kwargs,
            )

        return save

    def _mapped_first(
        self, mapping: Callable[[Any], Any]
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """A wrapper factory: the call's first argument, when a path, goes through ``mapping``."""

        def wrap(original: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(original)
            def mapped(f: Any, *args: Any, **kwargs: Any) -> Any:
                if isinstance(f, (str, bytes, os.PathLike)):
                    f = mapping(f)
                return original(f, *args, **kwargs)

            return mapped

        return wrap

    def _script_save(self, original: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(original)
        def save(module: Any, f: Any, *args: Any, **kwargs: Any) -> Any:
            return original(module, self.for_write(f), *args, **kwargs)

        return save

    def _chdir(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def chdir(path: Any) -> None:
            absolute = self._absolute(path)
            if absolute is None:
                original(path)
            elif self._real_dir(self._shadow(absolute)) and not self._real_dir(absolute):
                original(self._shadow(absolute))  # a folder the run created: work in its shadow
            else:
                original(absolute if self.in_shadow else path)
            self.in_shadow = (self._getcwd() + os.sep).startswith(str(self.scratch) + os.sep)

        return chdir

    def _real_dir(self, path: str) -> bool:
        try:
            return stat.S_ISDIR(self._stat(path).st_mode)
        except OSError:
            return False

    def _getcwd_logical(self, original: Callable[[], str]) -> Callable[[], str]:
        @functools.wraps(original)
        def getcwd() -> str:
            return self._logical(original()) if self.in_shadow else original()

        return getcwd

    def _getcwdb_logical(self, original: Callable[[], bytes]) -> Callable[[], bytes]:
        @functools.wraps(original)
        def getcwdb() -> bytes:
            return os.fsencode(self._logical(self._getcwd())) if self.in_shadow else original()

        return getcwdb

    def _patch_safetensors(self, module: Any) -> None:
        """safetensors reads and writes files from Rust (Hugging Face checkpoints): map the paths it
        is given, in the package that ``safetensors.torch`` and libraries import them from."""
        self.patches.replace(module, "serialize_file", self._serialize_file)
        self.patches.replace(module, "safe_open", self._safe_open)

    def _serialize_file(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def serialize_file(tensors: Any, filename: Any, *args: Any, **kwargs: Any) -> Any:
            return original(tensors, self.for_write(filename), *args, **kwargs)

        return serialize_file

    def _safe_open(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def safe_open(filename: Any, *args: Any, **kwargs: Any) -> Any:
            return original(self.for_read(filename), *args, **kwargs)

        return safe_open

    def _single_path(self, original: Callable[..., Any]) -> Callable[..., Any]:
        creates = original.__name__ == "mkdir"

        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            if (
                kwargs.get("dir_fd") is not None
            ):  # relative to a folder already opened (mapped) by path
                return original(path, *args, **kwargs)
            if creates:
                return original(self.for_write(path), *args, **kwargs)
            shadow = self.for_read(path)
            if shadow is path and self._absolute(path) is not None:
                return None  # the user's own file: pretend, never delete it
            return original(shadow, *args, **kwargs)

        return call

    def _move(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def move(src: Any, dst: Any, *args: Any, **kwargs: Any) -> Any:
            source, target = self.for_read(src), self.for_write(dst)
            if self._absolute(src) is not None and source is src:
                return shutil.copy2(source, target)  # the user's file stays where it is
            return original(source, target, *args, **kwargs)

        return move

    def _rmtree(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def rmtree(path: Any, *args: Any, **kwargs: Any) -> Any:
            shadow = self.for_read(path)
            if shadow is path and self._absolute(path) is not None:
                return None
            return original(shadow, *args, **kwargs)

        return rmtree

    def _read_path(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def call(path: Any, *args: Any, **kwargs: Any) -> Any:
            mapped = path if kwargs.get("dir_fd") is not None else self.for_read(path)
            return original(mapped, *args, **kwargs)

        return call

    def _listdir(self, original: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
        def listdir(path: Any = ".") -> list[Any]:
            shadow = self.for_read(path)
            return (
                original(path)
                if shadow is path
                else _merged(original, path, shadow, lambda name: name)
            )

        return listdir

    def _scandir(self, original: Callable[..., Any]) -> Callable[..., Any]:
        def scandir(path: Any = ".") -> Any:
            shadow = self.for_read(path)
            return (
                original(path)
                if shadow is path
                else _Entries(_merged(original, path, shadow, lambda entry: entry.name))
            )

        return scandir

    def _query(self, original: Callable[..., bool]) -> Callable[..., bool]:
        def query(path: Any) -> bool:
            try:
                return original(self.for_read(path)) or original(path)
            except TypeError:
                return original(path)

        return query


def _merged(
    list_folder: Callable[[Any], Any], path: Any, shadow: Any, name: Callable[[Any], str]
) -> list[Any]:
    """A folder's entries as the run sees it: the user's folder and what the run wrote into its
    shadow (a logger that numbers its runs from the folders it finds, a checkpoint callback that
    looks into the folder it created). Entries the run wrote hide the user's of the same name."""
    written = _listed(list_folder, shadow)
    names = {name(entry) for entry in written}
    return [entry for entry in _listed(list_folder, path) if name(entry) not in names] + written


def _listed(list_folder: Callable[[Any], Any], path: Any) -> list[Any]:
    try:
        listing = list_folder(path)
    except (FileNotFoundError, NotADirectoryError):
        return []
    entries = list(listing)
    getattr(listing, "close", lambda: None)()
    return entries


class _Entries(list):
    """``os.scandir``'s result, merged: iterable, and usable as ``with os.scandir(...) as it``."""

    def __enter__(self) -> _Entries:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def close(self) -> None:
        return None
