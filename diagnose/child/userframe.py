"""Find the line of the user's own code that made a call, so findings can point at it."""

from __future__ import annotations

import itertools
import linecache
import os
import sys
import sysconfig
from functools import lru_cache
from pathlib import Path
from types import FrameType

from diagnose.probes.sections import SourceLine
from diagnose.probes.sections import __file__ as sections_file

_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve()) + os.sep
    for p in {
        sysconfig.get_paths()["stdlib"],
        sysconfig.get_paths()["purelib"],
        sysconfig.get_paths()["platlib"],
    }
)
# Both the folders our modules are imported from and where they really are: a strict editable
# install imports them through a tree of links (code objects carry the link's path).
_OUR_DIRS = tuple(
    {
        str(folder) + os.sep
        for d in (Path(__file__).parent, Path(sections_file).parent)
        for folder in (d.absolute(), d.resolve(), *(f.resolve().parent for f in d.glob("*.py")))
    }
)


class UserCode:
    """Decides which source files are the user's: under the script's folder, not ours."""

    def __init__(self, script: Path) -> None:
        self.folder = str(script.resolve().parent) + os.sep
        self.is_user_file = lru_cache(maxsize=None)(self._is_user_file)

    def _is_user_file(self, filename: str) -> bool:
        if filename.startswith("<"):
            return False
        path = str(Path(filename).resolve())
        if path.startswith(_OUR_DIRS) or "site-packages" in path or "dist-packages" in path:
            return False
        return path.startswith(self.folder) and not path.startswith(_LIBRARY_ROOTS)

    def caller(self, frame: FrameType | None = None) -> SourceLine | None:
        """The innermost frame of the user's code on the current stack."""
        frame = frame or sys._getframe(1)
        while frame is not None:
            filename = frame.f_code.co_filename
            if self.is_user_file(filename):
                return source_line(filename, frame.f_lineno, _call_span(frame))
            frame = frame.f_back
        return None


def is_ours(filename: str) -> bool:
    """A source file of the tool's own code that runs in the user's process."""
    return filename.startswith(_OUR_DIRS)


def attributed_outside_ours(filename: str, lineno: int) -> tuple[str, int]:
    """Where a warning belongs when its ``stacklevel`` counted one of our wrappers as its
    caller (``F.mse_loss`` warns about the line that called it, and under the tap that is the
    wrapper around it): the first frame outside our code above that wrapper, where it would
    point without the tool. Any other location is returned as it is."""
    if not is_ours(filename):
        return filename, lineno
    frame: FrameType | None = sys._getframe(1)
    while frame is not None and not (
        frame.f_code.co_filename == filename and frame.f_lineno == lineno
    ):
        frame = frame.f_back
    while frame is not None and is_ours(frame.f_code.co_filename):
        frame = frame.f_back
    return (frame.f_code.co_filename, frame.f_lineno) if frame is not None else (filename, lineno)


Span = tuple[int | None, int | None, int | None]


def source_line(filename: str, line: int, span: Span = (None, None, None)) -> SourceLine:
    col, end_line, end_col = span
    return SourceLine(
        file=filename,
        line=line,
        code=linecache.getline(filename, line).strip(),
        col=col,
        end_line=end_line,
        end_col=end_col,
    )


def _call_span(frame: FrameType) -> Span:
    """Columns of the instruction the frame is executing (the call into our hook's caller), from the
    code object's position table (Python 3.11+); unknown before."""
    positions = getattr(frame.f_code, "co_positions", None)
    if positions is None or frame.f_lasti < 0:
        return None, None, None
    found = next(itertools.islice(positions(), frame.f_lasti // 2, None), None)
    if found is None or found[0] != frame.f_lineno:
        return None, None, None
    return found[2], found[1], found[3]
