"""The mutation bench (bench/mutants/): its operators and hosts, a fixed sample diagnosed for real.

The unit tests need no torch run. The sample test builds ten mutants over different hosts and
operators, two healthy variants and one invariance pair, checks their labels and that the kill
check keeps them (plain runs come from the committed cache in bench/results/plain_cache.json
when the files are unchanged), diagnoses each with the real `diagnose` command and asserts that
no mutant is called healthy and no top cause is confirmed wrong, that the healthy variants come
out healthy, and that the pair names the top cause of its mutant alone. (The benign operators'
edits and the public-host extraction are tested without any run in test_mutants_benign.py.)
"""

from __future__ import annotations

import ast
import math
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from conftest import two_at_a_time  # noqa: E402
from mutants import catalog, generate, hosts, kill, phases, results, scoring  # noqa: E402
from mutants.plain import Plain, PlainCache, run_plain  # noqa: E402

from diagnose.rules.loader import load_rules  # noqa: E402

CAUSES = set(
    load_rules().causes
)  # the rule files' causes (tests/test_rules_files.py: all canonical ids)
PLAIN_HOSTS = [h for h in hosts.HOSTS if not h.extra]

# (host, operator): one per host and operator, none needing the Lightning/transformers extras.
# xfail: what the tool got wrong on these at the bench's first baseline (see bench/README.md).
SAMPLE = [
    ("flat_digits", "lr_x100", None),
    ("argparse_cancer", "remove_normalization", None),
    ("trainer_wine", "remove_zero_grad", None),
    ("estimator_blobs", "labels_shifted", None),
    ("keras_diabetes", "wrong_loss", None),
    ("dataclass_cnn", "zero_init", None),
    ("functional_gru", "no_grad_features", None),
    ("cycle_lstm", "per_step_decay", None),
    ("notebook_regression", "nan_inputs", None),
    ("helper_resmlp", "zero_grad_after_backward", None),
]
# (host, benign operator) and (host, mutation operator, benign operators): the pair's mutant alone
# is in SAMPLE, so its diagnosis is the one the pair's must agree with.
HEALTHY_SAMPLE = [("flat_digits", "print_to_logging"), ("argparse_cancer", "clip_grad_1")]
PAIR = ("helper_resmlp", "zero_grad_after_backward", ("model_factory",))


def test_catalogue_is_large_enough_and_uses_canonical_causes() -> None:
    assert len(catalog.ALL) >= 25 and len(hosts.HOSTS) >= 12
    assert len(catalog.BY_NAME) == len(catalog.ALL)
    for op in catalog.ALL:
        assert op.cause in CAUSES, op.name
        assert set(op.also_ok) <= CAUSES, op.name
        assert op.describe and op.kills, op.name


@pytest.mark.parametrize("op", catalog.ALL, ids=lambda op: op.name)
def test_operator_applies_to_some_host_and_changes_it(op) -> None:
    built = [m for h in hosts.HOSTS if (m := generate.mutate(h, op)) is not None]
    assert built, f"{op.name} applies to no host"
    for m in built:
        original = hosts.BY_NAME[m.host].sources()
        assert m.changed and all(m.files[f] != original[f] for f in m.changed)
        for text in m.files.values():
            compile(text, m.id, "exec")


def test_operator_that_does_not_fit_returns_nothing() -> None:
    regression_only = catalog.BY_NAME["sigmoid_output"]
    assert generate.mutate(hosts.BY_NAME["flat_digits"], regression_only) is None
    lightning = hosts.BY_NAME["lightning_cancer"]
    assert generate.mutate(lightning, catalog.BY_NAME["remove_zero_grad"]) is None


def test_mutants_do_not_leak_their_label() -> None:
    mutants = generate.build(hosts.HOSTS, catalog.ALL)
    assert len({m.id for m in mutants}) == len(mutants)
    for m in mutants:
        assert m.host not in m.id and m.operator not in m.id
        for text in m.files.values():
            assert m.cause not in text and m.operator not in text
            assert text == ast.unparse(
                ast.parse(text)
            )  # written by ast.unparse: no comment survives


def test_hosts_are_their_own_scripts() -> None:
    others = [p.read_text() for p in (ROOT.parent / "shared" / "zoo").glob("*.py")]
    others += [p.read_text() for p in (ROOT / "tests" / "cases").glob("*.py")]
    for host in hosts.HOSTS:
        for text in host.sources().values():
            assert all(text != ast.unparse(ast.parse(o)) for o in others), host.name


