"""End to end over the shared zoo: each broken script's cause ranks first, healthy ones stay healthy."""

from __future__ import annotations

import importlib.util
import time

import pytest
import yaml

from conftest import ZOO
from diagnose.facade import investigate
from diagnose.rules.judge import judge
from diagnose.driver.targets import resolve

MANIFEST = ZOO / "manifest.yaml"
# Zoo causes that no replay can fix (the fix is a code change the tool cannot apply, or, for the
# labels, no replay can re-pair them): all others must come out confirmed, these never.
NOT_REPLAYABLE = {"detached_graph", "labels_misaligned", "optimizer_step_missing", "overfitting", "shape_mismatch",
                  "train_val_leakage", "vanishing_gradients", "wrong_loss_for_task"}
CASES = yaml.safe_load(MANIFEST.read_text()) if MANIFEST.exists() else []
pytestmark = [
    pytest.mark.skipif(not CASES, reason="shared/zoo is not beside the repository"),
    pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="the zoo needs scikit-learn"),
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_zoo_case(case, rule_book):
    started = time.monotonic()
    evidence = investigate(resolve(ZOO / case["script"], case.get("args", [])), rule_book)
    diagnosis = judge(evidence, rule_book)
    assert time.monotonic() - started < 60
    assert not diagnosis.probe_errors
    ranked = [c.id for c in diagnosis.causes]
    if case["healthy"]:
        assert diagnosis.healthy, ranked
        assert all(c.confidence < 0.5 and not c.confirmed for c in diagnosis.causes)
    else:
        assert ranked and ranked[0] == case["expected"], ranked
        assert not diagnosis.healthy and (diagnosis.verdict == "crashed") == case["crashes"]
        assert diagnosis.causes[0].confirmed == (case["expected"] not in NOT_REPLAYABLE), diagnosis.causes[0]
