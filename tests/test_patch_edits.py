"""Source edits of ``--patch`` on small scripts: each covered fix lands where the evidence points,
in the script's own style (names, indentation, comments), and nothing else changes.

The evidence here is written by hand (the lines the run would record for each key call), so these
tests need no training run; tests/test_patch.py runs real scripts end to end.
"""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from diagnose.diagnosis import CauseReport, Confirmation
from diagnose.evidence import Evidence, ObservedRun, RunInfo, ScenarioRun
from diagnose.patch.make import NO_EDIT, propose
from diagnose.patch.project import Project
from diagnose.patch.source import SourceFile
from diagnose.probes.sections import (
    DataSection,
    InterventionSection,
    LossSection,
    ModelSection,
    NormalizeCall,
    OptimizerInfo,
    OptimizerSection,
    SourceLine,
    SourcesSection,
    TensorSummary,
)


def _located(source: SourceFile, text: str) -> SourceLine:
    """The line (and span) a run would record for the call ``text``, or the loop headed ``text``."""
    for node in ast.walk(source.tree):
        header = source.lines[node.lineno - 1].strip() if isinstance(node, ast.For) else None
        if (isinstance(node, ast.Call) and source.segment(node) == text) or header == text:
            return SourceLine(
                file=str(source.path),
                line=node.lineno,
                code=text,
                col=node.col_offset,
                end_line=node.end_lineno,
                end_col=node.end_col_offset,
            )
    raise AssertionError(f"{text!r} not in the script")


def patch_of(
    tmp_path: Path,
    code: str,
    cause: str,
    calls: dict[str, str],
    rule_book,
    files: dict[str, str] | None = None,
    scenarios: dict[str, dict] | None = None,
    **sections: object,
) -> str:
    """The patched text of train.py (or the reason there is none) for ``cause``."""
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(code))
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    source = SourceFile.read(script)
    lines = {key: _located(source, text) for key, text in calls.items()}
    if "optimizer" in lines and "optimizer" not in sections:
        sections["optimizer"] = OptimizerSection(
            optimizers=[OptimizerInfo("SGD", 0.5, None, None, 10)]
        )
    replays = {
        name: ScenarioRun(
            run=RunInfo(scenario=name, status="completed"),
            intervention=InterventionSection(name=name, params=params),
        )
        for name, params in (scenarios or {}).items()
    }
    evidence = Evidence(
        script=str(script),
        scenarios=replays,
        observe=ObservedRun(
            run=RunInfo(scenario="observe", status="completed"),
            sources=SourcesSection(lines=lines),
            **sections,
        ),
    )
    top = CauseReport(
        id=cause, title=cause, level="learnability", confidence=0.9, why="because it is so"
    )
    attempt = propose(top, evidence, rule_book, Project(script))
    if attempt.not_offered:
        return attempt.not_offered
    return {f.path: f.text for f in attempt.files}.get("train.py", "") + "".join(
        f"\n# --- {f.path}\n{f.text}" for f in attempt.files if f.path != "train.py"
    )


def dedent(code: str) -> str:
    return textwrap.dedent(code)


LOOP = """\
    import torch

    model = torch.nn.Linear(4, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.5)  # tuned by hand
    for epoch in range(3):
        for xb, yb in loader:
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
"""


def test_missing_zero_grad_goes_above_backward_beside_step(tmp_path, rule_book):
    patched = patch_of(
        tmp_path,
        LOOP,
        "missing_zero_grad",
        {
            "backward": "loss.backward()",
            "step": "optimizer.step()",
            "optimizer": "torch.optim.SGD(model.parameters(), lr=0.5)",
        },
        rule_book,
    )
    assert patched == dedent(LOOP).replace(
        "        loss.backward()", "        optimizer.zero_grad()\n        loss.backward()"
    )


def test_missing_zero_grad_follows_a_conditional_step(tmp_path, rule_book):
    code = """\
        for i, (xb, yb) in enumerate(loader):
            criterion(net(xb), yb).backward()
            if i % 4 == 3:
                opt.step()
    """
    patched = patch_of(
        tmp_path,
        code,
        "missing_zero_grad",
        {"backward": "criterion(net(xb), yb).backward()", "step": "opt.step()"},
        rule_book,
    )
    assert patched.endswith("        opt.step()\n        opt.zero_grad()\n")