def test_kill_margins() -> None:
    op, leak = catalog.BY_NAME["lr_x100"], catalog.BY_NAME["val_rows_in_train"]
    host = Plain("ok", {"val_acc": 0.95, "val_loss": 0.15})
    assert kill.outcome(host, Plain("ok", {"val_acc": 0.93, "val_loss": 0.17}), op)[0] == "same"
    assert kill.outcome(host, Plain("ok", {"val_acc": 0.90, "val_loss": 0.15}), op)[0] == "worse"
    assert kill.outcome(host, Plain("ok", {"val_acc": 0.95, "val_loss": 0.21}), op)[0] == "worse"
    assert kill.outcome(host, Plain("ok", {"val_acc": 0.95, "val_loss": math.nan}), op)[0] == "nan"
    assert kill.outcome(host, Plain("crash", error="boom"), op) == ("crash", "boom")
    assert kill.outcome(host, Plain("ok", {"val_acc": 0.96, "val_loss": 0.05}), leak)[0] == "better"
    assert not kill.kept(op, "crash") and kill.kept(catalog.BY_NAME["labels_shifted"], "crash")
    softmax = catalog.BY_NAME["softmax_before_loss"]  # its validation loss is not comparable
    assert kill.outcome(host, Plain("ok", {"val_acc": 0.95, "val_loss": 2.0}), softmax)[0] == "same"


def test_a_host_that_does_not_beat_a_constant_prediction_keeps_no_variant() -> None:
    """An autoencoder shrunk until it only learns the mean image reports a reconstruction error
    no better than the mean image's: it does not learn, so no variant of it is labelled."""
    stuck = Plain("ok", {"val_mse": 0.03634, "val_mse_constant": 0.03615})
    learns = Plain("ok", {"val_mse": 0.031, "val_mse_constant": 0.036})
    assert "does not learn" in (kill.not_learning(stuck) or "")
    assert kill.not_learning(learns) is None
    assert kill.not_learning(Plain("ok", {"val_mse": 0.5})) is None  # no baseline to tell
    assert kill.not_learning(Plain("ok", {"val_acc": 0.52, "val_acc_constant": 0.5})) is not None
    assert kill.not_learning(Plain("ok", {"val_acc": 0.7, "val_acc_constant": 0.5})) is None
    marked = phases.learning_hosts({"stuck": stuck, "learns": learns}, lambda _: None)
    assert (marked["stuck"].status, marked["learns"].status) == ("no_learning", "ok")
    # a baseline is no metric of the run: a variant is compared on the host's own metrics only
    op = catalog.BY_NAME["lr_x100"]
    moved = Plain("ok", {"val_mse": 0.031, "val_mse_constant": 9.0})
    assert kill.outcome(learns, moved, op)[0] == "same"


def test_sample_spreads_over_operators_and_hosts() -> None:
    rows = [
        {"id": f"{h}-{o}", "operator": o, "host": h, "kept": True} for o in "abc" for h in "xyz"
    ]
    picked = phases.sample(rows, 3)
    assert {r["operator"] for r in picked} == set("abc") and len({r["host"] for r in picked}) == 3


def test_summary_leads_with_the_published_keys() -> None:
    row = {
        "kept": True,
        "diagnosed": True,
        "top1": True,
        "top3": True,
        "healthy": False,
        "confirmed_wrong": False,
        "seconds": 4.0,
        "operator": "a",
        "host": "x",
        "got": ["c"],
    }
    row |= {"origin": "own", "extra": [], "benign": []}
    healthy = {"kept": True, "diagnosed": True, "healthy_ok": False, "confirmed": False}
    healthy |= {"origin": "public", "benign": ["clip_grad_1"], "seconds": 3.0}
    pair = row | {"same_top": True}
    rows = {
        "mutants": [row, {"kept": False, "origin": "own"}],
        "healthy": [healthy],
        "pairs": [pair],
    }
    summary = results.summary(rows, [], 1, 25, [])
    assert list(summary)[:9] == [
        "kept",
        "dropped",
        "hosts",
        "operators",
        "top1",
        "top3",
        "called_healthy",
        "confirmed_wrong",
        "median_s",
    ]
    assert summary["kept"] == 1 and summary["dropped"] == 1 and summary["top1"] == 1.0
    assert summary["healthy_variants"] == 1 and summary["false_alarms"] == 1
    assert summary["invariance"] == 1.0 and summary["extra_causes"] == 0
    assert summary["benign_operators"] == 25 and summary["public_hosts"] == 0
    own, public = summary["by_origin"]["own"], summary["by_origin"]["public"]
    assert own["kept"] == 1 and own["top1"] == 1.0 and own["false_alarms"] == 0
    assert public["healthy_variants"] == 1 and public["false_alarms"] == 1 and public["kept"] == 0
    for key in ("kept", "top1", "called_healthy", "confirmed_wrong", "hosts_healthy"):
        assert key in own and key in public


def _plain(files: dict[str, str], cache: PlainCache) -> Plain:
    return cache.get(files) or run_plain(files, timeout=240, threads=1)


def _sample_params() -> list:
    params = []
    for host, op, reason in SAMPLE:
        marks = [pytest.mark.xfail(strict=False, reason=reason)] if reason else []
        params.append(pytest.param(host, op, marks=marks, id=f"{host}-{op}"))
    return params


