"""Resolve what the user asked to diagnose into a Python script, checked before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import tomllib

from diagnose.errors import UsageError

SCRIPT_SUFFIXES = (".py", ".pyw")
DEFAULT_SCRIPTS = ("train.py", "main.py")


@dataclass
class Target:
    """A training script, the arguments to run it with, and how many processes run it (torchrun's
    ``--nproc-per-node``; 1: the script alone)."""

    script: Path
    args: list[str] = field(default_factory=list)
    nproc: int = 1


def resolve(path: Path, args: list[str] | None = None, nproc: int = 1) -> Target:
    """A script file, or a folder holding one (named by diagnose.toml / pyproject's
    [tool.diagnose]), run by ``nproc`` processes."""
    if nproc < 1:
        raise UsageError("--nproc-per-node must be at least 1")
    target = _locate(path, args)
    target.nproc = nproc
    return target


def _locate(path: Path, args: list[str] | None) -> Target:
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    if path.is_dir():
        return _from_folder(path, args)
    if path.suffix not in SCRIPT_SUFFIXES:
        raise UsageError(f"{path}: not a Python script (expected a .py file)")
    check_syntax(path)
    return Target(path.resolve(), list(args or []))


def _from_folder(folder: Path, args: list[str] | None) -> Target:
    config = _folder_config(folder)
    if "script" in config:
        script = folder / str(config["script"])
        configured = [str(a) for a in config.get("args", [])]
        return _locate(script, args if args else configured)
    found = [folder / name for name in DEFAULT_SCRIPTS if (folder / name).is_file()]
    if not found:
        raise UsageError(
            f"{folder}: no training script found (add train.py, or diagnose.toml with "
            'script = "...")'
        )
    return _locate(found[0], args)


def _folder_config(folder: Path) -> dict:
    for name, section in (("diagnose.toml", None), ("pyproject.toml", "tool.diagnose")):
        path = folder / name
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
            raise UsageError(f"{path}: not valid TOML ({error})") from None
        for key in (section or "").split(".") if section else []:
            data = data.get(key, {})
        if data:
            return data
    return {}


def check_syntax(script: Path) -> None:
    """A script that does not parse is bad input: say where, in one line."""
    try:
        source = script.read_bytes()
    except OSError as error:
        raise UsageError(f"{script}: cannot read ({error.strerror})") from None
    try:
        compile(source, str(script), "exec")
    except SyntaxError as error:
        raise UsageError(f"{script}:{error.lineno}: SyntaxError: {error.msg}") from None
    except ValueError as error:
        raise UsageError(f"{script}: not a Python script ({error})") from None
