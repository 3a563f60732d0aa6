"""The command line: ``diagnose SCRIPT`` and its subcommands (``report``, ``batch``, ``logs``), one
module each. Parsing and printing only: the work is done by the facade, ``diagnose.batch`` and
``diagnose.logs``. Heavy imports (pydantic, torch, the rules) happen inside the commands, so that
``diagnose --help`` stays fast.
"""

from diagnose.cli.main import main

__all__ = ["main"]
