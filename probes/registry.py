"""The probes an observed run uses, in one place."""

from __future__ import annotations

from typing import Any

from diagnose.probes.activations import ActivationProbe
from diagnose.probes.base import Probe
from diagnose.probes.bookkeeping import BookkeepingProbe
from diagnose.probes.data import DataProbe
from diagnose.probes.fit import FitProbe
from diagnose.probes.gradients import GradientProbe
from diagnose.probes.graph import GraphProbe
from diagnose.probes.loss import LossProbe
from diagnose.probes.messages import MessagesProbe
from diagnose.probes.model import ModelProbe
from diagnose.probes.optimizer import OptimizerProbe
from diagnose.probes.schedule import ScheduleProbe
from diagnose.probes.sources import SourcesProbe
from diagnose.probes.weights import InitProbe

OBSERVE_PROBES: tuple[type[Probe], ...] = (
    LossProbe,
    OptimizerProbe,
    ModelProbe,
    InitProbe,
    DataProbe,
    BookkeepingProbe,
    GradientProbe,
    ActivationProbe,
    GraphProbe,
    SourcesProbe,
    MessagesProbe,
    ScheduleProbe,
    FitProbe,  # last: it measures once every other probe has seen the step
)


def observe_probes(state: Any) -> list[Probe]:
    return [cls(state) for cls in OBSERVE_PROBES]