def test_zero_grad_between_backward_and_step_moves_above_backward(tmp_path, rule_book):
    code = """\
        for xb, yb in loader:
            loss = criterion(model(xb), yb)
            loss.backward()
            self.optimizer.zero_grad(set_to_none=True)
            self.optimizer.step()
    """
    patched = patch_of(
        tmp_path,
        code,
        "zero_grad_before_step",
        {"backward": "loss.backward()", "zero_grad": "self.optimizer.zero_grad(set_to_none=True)"},
        rule_book,
    )
    assert patched == dedent("""\
        for xb, yb in loader:
            loss = criterion(model(xb), yb)
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            self.optimizer.step()
    """)


def test_missing_step_is_added_after_backward_with_the_optimizers_name(tmp_path, rule_book):
    code = """\
        class Trainer:
            def __init__(self, model):
                self.opt = torch.optim.Adam(model.parameters(), lr=1e-3)

            def fit_step(self, xb, yb):
                self.opt.zero_grad()
                loss = self.crit(self.model(xb), yb)
                loss.backward()
                return loss.item()
    """
    patched = patch_of(
        tmp_path,
        code,
        "optimizer_step_missing",
        {
            "backward": "loss.backward()",
            "optimizer": "torch.optim.Adam(model.parameters(), lr=1e-3)",
        },
        rule_book,
    )
    assert "        loss.backward()\n        self.opt.step()\n        return loss.item()" in patched


def test_hand_written_update_gets_no_step(tmp_path, rule_book):
    code = "for xb, yb in loader:\n    loss = criterion(w @ xb, yb)\n    loss.backward()\n"
    reason = patch_of(
        tmp_path,
        code,
        "optimizer_step_missing",
        {"backward": "loss.backward()"},
        rule_book,
        optimizer=OptimizerSection(optimizers=[OptimizerInfo("HandUpdate", 0.1, None, None, 1)]),
    )
    assert reason.startswith("no local edit found") and "by hand" in reason


def test_train_mode_is_restored_before_the_training_batches(tmp_path, rule_book):
    code = """\
        def train_one_epoch(model, loader):
            for xb, yb in loader:
                loss = criterion(model(xb), yb)

        def evaluate(model, loader):
            model.eval()
    """
    patched = patch_of(
        tmp_path,
        code,
        "train_mode_not_restored",
        {"forward": "model(xb)", "eval": "model.eval()"},
        rule_book,
    )
    assert (
        "def train_one_epoch(model, loader):\n    model.train()\n    for xb, yb in loader:"
        in patched
    )


def test_train_mode_goes_into_a_loop_that_also_validates(tmp_path, rule_book):
    code = """\
        for epoch in range(100):
            loss = F.mse_loss(net(X), y)
            if epoch % 10 == 0:
                net.eval()
    """
    patched = patch_of(
        tmp_path,
        code,
        "train_mode_not_restored",
        {"forward": "net(X)", "eval": "net.eval()"},
        rule_book,
    )
    assert patched.startswith(
        "for epoch in range(100):\n    net.train()\n    loss = F.mse_loss(net(X), y)"
    )


def test_eval_is_called_before_the_validation_block_and_train_restored(tmp_path, rule_book):
    code = """\
        for epoch in range(5):
            for xb, yb in train_loader:
                loss = criterion(model(xb), yb)
            # validation
            with torch.no_grad():
                for xv, yv in val_loader:
                    out = model(xv)
    """
    patched = patch_of(
        tmp_path,
        code,
        "eval_mode_missing",
        {"forward": "model(xb)", "eval_forward": "model(xv)"},
        rule_book,
    )
    assert "    # validation\n    model.eval()\n    with torch.no_grad():" in patched
    assert "    model.train()\n    for xb, yb in train_loader:" in patched


def test_eval_goes_into_the_validation_function(tmp_path, rule_book):
    code = """\
        def validate(model, xs, ys):
            with torch.inference_mode():
                logits = model(xs)
            return logits

        for epoch in range(5):
            model.train()
            loss = criterion(model(X), y)
    """
    patched = patch_of(
        tmp_path,
        code,
        "eval_mode_missing",
        {"forward": "model(X)", "eval_forward": "model(xs)"},
        rule_book,
    )
    assert patched.startswith(
        "def validate(model, xs, ys):\n    model.eval()\n    with torch.inference_mode():"
    )
    assert patched.count(".train()") == 1


