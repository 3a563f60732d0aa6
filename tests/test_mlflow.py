"""MLflow runs as input (``diagnose logs --mlflow URI``) and diagnoses written back to them
(``--mlflow-log``), through MLflow's own client on a temporary ``sqlite:///`` store.

The store holds 12 runs of real training (a small MLP on scikit-learn's digits), three of each
kind: diverging (LR far too high), stuck at chance (LR far too low), overfitting (80 training
samples, a wide model, many epochs) and healthy; the diverging ones and one stuck run ended
FAILED, the rest FINISHED. Each run is tagged with its data set and model, as a team would.
"""

from __future__ import annotations

import csv
import json
import sys
import time
from pathlib import Path

import pytest
from conftest import one_thread_per_child

mlflow = pytest.importorskip("mlflow", reason="the mlflow extra is not installed")

import torch  # noqa: E402
from mlflow.entities import Metric, Param  # noqa: E402
from mlflow.tracking import MlflowClient  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from torch import nn  # noqa: E402

import diagnose  # noqa: E402
from diagnose.cli.main import main  # noqa: E402
from diagnose.logs.mlflow_store import read_runs  # noqa: E402

pytestmark = pytest.mark.heavy

KINDS = {
    "diverging": {"lr": 5.0, "momentum": 0.9, "activation": "tanh", "train_size": 1200},
    "chance": {"lr": 1e-7, "momentum": 0.0, "activation": "relu", "train_size": 1200},
    "overfitting": {"lr": 0.01, "momentum": 0.0, "activation": "relu", "train_size": 80},
    "healthy": {"lr": 0.1, "momentum": 0.0, "activation": "relu", "train_size": 1200},
}
EXPECTED = {
    "diverging": "lr_too_high",
    "chance": "not_learning",
    "overfitting": "overfitting",
    "healthy": "healthy",
}


