"""The Python API as a notebook user calls it: ``diagnose.run`` on a script, and ``diagnose.watch``
around a loop run in this very process."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import SCRIPTS
from torch import nn

import diagnose


def blobs(seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(512, 10, generator=generator)
    return x, (x[:, 0] + 0.5 * x[:, 1] > 0).long()


def train(
    model: nn.Module, optimizer: torch.optim.Optimizer, steps: int, clear_grads: bool = True
) -> None:
    x, y = blobs()
    for step in range(steps):
        rows = slice(step * 32 % 512, step * 32 % 512 + 32)
        if clear_grads:
            optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x[rows]), y[rows])
        loss.backward()
        optimizer.step()


def mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 2))


def test_watch_finds_a_bug_in_a_loop_run_in_process(tmp_path):
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with diagnose.watch(model, optimizer) as watched:
        train(model, optimizer, 120, clear_grads=False)
    top = watched.diagnosis.causes[0]
    assert top.id == "missing_zero_grad" and top.confidence >= 0.5
    assert not watched.diagnosis.healthy
    assert top.where is not None and top.where.file == __file__  # points into the user's code
    written = watched.report(tmp_path / "report")
    assert json.loads(written["report.json"].read_text())["causes"][0]["id"] == "missing_zero_grad"
    assert "missing_zero_grad" in written["report.md"].read_text()


def test_watch_of_a_healthy_loop_is_healthy_and_leaves_torch_as_it_was():
    backward, zero_grad = torch.Tensor.backward, torch.optim.Optimizer.zero_grad
    model = mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    with diagnose.watch() as watched:  # no hints: the tap finds the model and optimizer itself
        train(model, optimizer, 150)
    assert watched.diagnosis.healthy, [(c.id, c.confidence) for c in watched.diagnosis.causes]
    assert watched.evidence.observe.run.steps == 150
    assert torch.Tensor.backward is backward and torch.optim.Optimizer.zero_grad is zero_grad


def test_watch_records_the_users_exception_and_lets_it_through(tmp_path):
    model = mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    with (
        pytest.raises(RuntimeError, match="mat1 and mat2"),
        diagnose.watch(model, optimizer, out=tmp_path / "out") as watched,
    ):
        train(model, optimizer, 5)
        model(torch.randn(4, 7))
    assert watched.diagnosis.verdict == "crashed"
    assert watched.diagnosis.causes[0].id == "shape_mismatch"
    assert (tmp_path / "out" / "report.html").is_file()


def test_run_returns_a_diagnosis_and_writes_the_reports(tmp_path):
    result = diagnose.run(SCRIPTS / "tiny_train.py", out=tmp_path / "out", quick=True, steps=60)
    assert result.verdict in {"healthy", "problems"}
    assert result.script.endswith("tiny_train.py")
    assert json.loads((tmp_path / "out" / "report.json").read_text())["verdict"] == result.verdict