def test_softmax_layer_at_the_end_of_a_sequential_is_removed(tmp_path, rule_book):
    code = """\
        class Classifier(nn.Module):
            def __init__(self):
                super().__init__()
                self.net = nn.Sequential(
                    nn.Linear(20, 10),
                    nn.Softmax(dim=1),
                )

        loss = criterion(model(xb), yb)
    """
    patched = patch_of(
        tmp_path,
        code,
        "softmax_before_cross_entropy",
        {"loss": "criterion(model(xb), yb)"},
        rule_book,
        model=ModelSection(cls="Classifier"),
        loss=LossSection(kind="cross_entropy"),
    )
    assert patched == dedent(code).replace("            nn.Softmax(dim=1),\n", "")


def test_softmax_in_forward_and_at_the_loss_call_are_unwrapped(tmp_path, rule_book):
    code = """\
        class DigitNet(nn.Module):
            def forward(self, x):
                return torch.softmax(self.fc2(x), dim=-1)
    """
    patched = patch_of(
        tmp_path,
        dedent(code) + "probs = net(xb)\nloss = criterion(probs, yb)\n",
        "softmax_before_cross_entropy",
        {"loss": "criterion(probs, yb)"},
        rule_book,
        model=ModelSection(cls="DigitNet"),
        loss=LossSection(kind="cross_entropy"),
    )
    assert "        return self.fc2(x)\n" in patched
    code = "logits = net(xb)\nloss = F.cross_entropy(F.softmax(logits, dim=1), yb)\n"
    patched = patch_of(
        tmp_path,
        code,
        "softmax_before_cross_entropy",
        {"loss": "F.cross_entropy(F.softmax(logits, dim=1), yb)"},
        rule_book,
        model=ModelSection(cls="Sequential"),
        loss=LossSection(kind="cross_entropy"),
    )
    assert patched == "logits = net(xb)\nloss = F.cross_entropy(logits, yb)\n"


def test_sigmoid_into_bce_with_logits_switches_to_the_probability_loss(tmp_path, rule_book):
    code = "loss_fn = nn.BCEWithLogitsLoss()\np = model(X).squeeze(1)\nloss = loss_fn(p, y)\n"
    patched = patch_of(
        tmp_path,
        code,
        "softmax_before_cross_entropy",
        {"loss": "loss_fn(p, y)"},
        rule_book,
        loss=LossSection(kind="binary_cross_entropy_with_logits"),
    )
    assert patched == code.replace("BCEWithLogitsLoss", "BCELoss")


def test_summed_reduction_becomes_mean_where_the_criterion_is_built(tmp_path, rule_book):
    code = "criterion = nn.MSELoss(reduction='sum')\nloss = criterion(model(xb).squeeze(1), yb)\n"
    patched = patch_of(
        tmp_path,
        code,
        "loss_reduction_sum",
        {"loss": "criterion(model(xb).squeeze(1), yb)"},
        rule_book,
    )
    assert patched == code.replace("'sum'", "'mean'")


@pytest.mark.parametrize(
    "code, old, new",
    [
        (
            "optimizer = torch.optim.SGD(model.parameters(), lr=8.0, momentum=0.9)\n",
            "lr=8.0",
            "lr=0.08",
        ),
        ("LR = 8\nopt = SGD(model.parameters(), LR)\n", "LR = 8", "LR = 0.08"),
        (
            "def get_args():\n    p.add_argument('--lr', type=float, default=8e0)\n"
            "    return p.parse_args()\nargs = get_args()\n"
            "opt = SGD(model.parameters(), lr=args.lr)\n",
            "default=8e0",
            "default=8e-2",
        ),
        (
            "@dataclass\nclass Config:\n    lr: float = 8.0  # from the paper\n\n"
            "def main(cfg):\n    opt = SGD(model.parameters(), lr=cfg.lr)\n",
            "lr: float = 8.0",
            "lr: float = 0.08",
        ),
        (
            "config = {'lr': 8.0, 'epochs': 3}\nopt = SGD(model.parameters(), lr=config['lr'])\n",
            "'lr': 8.0",
            "'lr': 0.08",
        ),
        (
            "def build(model, lr=8.0):\n    return SGD(model.parameters(), lr=lr)\n",
            "lr=8.0",
            "lr=0.08",
        ),
    ],
)
def test_learning_rate_is_set_where_it_is_written(tmp_path, rule_book, code, old, new):
    built = next(line for line in code.splitlines() if "SGD(" in line)
    calls = {
        "optimizer": built[
            built.index("SGD(") - (len("torch.optim.") if "torch.optim" in built else 0) :
        ]
    }
    patched = patch_of(
        tmp_path,
        code,
        "lr_too_high",
        calls,
        rule_book,
        scenarios={"lower_lr": {"factor": 0.0123 / 1.23}},
        optimizer=OptimizerSection(optimizers=[OptimizerInfo("SGD", 8.0, 0.9, 0.0, 10)]),
    )
    assert patched == code.replace(old, new)


