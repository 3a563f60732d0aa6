"""nn-diagnose: find out why a PyTorch training run does not learn.

``diagnose.run("train.py")`` runs an unmodified training script under instrumentation and returns a
ranked ``Diagnosis``; ``with diagnose.watch(model, optimizer) as w:`` observes a loop run in this
process (a notebook) and leaves the same ``Diagnosis`` in ``w.diagnosis``. This module stays
import-light on purpose: the child process that runs the user's script imports the ``diagnose``
package, and nothing but torch and our probes may load before the user's code (pydantic, networkx
and Jinja2 are imported on first use in the parent).
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "run", "watch"]


def __getattr__(name: str) -> Any:
    if name == "run":
        from diagnose.facade import run

        return run
    if name == "watch":
        from diagnose.watching import watch

        return watch
    raise AttributeError(f"module 'diagnose' has no attribute {name!r}")
