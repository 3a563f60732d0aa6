"""The mutation bench's benign operators, invariance pairs and public-host extraction, without
running any training: each operator's edit checked on small scripts and on the bench's hosts, the
recipe machinery checked on a git repository made here."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from mutants import catalog, extract, generate, hosts, kill, pairs, public  # noqa: E402
from mutants.plain import Plain  # noqa: E402
from mutants.public import Edit, Recipe  # noqa: E402

LOOP = """
import torch
from torch import nn
model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
loader = torch.utils.data.DataLoader(data, batch_size=32, shuffle=True)
criterion = nn.CrossEntropyLoss()
for epoch in range(5):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        val_loss = criterion(model(xv), yv).item()
    print(epoch, val_loss)
"""


def edited(name: str, code: str = LOOP) -> str:
    """The source after the benign operator `name`; fails when it changes nothing."""
    tree = ast.parse(code)
    assert catalog.BENIGN_BY_NAME[name].mutate(tree), f"{name} found nothing to change"
    text = ast.unparse(ast.fix_missing_locations(tree))
    compile(text, name, "exec")
    return text


def test_benign_catalogue_is_large_and_apart_from_the_faults() -> None:
    assert len(catalog.BENIGN) >= 20 and len(catalog.BENIGN_BY_NAME) == len(catalog.BENIGN)
    assert not set(catalog.BENIGN_BY_NAME) & set(catalog.BY_NAME)
    for op in catalog.BENIGN:
        assert op.describe and op.kills == {"same", "better"} and not op.cause, op.name


@pytest.mark.parametrize("op", catalog.BENIGN, ids=lambda op: op.name)
def test_benign_operator_applies_to_an_own_host_and_compiles(op) -> None:
    built = [v for h in hosts.HOSTS if (v := generate.mutate(h, op)) is not None]
    assert built, f"{op.name} applies to no host"
    for v in built:
        assert v.kind == "healthy" and v.benign == (op.name,) and v.cause == "" and v.operator == ""
        for text in v.files.values():
            compile(text, v.id, "exec")


def test_augmentation_touches_the_training_batch_only() -> None:
    text = edited("noise_augment")
    loop = text.split("for xb, yb in loader:")[1]
    assert loop.lstrip().startswith("xb = xb + 0.05 * torch.randn_like(xb)")
    assert "randn_like(xv)" not in text


def test_gradient_accumulation_halves_the_loss_and_steps_every_second_batch() -> None:
    text = edited("accumulate_2")
    assert "for micro_step, (xb, yb) in enumerate(loader):" in text
    assert "(loss / 2).backward()" in text
    gate = text.split("if (micro_step + 1) % 2 == 0:")[1]
    assert gate.split("\n")[1].strip() == "optimizer.step()"
    assert gate.split("\n")[2].strip() == "optimizer.zero_grad()"
    assert text.count("zero_grad()") == 1


def test_summed_loss_scales_sgd_by_the_batch_and_leaves_adam_alone() -> None:
    text = edited("sum_loss_lr_scaled")
    assert "CrossEntropyLoss(reduction='sum')" in text and "lr=0.00313" in text
    adam = edited(
        "sum_loss_lr_scaled",
        LOOP.replace(
            "SGD(model.parameters(), lr=0.1, momentum=0.9)", "Adam(model.parameters(), lr=0.001)"
        ),
    )
    assert "lr=0.001" in adam and "reduction='sum'" in adam


def test_batch_scaling_scales_the_learning_rate_with_it() -> None:
    half = edited("half_batch")
    assert "batch_size=16" in half and "lr=0.05" in half
    adam = edited(
        "double_batch", LOOP.replace("lr=0.1, momentum=0.9", "lr=0.001").replace("SGD", "Adam")
    )
    assert "batch_size=64" in adam and "lr=0.00141" in adam


def test_adamw_keeps_an_adam_learning_rate_and_resets_sgds() -> None:
    text = edited("adamw_decay")
    assert "torch.optim.AdamW(model.parameters(), lr=0.001, weight_decay=0.01)" in text
    kept = edited(
        "adamw_decay",
        LOOP.replace(
            "SGD(model.parameters(), lr=0.1, momentum=0.9)", "Adam(model.parameters(), lr=0.003)"
        ),
    )
    assert "AdamW(model.parameters(), lr=0.003, weight_decay=0.01)" in kept


def test_schedules_and_clipping_sit_where_a_person_puts_them() -> None:
    warm = edited("warmup_cosine")
    assert warm.index("scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer") > warm.index(
        "optimizer = "
    )
    assert (
        warm.index("scheduler.step()")
        == warm.index("optimizer.step()") + len("optimizer.step()") + 9
    )
    step = edited("step_lr")
    assert step.index("scheduler.step()") > step.index("optimizer.step()")
    assert step.split("scheduler.step()")[0].rstrip().endswith("optimizer.step()")
    clip = edited("clip_grad_1")
    assert (
        clip.index("loss.backward()")
        < clip.index("clip_grad_norm_(model.parameters(), 1.0)")
        < clip.index("optimizer.step()")
    )


def test_ema_replaces_the_model_in_evaluation_only() -> None:
    text = edited("ema_eval")
    assert "ema = torch.optim.swa_utils.AveragedModel(model" in text and ").eval()" in text
    assert "ema.update_parameters(model)" in text
    assert "criterion(ema(xv), yv)" in text and "criterion(model(xb), yb)" in text


def test_early_stopping_watches_the_validation_loss() -> None:
    text = edited("early_stop")
    assert "best_val_loss, stale_epochs = (float('inf'), 0)" in text
    assert "if val_loss < best_val_loss - 0.0001:" in text and "break" in text


def test_checkpoints_follow_each_epoch() -> None:
    whole, weights = edited("save_model"), edited("save_state_dict")
    assert "torch.save(model, 'checkpoint.pt')" in whole
    assert "torch.save(model.state_dict(), 'checkpoint.pt')" in weights
    assert whole.index("torch.save") > whole.index("optimizer.step()")
    assert whole.index("torch.save") < whole.index("model.eval()")


def test_activation_norm_dropout_and_factory_edits() -> None:
    assert "nn.GELU()" in edited("gelu_for_relu") and "nn.ReLU" not in edited("gelu_for_relu")
    clamp = edited("silu_for_relu", "import torch\nh = x.clamp(min=0)\ny = torch.relu(h)")
    assert clamp.endswith("h = torch.nn.functional.silu(x)\ny = torch.nn.functional.silu(h)")
    norm = edited("layer_norm_added")
    assert "torch.nn.Sequential(nn.Linear(4, 16), torch.nn.LayerNorm(16))" in norm
    drop = edited("dropout_head")
    assert "nn.ReLU(), torch.nn.Dropout(0.2), nn.Linear(16, 2)" in drop
    factory = edited("model_factory")
    assert "def create_model():\n    return nn.Sequential(" in factory
    assert "model = create_model()" in factory


def test_logging_keeps_the_metrics_line_on_stdout() -> None:
    text = edited("print_to_logging", LOOP + "print(json.dumps({'val_loss': val_loss}))\n")
    assert "logging.info('%s %s', epoch, val_loss)" in text
    assert "print(json.dumps({'val_loss': val_loss}))" in text
    assert "logging.basicConfig(level=logging.INFO" in text


def test_seed_progress_bar_and_inference_mode() -> None:
    seeded = edited("seed_plus_1", "import torch\ntorch.manual_seed(args.seed)\nnp.random.seed(3)")
    assert "torch.manual_seed(args.seed + 1)" in seeded and "np.random.seed(3 + 1)" in seeded
    assert "for xb, yb in tqdm.tqdm(loader, leave=False):" in edited("progress_bar")
    assert "with torch.inference_mode():" in edited("inference_mode_eval")
    manual = (
        "with torch.no_grad():\n    for p in model.parameters():\n        p.data -= 0.1 * p.grad"
    )
    assert not catalog.BENIGN_BY_NAME["inference_mode_eval"].mutate(ast.parse(manual))


def test_label_smoothing_needs_a_classifier() -> None:
    smoothing = catalog.BENIGN_BY_NAME["label_smoothing"]
    assert generate.mutate(hosts.BY_NAME["keras_diabetes"], smoothing) is None
    variant = generate.mutate(hosts.BY_NAME["flat_digits"], smoothing)
    assert "CrossEntropyLoss(label_smoothing=0.1)" in variant.files["train.py"]


def test_benign_variant_is_kept_only_when_it_still_learns() -> None:
    op = catalog.BENIGN_BY_NAME["clip_grad_1"]
    host = Plain("ok", {"val_acc": 0.95, "val_loss": 0.15})
    assert kill.kept(
        op, kill.outcome(host, Plain("ok", {"val_acc": 0.94, "val_loss": 0.16}), op)[0]
    )
    assert kill.kept(
        op, kill.outcome(host, Plain("ok", {"val_acc": 0.99, "val_loss": 0.05}), op)[0]
    )
    assert not kill.kept(
        op, kill.outcome(host, Plain("ok", {"val_acc": 0.85, "val_loss": 0.15}), op)[0]
    )
    assert not kill.kept(op, kill.outcome(host, Plain("crash", error="boom"), op)[0])
    smoothing = catalog.BENIGN_BY_NAME["label_smoothing"]  # its validation loss is not comparable
    assert (
        kill.outcome(host, Plain("ok", {"val_acc": 0.95, "val_loss": 0.5}), smoothing)[0] == "same"
    )
    fault = catalog.BY_NAME["remove_zero_grad"]  # a pair whose benign edit changed the loss
    higher = Plain("ok", {"val_acc": 0.95, "val_loss": 0.5})
    assert kill.outcome(host, higher, fault)[0] == "worse"
    assert kill.outcome(host, higher, fault, loss_changed=True)[0] == "same"


def test_pairs_apply_the_benign_edits_first_and_the_fault_last() -> None:
    host = hosts.BY_NAME["flat_digits"]
    fault = catalog.BY_NAME["lr_x100"]
    pair = generate.combine(host, [catalog.BENIGN_BY_NAME["adamw_decay"]], fault)
    assert pair.kind == "pair" and pair.cause == fault.cause and pair.benign == ("adamw_decay",)
    assert "AdamW(model.parameters(), lr=0.1, weight_decay=0.01)" in pair.files["train.py"]
    assert pair.id not in (generate.neutral_id(host.name, fault.name),)
    undone = generate.combine(
        host, [catalog.BENIGN_BY_NAME["sum_loss_lr_scaled"]], catalog.BY_NAME["sum_reduction"]
    )
    assert undone is None  # the fault finds nothing left to change


def test_pair_draws_are_stable_distinct_and_spread() -> None:
    names = [op.name for op in catalog.BENIGN[:6]]
    draws = [pairs.draw(f"m{k:07x}", names) for k in range(200)]
    assert draws == [pairs.draw(f"m{k:07x}", names) for k in range(200)]
    firsts = [d[0] for d in draws]
    assert {len(f) for f in firsts} == {1, 2} and all(len(set(f)) == len(f) for f in firsts)
    assert {f[0] for f in firsts} == set(names)
    assert all(len(d) == len(names) for d in draws)


def test_pair_candidates_are_the_kept_or_unrun_benign_variants() -> None:
    rows = [
        {"host": "h", "benign": ["clip_grad_1"], "kept": True},
        {"host": "h", "benign": ["adamw_decay"], "kept": False},
    ]
    buildable = {("h", "clip_grad_1"), ("h", "adamw_decay"), ("h", "gelu_for_relu")}
    assert pairs.candidates("h", rows, buildable) == ["clip_grad_1", "gelu_for_relu"]


def _git_repo(folder: Path, files: dict[str, str]) -> Path:
    repo = folder / "someone+tutorials" / "repo"
    repo.mkdir(parents=True)
    for name, text in files.items():
        (repo / name).write_text(text)
    run = {"cwd": repo, "check": True, "capture_output": True}
    subprocess.run(["git", "init", "-q"], **run)
    subprocess.run(["git", "add", "."], **run)
    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "files"], **run
    )
    return repo


UPSTREAM = """
import torch
import matplotlib.pyplot as plt
EPOCHS = 300  # a comment
x = torch.randn(64, 3)
net = torch.nn.Linear(3, 1)
fig, ax = plt.subplots()
for t in range(EPOCHS):
    loss = (net(x) - 1).pow(2).mean()
    ax.plot(t, loss.item())
