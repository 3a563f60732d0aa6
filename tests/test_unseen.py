"""``probes.unseen``: the tool's own forward passes leave no trace the script could see (issue 27).

Real torch, in this process: the script's hooks, random streams, buffers and modes, and the
tap's counters, compared before and after a block that evaluates, trains and draws at random.
"""

from __future__ import annotations

import ast
import copy
import random
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.modules import module as module_globals

from diagnose.child.budget import Budget
from diagnose.child.state import Schedule, TrainingState
from diagnose.child.tap import Tap
from diagnose.child.userframe import UserCode
from diagnose.probes.registry import observe_probes
from diagnose.probes.unseen import unseen


class Running(nn.Module):
    """A custom running statistic kept by assigning a new buffer (not in place, as BN does)."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("seen", torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen = self.seen + x.detach().mean()
        return x


def network() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(6, 16),
        nn.BatchNorm1d(16),
        nn.ReLU(),
        nn.Dropout(0.5),
        Running(),
        nn.Linear(16, 3),
    )


def hooked(model: nn.Module) -> tuple[list[str], list]:
    calls: list[str] = []
    handles = [
        model.register_forward_pre_hook(lambda m, a: calls.append("pre")),
        model.register_forward_hook(lambda m, a, o: calls.append("forward")),
        model[0].register_forward_hook(lambda m, a, o: calls.append("layer")),
        model.register_full_backward_hook(lambda m, gi, go: calls.append("backward")),
        module_globals.register_module_forward_hook(lambda m, a, o: calls.append("global")),
    ]
    return calls, handles


def tool_work(model: nn.Module) -> None:
    """What a probe might do: evaluate, take gradients with respect to an input (never
    accumulated into the script's weights), train a copy with dropout, draw numbers of its own."""
    x = torch.randn(32, 6)
    given = x.clone().requires_grad_()
    torch.autograd.grad(model(given).sum(), given)
    with torch.no_grad():
        model(x)
    copied = copy.deepcopy(model)
    optimizer = torch.optim.SGD(copied.parameters(), lr=0.1)
    copied.train()
    nn.functional.cross_entropy(copied(x), torch.randint(0, 3, (32,))).backward()
    optimizer.step()
    np.random.rand(3)
    random.random()


def test_the_scripts_hooks_do_not_fire_and_still_work_after():
    model = network()
    calls, handles = hooked(model)
    try:
        with unseen(model, eval_mode=False):
            tool_work(model)
        assert calls == []
        model(torch.randn(4, 6)).sum().backward()
        assert [call for call in calls if call != "global"] == [
            "pre",
            "layer",
            "forward",
            "backward",
        ]
        assert "global" in calls
    finally:
        for handle in handles:
            handle.remove()
    calls.clear()
    model(torch.randn(4, 6))
    assert calls == []  # the handles the script kept removed the very hooks it registered


def test_random_streams_are_bit_identical_after():
    model = network().train()
    np.random.seed(3)
    random.seed(3)
    torch.manual_seed(3)
    states = (torch.get_rng_state(), np.random.get_state()[1].copy(), random.getstate())
    with unseen(model, eval_mode=False):
        tool_work(model)
        assert not torch.equal(torch.get_rng_state(), states[0])
    assert torch.equal(torch.get_rng_state(), states[0])
    assert np.array_equal(np.random.get_state()[1], states[1])
    assert random.getstate() == states[2]


def test_dropout_draws_in_the_block_leave_the_scripts_next_mask_unchanged():
    torch.manual_seed(5)
    expected = nn.functional.dropout(torch.ones(1000), 0.5)
    model = network().train()
    torch.manual_seed(5)
    with unseen(model, eval_mode=False):
        tool_work(model)
    assert torch.equal(nn.functional.dropout(torch.ones(1000), 0.5), expected)


def test_batch_norm_statistics_and_buffers_are_as_before():
    model = network().train()
    model(torch.randn(64, 6))  # statistics of the script's own
    before = {name: buffer.clone() for name, buffer in model.named_buffers()}
    objects = dict(model.named_buffers())
    with unseen(model, eval_mode=False):
        tool_work(model)
        assert not torch.equal(model[1].running_mean, before["1.running_mean"])
    after = dict(model.named_buffers())
    assert list(after) == list(before)
    for name, value in before.items():
        assert torch.equal(after[name], value) and after[name] is objects[name], name
    assert int(model[1].num_batches_tracked) == 1


def test_modes_are_restored_module_by_module():
    model = network().train()
    model[1].eval()
    expected = [module.training for module in model.modules()]
    with unseen(model):
        assert not any(module.training for module in model.modules())
        model.train()  # the block may switch modes itself
    assert [module.training for module in model.modules()] == expected


def test_everything_is_restored_when_the_block_raises():
    model = network().train()
    calls, handles = hooked(model)
    state = torch.get_rng_state()
    try:
        with pytest.raises(ValueError), unseen(model):
            torch.rand(10)
            raise ValueError("the probe failed")
        assert torch.equal(torch.get_rng_state(), state) and model.training
        model(torch.randn(4, 6))
        assert "forward" in calls
    finally:
        for handle in handles:
            handle.remove()


def test_the_tap_counts_nothing_of_the_block():
    """The real tap installed in this process: steps, backward passes, losses, roots and the
    probes' records are the same after the block, and the tap is not left muted."""
    model = network()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    state = TrainingState(UserCode(Path(__file__)), Schedule(every=1))
    probes = observe_probes(state)
    tap = Tap(state, probes, Budget(1000, 600.0), watching=True)
    x, y = torch.randn(32, 6), torch.randint(0, 3, (32,))
    tap.install()
    try:
        for _ in range(3):
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()
        counted = (state.steps, state.backward_calls, list(state.roots), len(state.optimizers))
        sections = {name: repr(section) for name, section in tap.sections().items()}
        with unseen(model, state=state):
            tool_work(model)
            torch.optim.Adam(model.parameters()).step()
        assert not state.muted
        assert (state.steps, state.backward_calls, list(state.roots), len(state.optimizers)) == (
            counted
        )
        assert {name: repr(section) for name, section in tap.sections().items()} == sections
    finally:
        tap.remove()


def test_unseen_imports_nothing_but_torch_and_the_standard_library():
    """probes measure: they never depend on the child package (diagnose.child, diagnose.driver)."""
    import diagnose.probes.unseen as module

    tree = ast.parse(Path(module.__file__).read_text())
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    } | {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= set(sys.stdlib_module_names) | {"__future__", "torch"}


def test_a_warning_raised_unseen_is_not_shown(recwarn):
    """A probe pass recomputes the script's losses, and torch warns about the line calling one
    (a target that broadcasts): the user's standard error shows only the script's warnings."""
    model = nn.Linear(2, 1)
    with unseen(model), torch.no_grad():
        F.mse_loss(model(torch.randn(4, 2)), torch.randn(4))
    warnings.warn("raised by the script", UserWarning, stacklevel=1)
    assert [str(w.message) for w in recwarn] == ["raised by the script"]
