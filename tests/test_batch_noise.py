"""Tiny batches are a cause only when their noise swamps what the run learns. A recurrent
regression trained one sequence at a time (a common tutorial design) jumps from step to step by
more than its late mean, yet by a small share of where it started: it learns, and is healthy."""

from __future__ import annotations

import textwrap

from diagnose.rules.engine import evaluate_symptoms

ONE_SEQUENCE_A_STEP = textwrap.dedent("""
    import math
    import torch
    from torch import nn

    torch.manual_seed(0)

    class Tracker(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(1, 24, batch_first=True)
            self.head = nn.Linear(24, 1)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out)

    model = nn.Sequential(Tracker())
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(250):
        start = step * math.pi / 4
        t = torch.linspace(start, start + math.pi, 12)
        x, y = torch.sin(t).view(1, -1, 1), torch.cos(t).view(1, -1, 1)
        loss = nn.functional.mse_loss(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
""")


def test_one_sequence_a_step_that_learns_is_healthy(tmp_path, observed, diagnosed, rule_book):
    script = tmp_path / "tracker.py"
    script.write_text(ONE_SEQUENCE_A_STEP)
    symptoms = evaluate_symptoms(rule_book, observed(script))
    assert symptoms["tiny_batches"].status == "fired"
    assert symptoms["loss_noisy"].status == "clear", symptoms["loss_noisy"].detail
    diagnosis = diagnosed(script)
    assert diagnosis.learning.learns, diagnosis.learning.detail
    assert diagnosis.healthy, [(c.id, c.confidence) for c in diagnosis.causes]