def test_learning_rate_from_the_command_line_is_not_edited(tmp_path, rule_book):
    code = (
        "p.add_argument('--lr', type=float, default=0.1)\n"
        "opt = SGD(model.parameters(), lr=args.lr)\n"
    )
    reason = patch_of(
        tmp_path,
        code,
        "lr_too_high",
        {"optimizer": "SGD(model.parameters(), lr=args.lr)"},
        rule_book,
        scenarios={"lower_lr": {"factor": 0.01}},
        optimizer=OptimizerSection(optimizers=[OptimizerInfo("SGD", 8.0, None, None, 10)]),
    )
    assert "not written in the script" in reason and "0.08" in reason


def test_loader_is_shuffled_where_it_is_built(tmp_path, rule_book):
    code = """\
        def fit(model, loader):
            for images, labels in loader:
                pass

        train_loader = DataLoader(train_ds, batch_size=32, shuffle=False)
        fit(model, train_loader)
    """
    patched = patch_of(
        tmp_path, code, "data_not_shuffled", {"loader": "for images, labels in loader:"}, rule_book
    )
    assert patched == dedent(code).replace("shuffle=False", "shuffle=True")
    code = "loader = DataLoader(ds, batch_size=32)\nfor i, (x, y) in enumerate(loader):\n    pass\n"
    patched = patch_of(
        tmp_path,
        code,
        "data_not_shuffled",
        {"loader": "for i, (x, y) in enumerate(loader):"},
        rule_book,
    )
    assert patched == code.replace("batch_size=32)", "batch_size=32, shuffle=True)")


def test_detach_and_no_grad_in_forward_are_removed(tmp_path, rule_book):
    code = """\
        class EncoderHead(nn.Module):
            def forward(self, x):
                with torch.no_grad():
                    # frozen features
                    f = self.features(x)
                z = self.encoder(f).detach()
                return self.head(z)
    """
    patched = patch_of(
        tmp_path, code, "detached_graph", {}, rule_book, model=ModelSection(cls="EncoderHead")
    )
    assert patched == dedent("""\
        class EncoderHead(nn.Module):
            def forward(self, x):
                # frozen features
                f = self.features(x)
                z = self.encoder(f)
                return self.head(z)
    """)


def test_tensor_rebuilt_from_the_output_is_the_output_again(tmp_path, rule_book):
    code = """\
        out = model(x[idx])
        scores = torch.tensor(out.tolist(), requires_grad=True)
        loss = F.cross_entropy(scores, y[idx])
    """
    patched = patch_of(
        tmp_path,
        code,
        "detached_graph",
        {"forward": "model(x[idx])", "loss": "F.cross_entropy(scores, y[idx])"},
        rule_book,
    )
    assert "scores = out\n" in patched


def test_a_loss_computed_in_numpy_is_not_a_local_edit(tmp_path, rule_book):
    code = """\
        logits = model(xb)
        loss = torch.tensor(nll(logits.detach().numpy(), yb.numpy()), requires_grad=True)
        loss.backward()
    """
    reason = patch_of(
        tmp_path,
        code,
        "detached_graph",
        {"forward": "model(xb)", "backward": "loss.backward()"},
        rule_book,
    )
    assert reason.startswith("no local edit found") and "numpy" in reason


def test_frozen_parameters_are_unfrozen(tmp_path, rule_book):
    code = """\
        model = Model()
        for p in model.backbone.parameters():
            p.requires_grad = False
        model.head.requires_grad_(False)
        optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
    """
    patched = patch_of(
        tmp_path,
        code,
        "frozen_parameters",
        {},
        rule_book,
        model=ModelSection(params=100, trainable=10),
    )
    assert (
        patched
        == "model = Model()\noptimizer = torch.optim.Adam([p for p in model.parameters() if "
        "p.requires_grad], lr=1e-3)\n"
    )


