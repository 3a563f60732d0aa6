"""What a diagnosis tells its caller while it runs: which scenario, why, and where its step count
can be read (see ``diagnose.child.heartbeat``). The terminal shows it; library callers may ignore
it."""

from __future__ import annotations

from pathlib import Path


class Progress:
    """The silent default; ``diagnose.reports.terminal`` has the live and plain displays."""

    def scenario(self, name: str, why: str, max_steps: int, heartbeat: Path) -> None:
        """A scenario starts: the previous one, if any, has ended."""

    def finished(self) -> None:
        """The last scenario has ended."""
