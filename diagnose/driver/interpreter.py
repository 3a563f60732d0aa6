"""How our side starts a Python interpreter for one of our own modules (a child run, the zygote,
a batch's diagnose command)."""

from __future__ import annotations

import sys

# ``python -m`` puts the working directory first on sys.path, so a folder named like our package in
# the user's working directory (their own ``diagnose/``, or this repository's root) would shadow the
# installed package. A child starts without that entry and then runs the module as -m would; the
# session puts the script's own folder first, as ``python script.py`` does.
BOOT = (
    "import runpy, sys; del sys.path[0]; "
    "runpy.run_module(sys.argv.pop(1), run_name='__main__', alter_sys=True)"
)


def module_command(module: str, *args: str) -> list[str]:
    """``python -m module args...`` that imports the installed package whatever the working
    directory holds."""
    return [sys.executable, "-c", BOOT, module, *args]