def test_optimizer_is_built_for_the_model_that_is_trained(tmp_path, rule_book):
    code = """\
        def main():
            model = ConvNet()
            optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
            model = ConvNet().to(device)
            for xb, yb in loader:
                loss = F.cross_entropy(model(xb), yb)
    """
    optimizer = OptimizerSection(
        optimizers=[OptimizerInfo("Adam", 1e-3, None, 0.0, 10)],
        model_params=100,
        model_params_trainable=100,
        model_params_optimized=0,
    )
    patched = patch_of(
        tmp_path,
        code,
        "frozen_parameters",
        {"forward": "model(xb)", "optimizer": "torch.optim.Adam(model.parameters(), lr=1e-3)"},
        rule_book,
        optimizer=optimizer,
        model=ModelSection(params=100, trainable=100),
    )
    assert (
        "    model = ConvNet().to(device)\n    optimizer = "
        "torch.optim.Adam(model.parameters(), lr=1e-3)\n" in patched
    )
    code = (
        "net = Net()\noptimizer = SGD(net.fc.parameters(), lr=0.05)\n"
        "loss = F.cross_entropy(net(x), y)\n"
    )
    patched = patch_of(
        tmp_path,
        code,
        "frozen_parameters",
        {"forward": "net(x)", "optimizer": "SGD(net.fc.parameters(), lr=0.05)"},
        rule_book,
        optimizer=optimizer,
        model=ModelSection(params=100, trainable=100),
    )
    assert patched == code.replace("net.fc.parameters()", "net.parameters()")


def test_layers_in_plain_lists_are_registered(tmp_path, rule_book):
    code = """\
        from torch import nn

        class ResidualMLP(nn.Module):
            def __init__(self, width, n_blocks):
                super().__init__()
                self.stem = [nn.Linear(24, width)]
                self.blocks = [Block(width) for _ in range(n_blocks)]
                self.extra = []
                self.extra.append(nn.Linear(width, width))
                self.sizes = [width, width]
    """
    patched = patch_of(
        tmp_path,
        code,
        "unregistered_submodules",
        {},
        rule_book,
        model=ModelSection(unregistered=["Linear(200 params)", "Block(80 params)"]),
    )
    assert "self.stem = nn.ModuleList([nn.Linear(24, width)])" in patched
    assert "self.blocks = nn.ModuleList([Block(width) for _ in range(n_blocks)])" in patched
    assert "self.extra = nn.ModuleList()" in patched and "self.sizes = [width, width]" in patched


def test_dropout_is_lowered_where_its_probability_is_written(tmp_path, rule_book):
    code = """\
        @dataclass
        class Config:
            dropout: float = 0.9

        def build(cfg):
            return nn.Sequential(
                nn.Linear(4, 4), nn.Dropout(cfg.dropout), nn.Linear(4, 2), nn.Dropout(p=0.1)
            )
    """
    patched = patch_of(
        tmp_path, code, "dropout_too_high", {}, rule_book, model=ModelSection(dropout=[0.9, 0.1])
    )
    assert patched == dedent(code).replace("0.9", "0.2")


def test_inputs_are_standardized_before_their_dataset(tmp_path, rule_book):
    code = """\
        def main():
            X_train = torch.tensor(X_train, dtype=torch.float32)
            X_test = torch.tensor(X_test, dtype=torch.float32)
            loader = DataLoader(TensorDataset(X_train, y_train), batch_size=32, shuffle=True)
            for xb, yb in loader:
                loss = criterion(model(xb), yb)
            logits = model(X_test)
    """
    data = DataSection(inputs=TensorSummary(shape=[32, 30], feature_std=[1.0, 300.0]))
    patched = patch_of(
        tmp_path,
        code,
        "inputs_not_normalized",
        {
            "loader": "for xb, yb in loader:",
            "forward": "model(xb)",
            "eval_forward": "model(X_test)",
        },
        rule_book,
        data=data,
    )
    assert (
        "    X_train_mean, X_train_std = X_train.mean(0), X_train.std(0)\n"
        "    X_train = (X_train - X_train_mean) / X_train_std\n"
        "    X_test = (X_test - X_train_mean) / X_train_std\n"
        "    loader = DataLoader("
    ) in patched