def train(kind: str, seed: int) -> tuple[dict[str, str], list[Metric]]:
    """One real training run; its params and the metrics a training script would log."""
    config = KINDS[kind]
    digits = load_digits()
    inputs = torch.tensor(digits.data, dtype=torch.float32) / 16
    labels = torch.tensor(digits.target)
    order = torch.randperm(len(inputs), generator=torch.Generator().manual_seed(0))
    train_rows, val_rows = order[: config["train_size"]], order[1300:]
    torch.manual_seed(seed)
    width, overfit = (256, True) if kind == "overfitting" else (64, False)
    activation = nn.Tanh() if config["activation"] == "tanh" else nn.ReLU()
    model = nn.Sequential(nn.Linear(64, width), activation, nn.Linear(width, 10))
    optimizer = (
        torch.optim.Adam(model.parameters(), lr=config["lr"])
        if overfit
        else torch.optim.SGD(model.parameters(), lr=config["lr"], momentum=config["momentum"])
    )
    batch, epochs = (16, 120) if overfit else (64, 8)
    metrics, step, now = [], 0, int(time.time() * 1000)
    for _ in range(epochs):
        shuffled = train_rows[torch.randperm(len(train_rows))]
        for start in range(0, len(shuffled), batch):
            rows = shuffled[start : start + batch]
            loss = nn.functional.cross_entropy(model(inputs[rows]), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            metrics += [
                Metric("train_loss", loss.item(), now, step),
                Metric("lr", config["lr"], now, step),
            ]
            step += 1
        with torch.no_grad():
            logits = model(inputs[val_rows])
            accuracy = (logits.argmax(1) == labels[val_rows]).float().mean().item()
            metrics += [
                Metric(
                    "val_loss",
                    nn.functional.cross_entropy(logits, labels[val_rows]).item(),
                    now,
                    step,
                ),
                Metric("val_accuracy", accuracy, now, step),
            ]
    params = {key: str(value) for key, value in config.items()}
    params.update(batch_size=str(batch), epochs=str(epochs), seed=str(seed))
    return params, metrics


def tags(kind: str) -> dict[str, str]:
    return {"dataset": "digits", "model": "mlp-256" if kind == "overfitting" else "mlp-64"}


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A sqlite store written with MLflow's own API: (uri, client, run ids by name)."""
    folder = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    experiment = client.create_experiment("digits", artifact_location=str(folder / "artifacts"))
    client.create_experiment("empty", artifact_location=str(folder / "empty"))
    ids = {}
    with one_thread_per_child():
        torch.set_num_threads(1)
        for kind in KINDS:
            for seed in range(3):
                params, metrics = train(kind, seed)
                run = client.create_run(experiment, run_name=f"{kind}-{seed}", tags=tags(kind))
                run_id = run.info.run_id
                client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
                for start in range(0, len(metrics), 1000):
                    client.log_batch(run_id, metrics=metrics[start : start + 1000])
                failed = kind == "diverging" or (kind == "chance" and seed == 0)
                client.set_terminated(run_id, "FAILED" if failed else "FINISHED")
                ids[f"{kind}-{seed}"] = run_id
    return uri, client, ids


@pytest.fixture(scope="module")
def diagnosed(store, tmp_path_factory):
    """``diagnose logs --mlflow URI --mlflow-log``, once: (exit code, output folder)."""
    uri, _, _ = store
    out = tmp_path_factory.mktemp("out")
    code = main(
        ["logs", "--mlflow", uri, "--experiment", "digits", "--mlflow-log", "-o", str(out), "-q"]
    )
    return code, out


def test_every_run_is_diagnosed_right_and_grouped_by_cause(store, diagnosed):
    _, _, ids = store
    code, out = diagnosed
    assert code == 1
    summary = json.loads((out / "summary.json").read_text())
    assert summary["runs"] == 12 and summary["healthy"] == 3
    groups = {g["group"]: g for g in summary["groups"]}
    for kind, group in EXPECTED.items():
        names = [f"{kind}-{seed}" for seed in range(3)]
        assert sorted(groups[group]["runs"]) == names, group
        assert sorted(groups[group]["run_ids"]) == sorted(ids[n] for n in names)
    # the params that tell the groups apart, and only those (every run has 3 seeds alike)
    assert groups["lr_too_high"]["params"]["lr"] == ["5.0"]
    assert groups["not_learning"]["params"]["lr"] == ["1e-07"]
    assert groups["overfitting"]["params"]["train_size"] == ["80"]
    assert "seed" not in groups["healthy"]["params"]


def test_summary_rows_carry_run_ids_statuses_and_params(store, diagnosed):
    _, _, ids = store
    _, out = diagnosed
    rows = {row["name"]: row for row in csv.DictReader((out / "summary.csv").open())}
    assert rows["diverging-0"]["run_id"] == ids["diverging-0"]
    assert (
        rows["diverging-0"]["run_status"] == "FAILED"
        and rows["healthy-1"]["run_status"] == "FINISHED"
    )
    assert (
        rows["overfitting-2"]["param.train_size"] == "80" and rows["healthy-1"]["param.lr"] == "0.1"
    )
    index = (out / "index.html").read_text()
    assert ids["healthy-0"] in index and "<code>lr</code> 5.0" in index
    report = json.loads((out / "diverging-0" / "report.json").read_text())
    assert (
        report["causes"][0]["id"] == "lr_too_high"
        and report["script"] == "mlflow:digits/diverging-0"
    )
    assert any(ids["diverging-0"] in note and "lr=5.0" in note for note in report["notes"])


def test_the_runs_own_tags_are_shown_per_run(store, diagnosed):
    """A run's tags (its own, not MLflow's ``mlflow.*``) are in its summary row, a ``tag.``
    column of summary.csv, its cell of index.html beside the params that differ, and the note of
    its report."""
    _, _, ids = store
    _, out = diagnosed
    summary = json.loads((out / "summary.json").read_text())
    for row in summary["rows"]:
        assert row["tags"] == tags(row["name"].rsplit("-", 1)[0]), row["name"]
    rows = {row["name"]: row for row in csv.DictReader((out / "summary.csv").open())}
    assert rows["overfitting-0"]["tag.model"] == "mlp-256" and rows["healthy-2"]["tag.model"] == (
        "mlp-64"
    )
    index = (out / "index.html").read_text()
    cell = index.split(ids["overfitting-1"], 1)[1].split("</td>", 2)[1]
    assert "<code>train_size</code> 80" in cell and '<span class="tag">model=mlp-256</span>' in cell
    report = json.loads((out / "overfitting-1" / "report.json").read_text())
    assert any("tags: dataset=digits, model=mlp-256." in note for note in report["notes"])


def test_an_earlier_diagnosis_is_not_read_as_the_users_tags(store, diagnosed):
    """``--mlflow-log`` set ``diagnose.*`` tags on every run: read again, they are not the user's
    (the next diagnosis replaces them)."""
    uri, client, ids = store
    assert "diagnose.cause" in client.get_run(ids["diverging-0"]).data.tags
    for run in read_runs(uri, "digits"):
        assert run.tags == tags(run.name.rsplit("-", 1)[0]), run.name


def test_tags_and_artifacts_are_read_back_through_the_client(store, diagnosed):
    _, client, ids = store
    for name, run_id in ids.items():
        run = client.get_run(run_id)
        kind = name.rsplit("-", 1)[0]
        tags = run.data.tags
        if kind == "healthy":
            assert tags["diagnose.verdict"] == "healthy" and tags["diagnose.cause"] == "none"
        elif kind == "chance":
            assert tags["diagnose.verdict"] == "not_learning"
        else:
            assert tags["diagnose.cause"] == EXPECTED[kind]
            assert 0.5 <= float(tags["diagnose.confidence"]) <= 1
        listed = {a.path for a in client.list_artifacts(run_id, "diagnose")}
        assert listed == {"diagnose/report.html", "diagnose/report.md", "diagnose/report.json"}
    local = client.download_artifacts(ids["overfitting-1"], "diagnose/report.json")
    assert json.loads(Path(local).read_text())["causes"][0]["id"] == "overfitting"
    found = client.search_runs(
        [client.get_experiment_by_name("digits").experiment_id],
        filter_string="tags.`diagnose.cause` = 'lr_too_high'",
    )
    assert sorted(r.info.run_id for r in found) == sorted(ids[f"diverging-{s}"] for s in range(3))


def test_status_filter_and_a_store_that_is_not_there(store, tmp_path, capsys):
    uri, _, ids = store
    out = tmp_path / "failed"
    assert main(["logs", "--mlflow", uri, "--status", "failed", "-o", str(out), "-q"]) == 1
    summary = json.loads((out / "summary.json").read_text())
    assert {row["run_id"] for row in summary["rows"]} == {
        ids["diverging-0"],
        ids["diverging-1"],
        ids["diverging-2"],
        ids["chance-0"],
    }
    for argv, message in [
        (["--mlflow", f"sqlite:///{tmp_path / 'none.db'}"], "no such MLflow database"),
        (["--mlflow", uri, "--experiment", "nope"], "no experiment named 'nope'"),
        (["--mlflow", uri, "--experiment", "empty"], "no runs"),
        (["--mlflow", str(tmp_path)], "not an MLflow mlruns/ folder"),
        (["--mlflow", uri, "--status", "DONE"], "--status must be one of"),
        ([str(tmp_path), "--mlflow-log"], "go with --mlflow"),
    ]:
        assert main(["logs", *argv, "-o", str(tmp_path / "x")]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "none.db").exists()  # nothing is created where nothing was


def test_without_the_extra_the_error_names_it(monkeypatch, tmp_path, capsys):
    """Without MLflow (every ``mlflow`` module unimportable, as when the extra is not installed),
    the commands that need it say so in one line and exit 2; ``logs --mlflow`` ended in an
    internal error (it imported MLflow before checking). Nothing is written."""
    for name in [name for name in sys.modules if name.split(".")[0] == "mlflow"]:
        monkeypatch.setitem(sys.modules, name, None)
    script = tmp_path / "train.py"
    script.write_text("print(1)\n")
    for argv in (
        ["logs", "--mlflow", f"sqlite:///{tmp_path / 'mlflow.db'}"],
        [str(script), "--mlflow-log", "--quick"],
    ):
        assert main([*argv, "-o", str(tmp_path / "out")]) == 2
        assert capsys.readouterr().err == (
            "diagnose: error: MLflow runs need the mlflow package: "
            'pip install "nn-diagnose[mlflow]"\n'
        )
    assert sorted(path.name for path in tmp_path.iterdir()) == ["train.py"]


def test_a_legacy_mlruns_folder_is_read(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # to write one with MLflow 3
    folder = tmp_path / "mlruns"
    client = MlflowClient(tracking_uri=folder.as_uri())
    run = client.create_run(client.create_experiment("old"), run_name="legacy")
    _, metrics = train("healthy", 0)
    client.log_batch(run.info.run_id, metrics=metrics[:1000])
    client.set_terminated(run.info.run_id)
    monkeypatch.delenv("MLFLOW_ALLOW_FILE_STORE")
    assert main(["logs", "--mlflow", str(folder), "-o", str(tmp_path / "out"), "-q"]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["rows"][0]["run_id"] == run.info.run_id and summary["healthy"] == 1


SCRIPT = """\
import sys
import mlflow
import torch
from torch import nn
from sklearn.datasets import load_digits

mlflow.set_tracking_uri("sqlite:///runs.db")
mlflow.set_experiment("digits")
digits = load_digits()
X = torch.tensor(digits.data, dtype=torch.float32) / 16
y = torch.tensor(digits.target)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
with mlflow.start_run(run_name="mlp"):
    mlflow.log_param("lr", 0.1)
    step = 0
    for epoch in range(8):
        for i in range(0, 1400, 64):
            loss = nn.functional.cross_entropy(model(X[i:i + 64]), y[i:i + 64])
            loss.backward()
            optimizer.step()
            mlflow.log_metric("train_loss", loss.item(), step=step)
            step += 1
"""


def test_a_script_that_logs_to_mlflow_gets_the_diagnosis_on_its_own_run(tmp_path, monkeypatch):
    """The script (it never clears its gradients) opens a run in a sqlite store relative to the
    current directory; an older run of the same script is in the store already."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "train.py").write_text(SCRIPT.replace("loss.backward()", "pass") + "\n")
    with one_thread_per_child():
        import subprocess

        subprocess.run([sys.executable, "train.py"], check=True, capture_output=True)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'runs.db'}")
    experiment = client.get_experiment_by_name("digits").experiment_id
    older = {r.info.run_id for r in client.search_runs([experiment])}
    (tmp_path / "train.py").write_text(SCRIPT)
    with one_thread_per_child():
        diagnosis = diagnose.run("train.py", out=tmp_path / "out", mlflow_log=True, timeout=90)
    assert diagnosis.top.id == "missing_zero_grad"
    runs = client.search_runs([experiment])  # deleted runs are not listed
    new = [r for r in runs if r.info.run_id not in older]
    assert len(new) == 1, "the replays' own runs are deleted, the observed run's is kept"
    ours = new[0]
    assert diagnosis.mlflow_run == ours.info.run_id
    assert ours.data.tags["diagnose.cause"] == "missing_zero_grad"
    assert {a.path for a in client.list_artifacts(ours.info.run_id, "diagnose")} == {
        "diagnose/report.html",
        "diagnose/report.md",
        "diagnose/report.json",
    }
    assert all("diagnose.verdict" not in client.get_run(r).data.tags for r in older)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert report["mlflow_run"] == ours.info.run_id


def test_mlflow_log_on_a_script_without_mlflow_says_so(tmp_path, capsys):
    script = tmp_path / "plain.py"
    script.write_text(
        SCRIPT.replace("import mlflow\n", "").split("mlflow.set_tracking_uri")[0] + "print(1)\n"
    )
    assert main([str(script), "-o", str(tmp_path / "out"), "--quick", "--mlflow-log"]) == 2
    assert "opened no MLflow run" in capsys.readouterr().err
