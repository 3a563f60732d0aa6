"""Messages probe: warnings the run raised and the exception ending it, with the phase it hit."""

from __future__ import annotations

import traceback
from typing import Any

import torch

from diagnose.probes.base import LossCall, Probe
from diagnose.probes.sections import ExceptionInfo, Frame, MessagesSection, WarningInfo

MAX_WARNINGS = 50
MAX_FRAMES = 15
PHASES = (
    ("/torch/optim/", "step"),
    ("/torch/autograd/", "backward"),
    ("/torch/_tensor.py", "backward"),
    ("/torch/utils/data/", "data"),
    ("/torch/nn/", "forward"),
)


class MessagesProbe(Probe):
    name = "messages"

    def __init__(self, state: Any) -> None:
        super().__init__(state)
        self.section = MessagesSection()
        self.pending: LossCall | None = None

    def on_warning(self, message: str, category: str, filename: str, lineno: int) -> None:
        known = {(w.category, w.message) for w in self.section.warnings}
        if (category, message) not in known and len(self.section.warnings) < MAX_WARNINGS:
            self.section.warnings.append(
                WarningInfo(category=category, message=message, file=filename, line=lineno)
            )

    def on_loss_start(self, call: LossCall) -> None:
        self.pending = call  # described only if it raises

    def on_loss(self, call: LossCall) -> None:
        self.pending = None

    def on_exception(self, error: BaseException) -> None:
        frames = [
            Frame(file=f.filename, line=f.lineno or 0, function=f.name, code=(f.line or "").strip())
            for f in traceback.extract_tb(error.__traceback__)
        ][-MAX_FRAMES:]
        user = [i for i, f in enumerate(frames) if self.state.user.is_user_file(f.file)]
        user_frame = frames[user[-1]] if user else _syntax_frame(error)
        call = self.pending
        during = "loss" if call else _phase(frames[user[-1] + 1 :] if user else frames)
        described = (
            f"{call.name}(input {_describe(call.input)}, target {_describe(call.target)})"
            if call
            else ""
        )
        self.section.exception = ExceptionInfo(
            type=type(error).__name__,
            message=str(error)[:2000],
            frames=frames,
            user_frame=user_frame,
            during=during,
            loss_call=described,
        )

    def finish(self) -> MessagesSection:
        return self.section


def _phase(library_frames: list[Frame]) -> str:
    """What the user's failing line was doing, told by the library code it had called."""
    files = [f.file.replace("\\", "/") for f in library_frames]
    for marker, phase in PHASES:
        if any(marker in file for file in files):
            return phase
    return "script"


def _syntax_frame(error: BaseException) -> Frame | None:
    if isinstance(error, SyntaxError) and error.filename:
        return Frame(
            file=error.filename,
            line=error.lineno or 0,
            function="<module>",
            code=(error.text or "").strip(),
        )
    return None


def _describe(value: Any) -> str:
    if isinstance(value, torch.Tensor):
        return f"{str(value.dtype).replace('torch.', '')} {tuple(value.shape)}"
    return type(value).__name__
