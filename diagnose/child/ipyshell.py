"""The IPython shell a notebook's program runs under: an ``InteractiveShell`` with no kernel.

What a kernel adds is left out on purpose. Shell commands (``!cmd``, ``%pip``, ``%%bash`` and the
other script magics) are not run: they would act outside the sandbox that keeps the user's files
safe (an install, a download, an ``rm``), and again in every replay; each is noted instead, with
its cell and line. GUI event loops are not started (``%matplotlib inline`` behaves as in a kernel:
figures are displayed as text). History goes to memory, IPython's profile to the work folder.
An error that is not an ``Exception`` (the budget's stop, SIGTERM's) raised inside a cell that
IPython runs itself (``%%capture``) is raised on, never swallowed as a kernel would.
"""

from __future__ import annotations

import sys
import time
import types
from collections.abc import Callable
from typing import Any

from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magics.execution import _format_time
from IPython.core.magics.script import ScriptMagics
from IPython.utils.text import SList
from traitlets.config import Config

Locate = Callable[[int], str]


class NotebookShell(InteractiveShell):
    """``get_ipython()`` for a notebook run by diagnose."""

    locate: Locate = staticmethod(lambda line: f"line {line}")
    program: str = ""
    notes: list[str]  # the run's notes, where skipped commands are reported
    skipped: list[tuple[str, str]]  # (where, command) already noted
    _timers: list[tuple[float, float, float]]

    def enable_gui(self, gui: Any = None) -> None:
        """No event loop: the inline backend needs none, and a window must not open."""

    def system(self, cmd: str) -> None:
        self._skip(f"!{cmd}")

    def getoutput(self, cmd: str, split: bool = True, depth: int = 0) -> SList:
        self._skip(f"!{cmd}")
        return SList()

    def run_cell_magic(self, magic_name: str, line: str, cell: str) -> Any:
        magic = self.find_cell_magic(magic_name)
        if isinstance(getattr(magic, "__self__", None), ScriptMagics):
            self._skip(f"%%{magic_name} {line}".rstrip())
            return None
        return super().run_cell_magic(magic_name, line, cell)

    def run_cell(self, *args: Any, **kwargs: Any) -> Any:
        result = super().run_cell(*args, **kwargs)
        error = result.error_in_exec
        if error is not None and not isinstance(error, Exception):
            raise error
        return result

    def start_cell_timer(self) -> None:
        """The start of a ``%%time`` cell run inline."""
        self._timers.append((time.perf_counter(), *_cpu()))

    def stop_cell_timer(self) -> None:
        """Its end: the times, printed as IPython's ``%%time`` prints them."""
        if not self._timers:
            return
        wall, user, system = self._timers.pop()
        now_user, now_system = _cpu()
        used_user, used_system = now_user - user, now_system - system
        print(
            f"CPU times: user {_format_time(used_user)}, sys: {_format_time(used_system)}, "
            f"total: {_format_time(used_user + used_system)}"
        )
        print(f"Wall time: {_format_time(time.perf_counter() - wall)}")

    def _skip(self, command: str) -> None:
        where = self._caller_line()
        if (where, command) in self.skipped:
            return
        self.skipped.append((where, command))
        install = any(word in command.split()[:3] for word in ("pip", "%pip", "!pip", "conda"))
        advice = (
            "install what the notebook needs yourself before diagnosing it"
            if install
            else "its effect (files, downloads) must already be in place"
        )
        self.notes.append(
            f"{where}: `{command}` was not run: diagnose does not run a notebook's shell commands "
            f"(they would act outside its sandbox, and again in every replay); {advice}."
        )

    def _caller_line(self) -> str:
        frame: types.FrameType | None = sys._getframe(1)
        while frame is not None and frame.f_code.co_filename != self.program:
            frame = frame.f_back
        return self.locate(frame.f_lineno).capitalize() if frame is not None else "A cell"


def _cpu() -> tuple[float, float]:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime, usage.ru_stime


def start_shell(
    main: types.ModuleType, locate: Locate, program: str, notes: list[str]
) -> NotebookShell:
    """The shell, with ``main`` as its user namespace (``__main__``, where ``get_ipython`` is)."""
    config = Config()
    config.HistoryManager.enabled = False
    shell = NotebookShell.instance(user_module=main, config=config)
    shell.locate, shell.program, shell.notes = locate, program, notes
    shell.skipped, shell._timers = [], []
    return shell
