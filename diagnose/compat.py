"""What differs between the Python versions the package supports (``requires-python``)."""

from __future__ import annotations

import sys

# The standard library's TOML parser from 3.11; before, tomli, the package it was taken from
# (same API, same errors), a dependency on 3.10 only.
if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

__all__ = ["tomllib"]