def _variant(case: tuple) -> tuple:
    """(variant, the operator its kill check follows, loss changed) for a sample case: (host,
    operator), ("healthy", host, benign operator) or ("pair", host, operator, benign operators)."""
    if case[0] == "healthy":
        op = catalog.BENIGN_BY_NAME[case[2]]
        return generate.mutate(hosts.BY_NAME[case[1]], op), op, False
    if case[0] == "pair":
        benign = [catalog.BENIGN_BY_NAME[b] for b in case[3]]
        op = catalog.BY_NAME[case[2]]
        pair = generate.combine(hosts.BY_NAME[case[1]], benign, op)
        return pair, op, any(b.touches_loss for b in benign)
    op = catalog.BY_NAME[case[1]]
    return generate.mutate(hosts.BY_NAME[case[0]], op), op, False


@pytest.fixture(scope="module")
def sample_runs(tmp_path_factory) -> dict[tuple, tuple]:
    """Each sample case built, kill-checked and diagnosed, two at a time."""
    cache = PlainCache(ROOT / "bench" / "results" / "plain_cache.json")
    # Made here, once: under xdist the first call empties the worker's given base folder, which
    # two threads calling it at once would do to each other's folders.
    tmp_path_factory.getbasetemp()

    def run(case: tuple) -> tuple:
        variant, op, loss_changed = _variant(case)
        if variant is None:
            return None, (None, "the operator does not apply"), None
        host = hosts.BY_NAME[variant.host]
        plain = _plain(variant.files, cache)
        outcome = kill.outcome(_plain(host.sources(), cache), plain, op, loss_changed)
        tmp = tmp_path_factory.mktemp("mutant")
        folder = generate.write_folder(variant.files, tmp / variant.id)
        return variant, outcome, scoring.diagnose(folder, tmp / "report", timeout=600, threads=1)

    cases = [(host, op) for host, op, _ in SAMPLE]
    cases += [("healthy", *case) for case in HEALTHY_SAMPLE] + [("pair", *PAIR)]
    return two_at_a_time(run, cases)


@pytest.mark.skipif(
    not scoring.ZOO_SCORE.exists(),
    reason="shared/zoo/score.py (the judge) is not beside the repository",
)
@pytest.mark.parametrize(("host_name", "op_name"), _sample_params())
def test_sample_mutant_is_diagnosed(host_name: str, op_name: str, sample_runs) -> None:
    op = catalog.BY_NAME[op_name]
    mutant, (result, reason), run = sample_runs[(host_name, op_name)]
    assert mutant is not None and mutant.cause == op.cause and mutant.also_ok == op.also_ok
    assert kill.kept(op, result), f"equivalent mutant: {result} ({reason})"
    assert run["report"] is not None, run["error"]
    score = scoring.score(run["report"], mutant.cause, mutant.also_ok)
    assert not score["healthy"], f"called healthy: {score['verdict']} {score['got'][:3]}"
    assert not score["confirmed_wrong"], f"confirmed wrong: {score['top']}"


@pytest.mark.skipif(not scoring.ZOO_SCORE.exists(), reason="shared/zoo/score.py is missing")
@pytest.mark.parametrize(("host_name", "op_name"), HEALTHY_SAMPLE)
def test_healthy_variant_stays_healthy(host_name: str, op_name: str, sample_runs) -> None:
    variant, (result, reason), run = sample_runs[("healthy", host_name, op_name)]
    assert variant is not None and variant.kind == "healthy" and variant.cause == ""
    assert kill.kept(catalog.BENIGN_BY_NAME[op_name], result), f"no longer learns: {reason}"
    assert run["report"] is not None, run["error"]
    score = scoring.score_host(run["report"])
    assert score["healthy_ok"], f"false alarm: {score['verdict']} {score['top']} {score['fired']}"
    assert not score["confirmed"]


@pytest.mark.skipif(not scoring.ZOO_SCORE.exists(), reason="shared/zoo/score.py is missing")
def test_pair_names_the_top_cause_of_its_mutant_alone(sample_runs) -> None:
    host, fault, benign = PAIR
    pair, (result, reason), run = sample_runs[("pair", *PAIR)]
    _, _, alone = sample_runs[(host, fault)]
    assert pair is not None and pair.kind == "pair" and pair.benign == benign
    assert kill.kept(catalog.BY_NAME[fault], result), f"equivalent pair: {result} ({reason})"
    assert run["report"] is not None and alone["report"] is not None
    assert scoring.top_cause(run["report"]) == scoring.top_cause(alone["report"])


def test_sample_covers_distinct_hosts_and_operators() -> None:
    assert len({h for h, _, _ in SAMPLE}) == len(SAMPLE) == len({o for _, o, _ in SAMPLE})
    assert all(hosts.BY_NAME[h] in PLAIN_HOSTS for h, _, _ in SAMPLE)