plt.show()
"""


def recipe(**changes) -> Recipe:
    base = {
        "name": "tiny",
        "repo": "someone/tutorials",
        "commit": "0" * 40,
        "path": "fit.py",
        "style": "test",
        "task": "regression",
        "inputs": "features",
        "metrics": "print(json.dumps({'train_mse': 0.0}))",
        "edits": (Edit(r"^EPOCHS = 300\b", "EPOCHS = 3"),),
        "seed": True,
    }
    return Recipe(**(base | changes))


def test_extraction_edits_strips_plotting_seeds_and_keeps_metrics_apart(tmp_path) -> None:
    _git_repo(tmp_path, {"fit.py": UPSTREAM})
    host = extract.extract(recipe(), tmp_path, tmp_path / "out")
    script = (host.folder / "train.py").read_text()
    assert "EPOCHS = 3" in script and "a comment" not in script
    assert "plt" not in script and "ax." not in script and "matplotlib" not in script
    assert script.index("torch.manual_seed(0)") < script.index("x = torch.randn")
    assert script.rstrip().endswith("host_metrics.report(globals())")
    assert host.origin == "public" and host.fixed == ("host_metrics.py",)
    assert "train_mse" in (host.folder / "host_metrics.py").read_text()
    assert host.source == "someone/tutorials: fit.py"


def test_an_edit_that_no_longer_fits_fails_loudly(tmp_path) -> None:
    _git_repo(tmp_path, {"fit.py": UPSTREAM.replace("EPOCHS = 300", "EPOCHS = 30")})
    with pytest.raises(extract.ExtractError, match="matched 0 times, expected 1"):
        extract.extract(recipe(), tmp_path, tmp_path / "out")
    with pytest.raises(extract.ExtractError, match="no git directory"):
        extract.extract(recipe(repo="someone/else"), tmp_path, tmp_path / "out")


def test_notebook_cells_become_a_script_without_display_and_dropped_cells(tmp_path) -> None:
    cells = [
        "import torch",
        "!pip install x\nx = 1",
        "x",
        "import datasets\ny = datasets.load()",
        "z = x + 1",
    ]
    notebook = {
        "cells": [{"cell_type": "code", "source": c} for c in cells]
        + [{"cell_type": "markdown", "source": "# t"}]
    }
    script = extract.notebook_script(json.dumps(notebook), drop=(r"load\(",))
    assert script.split("\n\n") == ["import torch", "x = 1", "z = x + 1\n"]


def test_operators_never_edit_a_hosts_fixed_files(tmp_path) -> None:
    _git_repo(tmp_path, {"fit.py": UPSTREAM})
    host = extract.extract(
        recipe(metrics="with torch.no_grad():\n    print(json.dumps({'m': 1}))"),
        tmp_path,
        tmp_path / "out",
    )
    variant = generate.mutate(host, catalog.BENIGN_BY_NAME["inference_mode_eval"])
    assert variant is None  # the only no_grad block is the bench's own metrics code


def test_public_recipes_are_distinct_and_cover_the_tasks() -> None:
    assert len(public.RECIPES) >= 15 and len(public.BY_NAME) == len(public.RECIPES)
    assert len({r.repo for r in public.RECIPES}) >= 4
    assert {"autoencoder", "gan", "seq2seq", "regression", "classification"} <= {
        r.task for r in public.RECIPES
    }
    for r in public.RECIPES:
        assert r.task in hosts.TASK_TAGS and len(r.commit) == 40
        compile("import json\nimport torch\n" + r.metrics, r.name, "exec")