def test_sliced_inputs_are_standardized_before_the_training_loop(tmp_path, rule_book):
    code = """\
        pixels = torch.tensor(images * 255.0, dtype=torch.float32).unsqueeze(1)
        for epoch in range(4):
            for start in range(0, 1500, 50):
                xb = pixels[start:start + 50]
                out = net(xb)
    """
    data = DataSection(inputs=TensorSummary(shape=[50, 1, 8, 8], feature_std=[80.0]))
    patched = patch_of(
        tmp_path, code, "inputs_not_normalized", {"forward": "net(xb)"}, rule_book, data=data
    )
    assert (
        "pixels_mean, pixels_std = pixels.mean(), pixels.std()\n"
        "pixels = (pixels - pixels_mean) / pixels_std\nfor epoch in range(4):"
    ) in patched


def test_a_helper_module_is_patched_too(tmp_path, rule_book):
    files = {
        "models.py": """\
        import torch.nn as nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.layers = [nn.Linear(4, 4), nn.Linear(4, 2)]  # two layers
        """
    }
    patched = patch_of(
        tmp_path,
        "from models import Net\nnet = Net()\n",
        "unregistered_submodules",
        {},
        rule_book,
        files=files,
        model=ModelSection(unregistered=["Linear(20 params)"]),
    )
    assert (
        "# --- models.py\n" in patched
        and "nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 2)])  # two layers" in patched
    )


def test_causes_whose_fix_is_not_local_say_so(tmp_path, rule_book):
    assert (
        patch_of(tmp_path, "x = 1\n", "train_val_leakage", {}, rule_book)
        == "not a local edit: the split must be redone in the data pipeline"
    )
    assert patch_of(tmp_path, "x = 1\n", "class_imbalance", {}, rule_book) == NO_EDIT


def test_a_fix_its_replay_refuted_is_not_patched(tmp_path, rule_book):
    script = tmp_path / "train.py"
    script.write_text("x = 1\n")
    evidence = Evidence(
        script=str(script), observe=ObservedRun(run=RunInfo(scenario="observe", status="completed"))
    )
    top = CauseReport(
        id="missing_zero_grad",
        title="t",
        level="optimization",
        confidence=0.9,
        why="because",
        confirmation=Confirmation(scenario="insert_zero_grad", confirmed=False, summary="no gain"),
    )
    attempt = propose(top, evidence, rule_book, Project(script))
    assert "did not remove the failure (no gain)" in attempt.not_offered and not attempt.files


def test_crlf_line_endings_and_comments_survive(tmp_path, rule_book):
    script = tmp_path / "train.py"
    script.write_bytes(
        b"# trains\r\nfor xb, yb in loader:\r\n    loss = crit(model(xb), yb)  # the loss\r\n"
        b"    loss.backward()\r\n    opt.step()\r\n"
    )
    source = SourceFile.read(script)
    lines = {
        key: _located(source, text)
        for key, text in {"backward": "loss.backward()", "step": "opt.step()"}.items()
    }
    evidence = Evidence(
        script=str(script),
        observe=ObservedRun(
            run=RunInfo(scenario="observe", status="completed"), sources=SourcesSection(lines=lines)
        ),
    )
    top = CauseReport(
        id="missing_zero_grad", title="t", level="optimization", confidence=0.9, why="because"
    )
    attempt = propose(top, evidence, rule_book, Project(script))
    assert attempt.files[0].text == (
        "# trains\r\nfor xb, yb in loader:\r\n    loss = crit(model(xb), yb)  # the loss\r\n"
        "    opt.zero_grad()\r\n    loss.backward()\r\n    opt.step()\r\n"
    )
    assert attempt.diff.startswith("--- a/train.py\n+++ b/train.py\n@@ ")


def test_a_normalize_transform_applied_twice_is_dropped(tmp_path, rule_book):
    code = """\
        transform = transforms.Compose([
            transforms.ToTensor(),
            transforms.Normalize(mean=[mean], std=[std]),  # again
        ])
        other = T.Compose([T.ToTensor(), T.Normalize((0.5,), (0.5,)), T.Normalize((0.1,), (0.3,))])
    """
    data = DataSection(normalize_calls=[NormalizeCall(0.0, 1.0, [0.5], [0.5])])
    patched = patch_of(tmp_path, code, "double_normalization", {}, rule_book, data=data)
    assert patched == dedent(code).replace(
        "    transforms.Normalize(mean=[mean], std=[std]),  # again\n", ""
    ).replace(", T.Normalize((0.1,), (0.3,))", "")
