"""``diagnose NOTEBOOK.ipynb``: a notebook's code cells run in order as one program, with IPython's
magics, findings at cell and line, and ``--patch`` giving a patched notebook that runs healthy.

The notebooks are written with nbformat in a temporary folder; each is diagnosed once per module
(real training: a small MLP on scikit-learn's digits)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from conftest import one_thread_per_child

nbformat = pytest.importorskip("nbformat", reason="the notebooks extra (nbformat) is not installed")
pytest.importorskip("IPython", reason="the notebooks extra (ipython) is not installed")

import diagnose  # noqa: E402
from diagnose.batch.executor import BatchOptions, LocalExecutor, run_batch  # noqa: E402
from diagnose.batch.runlist import collect  # noqa: E402
from diagnose.driver.interpreter import module_command  # noqa: E402
from diagnose.errors import UsageError  # noqa: E402
from diagnose.facade import rerender  # noqa: E402
from diagnose.notebooks.program import read_program, require_extra  # noqa: E402
from diagnose.patch.notebook import cell_source  # noqa: E402
from diagnose.reports.terminal import plain_summary  # noqa: E402

SETUP = """\
%matplotlib inline
import torch
from torch import nn
from sklearn.datasets import load_digits
import matplotlib.pyplot as plt"""

pytestmark = pytest.mark.heavy
DATA = """\
digits = load_digits()
X = torch.tensor(digits.data, dtype=torch.float32) / 16
y = torch.tensor(digits.target)
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loss_fn = nn.CrossEntropyLoss()"""
TRAIN = """\
%%time
losses = []
for epoch in range(8):  # 176 steps: the run ends within the budget
    for i in range(0, 1400, 64):
        xb, yb = X[i:i+64], y[i:i+64]
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
    losses.append(loss.item())"""
PLOT = """\
plt.plot(losses)
plt.show()
print("final loss", losses[-1])"""
BACKWARD = (5, 7)  # the training cell is the notebook's 5th cell; loss.backward() is its 7th line


def write_notebook(path: Path, cells: list) -> Path:
    notebook = nbformat.v4.new_notebook(
        cells=cells,
        metadata={"kernelspec": {"name": "python3", "language": "python", "display_name": "Py 3"}},
    )
    nbformat.write(notebook, path)
    return path


def broken_cells() -> list:
    new_code, new_md = nbformat.v4.new_code_cell, nbformat.v4.new_markdown_cell
    train = new_code(TRAIN, execution_count=3)
    train.outputs = [nbformat.v4.new_output("stream", name="stdout", text="Wall time: 2 s\n")]
    return [
        new_md("# Digits, a small MLP"),
        new_code("!pip install torchmetrics\n!touch shell-command-ran", execution_count=1),
        new_code(SETUP, execution_count=2),
        new_code(DATA),
        train,
        new_md("The curve"),
        new_code(PLOT),
    ]


@pytest.fixture(scope="module")
def broken(tmp_path_factory):
    """The broken notebook diagnosed with --patch, once: (folder, notebook, out, diagnosis)."""
    folder = tmp_path_factory.mktemp("notebook")
    notebook = write_notebook(folder / "digits.ipynb", broken_cells())
    out = folder / "out"
    with one_thread_per_child():
        diagnosis = diagnose.run(notebook, out=out, patch=True, timeout=90)
    return folder, notebook, out, diagnosis


@pytest.fixture(scope="module")
def patched(broken):
    """The patched notebook, diagnosed as it was written."""
    _, _, out, _ = broken
    with one_thread_per_child():
        return diagnose.run(out / "patched" / "digits.ipynb", out=out / "again", timeout=90)


def test_missing_zero_grad_is_found_confirmed_at_the_training_cell(broken):
    _, notebook, _, diagnosis = broken
    top = diagnosis.top
    assert top is not None and top.id == "missing_zero_grad" and top.confirmed
    assert (top.where.cell, top.where.line) == BACKWARD
    assert top.where.code == "loss.backward()" and Path(top.where.file) == notebook


def test_reports_show_the_cell_and_line(broken):
    _, _, out, diagnosis = broken
    assert "digits.ipynb, cell 5, line 7" in plain_summary(diagnosis, [])
    assert "**Where:** `digits.ipynb, cell 5, line 7`" in (out / "report.md").read_text()
    html = (out / "report.html").read_text()
    assert (
        'class="cell-line marked"><span class="cell-number">7</span>        loss.backward()' in html
    )
    assert '<span class="cell-number">1</span>%%time' in html  # the cell as written
    where = json.loads((out / "report.json").read_text())["causes"][0]["where"]
    assert (where["cell"], where["line"]) == BACKWARD


def test_rerendered_evidence_keeps_the_cells(broken, tmp_path):
    _, _, out, _ = broken
    again = rerender(out / "evidence.json", out=tmp_path / "re")
    assert (again.top.where.cell, again.top.where.line) == BACKWARD


def test_magics_run_and_shell_commands_are_noted_not_run(broken):
    folder, _, out, diagnosis = broken
    evidence = json.loads((out / "evidence.json").read_text())
    printed = evidence["observe"]["run"]["stdout_tail"]
    assert "Wall time:" in printed  # %%time ran its body inline and printed its times
    assert "final loss" in printed and "<Figure size" in printed  # %matplotlib inline: shown
    assert evidence["observe"]["run"]["status"] == "completed"
    notes = " ".join(diagnosis.notes)
    assert "Cell 2, line 1: `!pip install torchmetrics` was not run" in notes
    assert "Cell 2, line 2: `!touch shell-command-ran` was not run" in notes
    # in the terminal too, and as inline code in the reports (report.md escaped the backticks)
    printed = plain_summary(diagnosis, []).splitlines()
    assert any(
        line.startswith("Note: Cell 2, line 2: `!touch shell-command-ran`") for line in printed
    )
    assert (
        "- Cell 2, line 1: `!pip install torchmetrics` was not run"
        in (out / "report.md").read_text()
    )
    assert (
        "Cell 2, line 1: <code>!pip install torchmetrics</code> was not run"
        in (out / "report.html").read_text()
    )
    assert not (folder / "shell-command-ran").exists()
    assert not list(folder.glob("profile_*")) and not (folder / "ipython").exists()


def test_patch_edits_the_training_cell_only(broken):
    _, notebook, out, diagnosis = broken
    assert diagnosis.patch is not None and diagnosis.patch.offered
    diff = (out / "fix.patch").read_text()
    assert "+++ b/digits.py" in diff and "+        optimizer.zero_grad()" in diff
    # the header says what the diff is against: not nbconvert's export, the program that ran
    header = diff.split("--- a/digits.py")[0]
    assert "patched/digits.ipynb" in header and "# %% cell N" in header
    assert "nbconvert" not in header
    assert "The patched notebook is `patched/digits.ipynb`" in (out / "report.md").read_text()
    before = nbformat.read(notebook, as_version=4)
    after = nbformat.read(out / "patched" / "digits.ipynb", as_version=4)
    nbformat.validate(after)
    assert len(after.cells) == len(before.cells)
    for index, (old, new) in enumerate(zip(before.cells, after.cells), 1):
        if index == BACKWARD[0]:
            continue
        assert json.dumps(new, sort_keys=True) == json.dumps(old, sort_keys=True)
    cell = after.cells[BACKWARD[0] - 1]
    assert cell.outputs == [] and cell.execution_count is None
    expected = TRAIN.replace(
        "        loss.backward()", "        optimizer.zero_grad()\n        loss.backward()"
    )
    assert cell.source == expected
    # the file is what nbformat writes, cell by cell: equal cells are equal bytes
    assert nbformat.writes(before) + "\n" == notebook.read_text()
    assert nbformat.writes(after) + "\n" == (out / "patched" / "digits.ipynb").read_text()


def test_the_patched_notebook_is_healthy(patched):
    assert patched.healthy and patched.verdict == "healthy"


def test_notebooks_in_a_folder_are_batch_runs(broken, tmp_path):
    _, _, out, _ = broken
    folder = tmp_path / "runs"
    folder.mkdir()
    (folder / "fixed.ipynb").write_bytes((out / "patched" / "digits.ipynb").read_bytes())
    write_notebook(folder / "notes.ipynb", [nbformat.v4.new_code_cell("print('no torch here')")])
    runs = collect([folder])
    assert [run.name for run in runs] == ["fixed"]
    options = BatchOptions(out=tmp_path / "batch", jobs=1, diagnose_args=["--quick"])
    with one_thread_per_child():
        rows = run_batch(runs, options, LocalExecutor(1))
    assert rows[0].status == "done" and rows[0].healthy, rows[0]


def test_a_cell_with_a_syntax_error_is_refused_naming_it(tmp_path):
    notebook = write_notebook(
        tmp_path / "bad.ipynb",
        [nbformat.v4.new_code_cell("import torch"), nbformat.v4.new_code_cell("x = (1,\ny = 2")],
    )
    done = subprocess.run(
        module_command("diagnose", str(notebook), "-o", str(tmp_path / "out")),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.startswith("diagnose: error: bad.ipynb, cell 2, line ")
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_notebook_that_is_not_one_is_refused(tmp_path):
    fake = tmp_path / "fake.ipynb"
    fake.write_text("not json")
    with pytest.raises(UsageError, match="not a readable notebook"):
        read_program(fake)
    other = write_notebook(tmp_path / "r.ipynb", [nbformat.v4.new_code_cell("x <- 1")])
    data = nbformat.read(other, as_version=4)
    data.metadata = {"kernelspec": {"name": "ir", "language": "R", "display_name": "R"}}
    nbformat.write(data, other)
    with pytest.raises(UsageError, match="not a Python notebook"):
        read_program(other)


def test_without_the_extra_the_error_names_it(monkeypatch, tmp_path):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "IPython" else real(name, *a)
    )
    with pytest.raises(UsageError, match=r'needs IPython: pip install "nn-diagnose\[notebooks\]"'):
        require_extra(tmp_path / "x.ipynb")


def test_translation_keeps_one_program_line_per_cell_line(tmp_path):
    cells = [nbformat.v4.new_code_cell(SETUP), nbformat.v4.new_code_cell(TRAIN)]
    program = read_program(write_notebook(tmp_path / "t.ipynb", cells))
    lines = program.code.splitlines()
    assert lines[0] == "# %% cell 1"
    assert lines[1] == "get_ipython().run_line_magic('matplotlib', 'inline')"
    timed = program.cells[1]
    assert lines[timed.first_line - 1] == "get_ipython().start_cell_timer()"
    loss_line = timed.first_line + 5  # the program line of the cell's 6th line
    assert lines[loss_line - 1] == "        loss = loss_fn(model(xb), yb)"
    assert program.map.locate(str(program.path), loss_line)[1] == 6


def test_an_edit_on_a_magic_line_is_refused():
    source = "%time x = f()\ny = 2\n"
    old = ["get_ipython().run_line_magic('time', 'x = f()')\n", "y = 2\n"]
    with pytest.raises(Exception, match="IPython line of cell 3"):
        cell_source(3, source, old, ["x = f()\n", "y = 2\n"])
    assert (
        cell_source(3, source, old, [old[0], "z = 1\n", "y = 2\n"])
        == "%time x = f()\nz = 1\ny = 2\n"
    )


def test_a_crash_in_a_cell_is_shown_at_that_cell(tmp_path):
    cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(DATA),
        nbformat.v4.new_code_cell(
            "for i in range(0, 640, 64):\n"
            "    loss = loss_fn(model(X[i:i+64]), y[i:i+64])\n"
            "    optimizer.zero_grad()\n"
            "    loss.backward()\n"
            "    optimizer.step()\n"
            "raise ValueError('the data ran out')"
        ),
    ]
    notebook = write_notebook(tmp_path / "crash.ipynb", cells)
    with one_thread_per_child():
        diagnosis = diagnose.run(notebook, out=tmp_path / "out", quick=True)
    assert diagnosis.verdict == "crashed"
    assert (
        "Raised at <code>crash.ipynb, cell 3, line 6</code>"
        in (tmp_path / "out" / "report.html").read_text()
    )


def test_the_step_budget_stops_a_loop_that_ipython_runs_itself(tmp_path):
    """A training loop inside ``%%capture`` runs through IPython's ``run_cell``, which swallows
    errors as a kernel does; the budget's stop must still end the program there."""
    loop = TRAIN.replace("%%time", "%%capture captured").replace("range(8)", "range(50)")
    cells = [
        nbformat.v4.new_code_cell(SETUP),
        nbformat.v4.new_code_cell(DATA),
        nbformat.v4.new_code_cell(loop),
        nbformat.v4.new_code_cell("print('the next cell ran')"),
    ]
    notebook = write_notebook(tmp_path / "captured.ipynb", cells)
    with one_thread_per_child():
        diagnose.run(notebook, out=tmp_path / "out", quick=True, steps=30)
    evidence = json.loads((tmp_path / "out" / "evidence.json").read_text())
    assert evidence["observe"]["run"]["status"] == "budget"
    assert evidence["observe"]["run"]["steps"] == 30
    assert "the next cell ran" not in evidence["observe"]["run"]["stdout_tail"]
