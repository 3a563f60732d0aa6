"""The detector library: every function rules may name in ``detector:``, by name."""

from __future__ import annotations

from types import ModuleType

from diagnose.rules import (
    detect_crash,
    detect_data,
    detect_distributed,
    detect_eval,
    detect_learning,
    detect_logs,
    detect_optim,
    detect_replay,
    detect_schedule,
)
from diagnose.rules.findings import Detector, library


def _collect(*modules: ModuleType) -> dict[str, Detector]:
    return library(*(fn for module in modules for fn in vars(module).values() if callable(fn)))


DETECTORS: dict[str, Detector] = _collect(
    detect_data,
    detect_learning,
    detect_optim,
    detect_schedule,
    detect_eval,
    detect_crash,
    detect_replay,
    detect_logs,
    detect_distributed,
)
