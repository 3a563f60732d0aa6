"""End to end over the shared zoo: each broken script's cause ranks first, healthy ones stay healthy."""

from __future__ import annotations

import importlib.util
import time

import pytest
import yaml

from conftest import ZOO

MANIFEST = ZOO / "manifest.yaml"
CASES = yaml.safe_load(MANIFEST.read_text()) if MANIFEST.exists() else []
pytestmark = [
    pytest.mark.skipif(not CASES, reason="shared/zoo is not beside the repository"),
    pytest.mark.skipif(importlib.util.find_spec("sklearn") is None, reason="the zoo needs scikit-learn"),
]


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_zoo_case(case, diagnosed):
    started = time.monotonic()
    diagnosis = diagnosed(ZOO / case["script"], *case.get("args", []))
    assert time.monotonic() - started < 60
    assert not diagnosis.probe_errors
    ranked = [c.id for c in diagnosis.causes]
    if case["healthy"]:
        assert diagnosis.healthy, ranked
        assert all(c.confidence < 0.5 for c in diagnosis.causes)
    else:
        assert ranked and ranked[0] == case["expected"], ranked
        assert diagnosis.verdict == ("crashed" if case["crashes"] else diagnosis.verdict)
