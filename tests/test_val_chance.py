"""How far above chance a validation accuracy must be to count, judged against the size of the
validation set: 50 % against a majority share of 38-40 % is chance on 40 samples (two standard
errors there are 15 points) and learning on 4000."""

from __future__ import annotations

import textwrap

import pytest

from diagnose.rules.engine import evaluate_symptoms

# A linearly separable 3-class task the MLP learns perfectly; on validation, a fixed share of the
# rows carries a label that is certainly wrong, so the validation accuracy is that share's
# complement whatever the set's size.
SCRIPT = textwrap.dedent("""
    import sys
    import torch
    from torch import nn

    def task(n, seed):
        x = torch.randn(n, 2, generator=torch.Generator().manual_seed(seed))
        return x, (x[:, 0] > 0.5).long() + (x[:, 0] > -0.5).long()

    x, y = task(600, 0)
    x_val, y_val = task(int(sys.argv[1]), 1)
    wrong = torch.arange(len(y_val)) % 20 >= 10         # half the validation labels wrong
    y_val = torch.where(wrong, (y_val + 1) % 3, y_val)  # -> validation accuracy at most 50 %

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(12):
        model.train()
        for batch in torch.randperm(600).split(30):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x[batch]), y[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            nn.functional.cross_entropy(model(x_val), y_val)
""")


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("val_chance") / "train.py"
    path.write_text(SCRIPT)
    return path


@pytest.mark.parametrize("samples, at_chance", [(40, True), (4000, False)])
def test_an_accuracy_a_few_points_above_chance_counts_only_on_a_large_validation_set(
    script, observed, rule_book, samples, at_chance
):
    evidence = observed(script, str(samples))
    result = evaluate_symptoms(rule_book, evidence)["val_at_chance"]
    assert "chance" in result.detail
    assert (result.status == "fired") == at_chance, result.detail
