"""Progress while scenarios run: live on a terminal (rich), plain lines in logs and pipes; both
read the step count the child reports while it trains."""

from __future__ import annotations

import io
import re
import subprocess

from conftest import SCRIPTS
from rich.console import Console

from diagnose.driver.interpreter import module_command
from diagnose.facade import run
from diagnose.reports.terminal import LiveProgress, PlainProgress, progress_display


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_plain_progress_names_each_scenario_and_its_steps(tmp_path):
    process = subprocess.run(
        module_command(
            "diagnose",
            str(SCRIPTS / "tiny_train.py"),
            "-o",
            str(tmp_path / "out"),
            "--quick",
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = process.stderr.splitlines()
    assert lines[0] == "diagnose: observe: tiny_train.py as written, observed (up to 200 steps)"
    assert lines[1].startswith("diagnose: observe: 60 steps in ")  # the script's own 60 steps


def test_live_progress_shows_steps_and_a_line_per_finished_scenario():
    screen = FakeTerminal()
    console = Console(file=screen, force_terminal=True, width=120, color_system=None)
    run(
        SCRIPTS / "replay_target.py",
        ["--bug", "no_zero_grad"],
        progress=LiveProgress(console),
        budget=30,
        steps=60,
    )
    shown = screen.getvalue()
    assert re.search(
        r"observe  step \d+/60  [\d.]+ s", shown
    )  # the running line, refreshed with the step count
    finished = re.findall(r"✓ (\w+): (\d+) steps in [\d.]+ s", shown)
    assert finished[0] == ("observe", "60")
    assert len(finished) >= 2, shown  # and a line per replay the agent ran


def test_plain_text_without_a_terminal_or_with_no_color():
    assert isinstance(progress_display(io.StringIO(), color=True), PlainProgress)
    assert isinstance(progress_display(FakeTerminal(), color=False), PlainProgress)
    assert isinstance(progress_display(FakeTerminal(), color=True), LiveProgress)
