"""Errors the CLI turns into one line on stderr and exit code 2."""

from __future__ import annotations


class UsageError(Exception):
    """Bad input from the user: a missing script, an unknown format, a broken rule file, ..."""


EXIT_HEALTHY = 0
EXIT_PROBLEMS = 1
EXIT_USAGE = 2
