"""A script behaves under diagnose exactly as it does plainly (issue 27): the same printed lines,
the same files written (to the scratch folder, with the same contents), the same exit code, the
user's folder untouched, and no process of the run left behind.

Each idiom script runs once plainly and once observed per module (``transparency.both``); each
test compares one idiom. The replays must not be told apart either: one idiom goes through a
whole diagnosis (``transparency.diagnose_cli``). Tests that passed before issue 27 say why in
their docstring.
"""

from __future__ import annotations

import re

import pytest
from transparency import Run, both, copy_idiom, diagnose_cli, report, same_content

from diagnose.rules.judge import judge


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[Run, Run]:
    return both("models", tmp_path_factory.mktemp("models"))


@pytest.fixture(scope="module")
def process(tmp_path_factory) -> tuple[Run, Run]:
    return both("process", tmp_path_factory.mktemp("process"), "--flag", "a b")


@pytest.fixture(scope="module")
def workers(tmp_path_factory) -> tuple[Run, Run]:
    return both("workers", tmp_path_factory.mktemp("workers"))


@pytest.fixture(scope="module")
def numbers(tmp_path_factory) -> tuple[Run, Run]:
    return both("numbers", tmp_path_factory.mktemp("numbers"))


@pytest.fixture(scope="module")
def raises(tmp_path_factory) -> tuple[Run, Run]:
    return both("raises", tmp_path_factory.mktemp("raises"))


def same_lines(runs: tuple[Run, Run], tag: str) -> list[str]:
    plain, observed = runs
    assert plain.lines(tag), f"the plain run printed no [{tag}] line:\n{plain.stderr[-2000:]}"
    assert observed.lines(tag) == plain.lines(tag)
    return plain.lines(tag)


def same_file(runs: tuple[Run, Run], path: str) -> None:
    plain, observed = runs
    assert path in plain.written, f"the plain run did not write {path}"
    assert path in observed.written, f"the observed run did not write {path}"
    assert same_content(plain.written[path], observed.written[path])


# -- the model and its optimizer ------------------------------------------------------------------
def test_whole_model_checkpoint_saves_and_loads(models):
    """``torch.save(model, f)``: failed with a PicklingError naming diagnose's UserCode, reached
    through the tap's forward hooks on the model."""
    assert same_lines(models, "save_model") == ["[save_model] ('Net', True)"]
    same_file(models, "model.pt")


def test_whole_optimizer_checkpoint_saves_and_loads(models):
    """``torch.save(optimizer, f)``. Already passed: the tap puts nothing on optimizers (its step
    hooks are global, its ``__init__`` wrapper is on the class)."""
    same_lines(models, "save_optimizer")
    same_file(models, "optimizer.pt")


def test_deepcopy_of_model_and_optimizer(models):
    """``copy.deepcopy`` of the model copied the tap's hooks (bound to the tap) along with it."""
    assert same_lines(models, "deepcopy") == ["[deepcopy] ('Net', 'SGD', True)"]


def test_pickled_state_dict(models):
    """``pickle.dump(model.state_dict())``. Already passed: a state dict holds tensors only."""
    assert same_lines(models, "pickle_state") == ["[pickle_state] (True, True)"]
    same_file(models, "state.pkl")


def test_torchscript_trace_script_save_and_load(models):
    """``torch.jit.trace`` ran the tap's probes on traced tensors (their shapes were tensors, and
    the evidence could not be read back); ``torch.jit.script`` tried to compile the tap's hooks,
    and compiled the tap's wrapper of ``F.cross_entropy`` in a scripted function;
    ``torch.jit.save`` wrote through torch's C++ writer, outside the sandbox."""
    assert same_lines(models, "torchscript") == ["[torchscript] [True, True, True, True]"]
    same_file(models, "scripted.pt")


def test_functional_call(models):
    """``torch.func.functional_call``. Already passed: it swaps parameters in place and calls
    the module, whose hooks are torch's global ones."""
    assert same_lines(models, "functional_call") == ["[functional_call] True"]


def test_the_scripts_own_hooks_fire_in_order(models):
    """Forward pre-hooks, forward hooks (the model's and a layer's) and full backward hooks, in
    order. Already passed: the tap's hooks replace no output in the observed run."""
    (line,) = same_lines(models, "hooks")
    assert line.count("pre head forward backward |") == 6


def test_type_checks_on_optimizer_scheduler_and_forward(models):
    """``type()``/``isinstance`` on the optimizer, the scheduler and ``model.forward``. Already
    passed: the tap wraps methods on torch's classes, never the objects' types."""
    assert same_lines(models, "types") == ["[types] (True, True, True, True, 'method', True)"]


def test_signatures_of_forward_and_wrapped_methods(models):
    """``inspect.signature`` of forward, and of the methods the tap wraps (``zero_grad``,
    ``train``, the scheduler's ``step``). Already passed: the wrappers carry ``__wrapped__``."""
    same_lines(models, "signature")


def test_parameter_and_state_dict_names_in_order(models):
    """``named_parameters()`` and ``state_dict()`` keys. Already passed: the tap registers no
    parameter or buffer."""
    same_lines(models, "names")


def test_the_model_holds_no_hooks_of_ours(models):
    """``module._forward_hooks``: the tap's hooks sat on the trained model once it was known."""
    same_lines(models, "module_hooks")


def test_models_folder_untouched_and_nothing_left_running(models):
    """``torch.jit.save`` wrote ``scripted.pt`` into the user's folder, and the observed run
    could not be read back (traced tensors in its evidence)."""
    plain, observed = models
    assert observed.folder_changes == []
    assert sorted(observed.written) == sorted(plain.written)
    assert observed.survivors == [] and plain.survivors == []
    assert observed.evidence.observe.run.status == "completed"


# -- the script as a program ----------------------------------------------------------------------
def test_file_name_and_arguments(process):
    """``__file__``, ``__name__``, ``sys.argv``. Already passed: the child runs the script as
    ``__main__`` with its own argv, as ``coverage run`` does."""
    assert same_lines(process, "file")[0] == "[file] train.py True __main__"


def test_sibling_module_import(process):
    """``import helpers`` from the script's folder. Already passed: its folder is first on the
    path."""
    assert same_lines(process, "sibling") == ["[sibling] helpers helpers.py"]


def test_warnings_filters_and_shown_warnings(process):
    """A filter that hides a warning, ``catch_warnings(record=True)``, warnings shown once per
    line on standard error, and one that torch raises about the line that called it
    (``F.mse_loss``'s ``stacklevel=2``): that one was attributed to the tap's loss wrapper."""
    plain, observed = process
    same_lines(process, "warnings")
    shown = [line for line in plain.errors() if "UserWarning" in line]
    assert len(shown) == 3 and not any("hidden" in line for line in shown)
    assert "<folder>/train.py:" in shown[0] and "target size" in shown[0]
    assert [line for line in observed.errors() if "UserWarning" in line] == shown


def test_logging_basic_config(process):
    """``logging.basicConfig`` configures the root logger (diagnose adds no handler first), and
    the record reaches standard error. Already passed."""
    plain, observed = process
    assert same_lines(process, "logging") == ["[logging] 1 20"]
    assert "INFO:train:second step" in plain.errors()
    assert "INFO:train:second step" in observed.errors()


def test_tqdm_bar(process):
    """A tqdm bar over the training loop draws the same frames. Already passed."""
    plain, observed = process
    frames = re.findall(r"training: \d+/\d+ \|[# \d]*\|", plain.stderr)
    assert len(frames) >= 13 and frames[-1] == "training: 12/12 |##########|"
    assert re.findall(r"training: \d+/\d+ \|[# \d]*\|", observed.stderr) == frames


def test_sigint_handler(process):
    """The script's own SIGINT handler receives the signal. Already passed: the child only
    handles SIGTERM."""
    assert same_lines(process, "sigint") == ["[sigint] True"]


def test_chdir_inside_the_script(process):
    """``os.chdir`` into a folder the script just created, then a relative write: the folder
    existed only in the scratch folder, so ``chdir`` failed with FileNotFoundError."""
    assert same_lines(process, "chdir") == ["[chdir] outputs True"]
    same_file(process, "outputs/log.txt")


def test_atexit_handlers_run(process):
    """``atexit`` handlers run when the script ends (and their writes are sandboxed): the child
    ended with ``os._exit`` without running them."""
    assert same_lines(process, "atexit") == ["[atexit] handler ran"]
    same_file(process, "atexit.txt")


def test_exit_code(process):
    """``sys.exit(3)`` is the run's exit code. Already passed: ``SystemExit`` is recorded."""
    plain, observed = process
    assert plain.exit_code == observed.exit_code == 3
    assert observed.evidence.observe.run.status == "exited"


def test_process_folder_untouched_and_nothing_left_running(process):
    """The same files written (``outputs/log.txt`` after the chdir, ``atexit.txt`` at exit were
    missing), none in the user's folder, no process left."""
    plain, observed = process
    assert observed.folder_changes == []
    assert sorted(observed.written) == sorted(plain.written)
    assert observed.survivors == [] and plain.survivors == []


def test_an_uncaught_exception_of_the_scripts_own(raises, rule_book):
    """A ``ValueError`` subclass of the script's own, raised from a helper after five steps: the
    same steps, the same traceback on standard error (its last line names the script's type),
    and the report's crash names that type: the script's crash, not a fault of the tool's.
    Already passed: the child prints the traceback from the script's frame on, without the
    frames of the tool's wrappers, and records the exception the script raised."""
    plain, observed = raises
    assert same_lines(raises, "steps") == [f"[steps] {step}" for step in range(5)]
    assert plain.exit_code == 1
    shown = plain.errors()
    assert shown[-1] == "DataExhausted: no batch left at step 5"
    traceback = shown[shown.index("Traceback (most recent call last):") :]
    assert observed.errors()[-len(traceback) :] == traceback
    assert observed.evidence.observe.run.status == "crashed"
    assert observed.evidence.observe.messages.exception.type == "DataExhausted"
    diagnosis = judge(observed.evidence, rule_book)
    assert diagnosis.verdict == "crashed"
    assert "DataExhausted: no batch left at step 5" in diagnosis.summary
    assert observed.folder_changes == [] and observed.survivors == plain.survivors == []


# -- DataLoader workers that import the script again ----------------------------------------------
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_workers_reimport_the_main_module(workers, method):
    """Workers started by spawn or forkserver import the script again as ``__mp_main__`` and load
    the same batches; what they write goes to the scratch folder like the main process's writes
    (they started without the sandbox and wrote into the user's folder)."""
    plain, observed = workers
    same_lines(workers, method)
    same_file(workers, f"worker-{method}-0.txt")
    assert plain.written[f"worker-{method}-0.txt"] == f"__mp_main__ {method}\n".encode()
    assert observed.folder_changes == []


def test_workers_write_the_same_files_and_leave_nothing_running(workers):
    """The samples the spawn and forkserver workers wrote landed in the user's folder."""
    plain, observed = workers
    samples = sorted(path for path in plain.written if path.startswith("samples/"))
    assert len(samples) == 24
    for path in samples:
        same_file(workers, path)
    assert observed.folder_changes == []
    assert observed.survivors == [] and plain.survivors == []


# -- the replays ---------------------------------------------------------------------------------
def test_replays_run_the_whole_model_checkpoint_idiom(tmp_path):
    """The observed run is not the only one the script must not tell apart: a full diagnosis, with
    replays, of the whole-model checkpoint idiom (``torch.save(model)`` every epoch, the best kept
    by ``copy.deepcopy``) whose gradients are never cleared. The replays run the saves and copies
    too (into the scratch folder), none ends as a fault of the tool's, and the replay with the
    fix confirms the cause. Already passed: the tap attaches nothing to the model in a replay
    either (the fix is applied through the same global hooks)."""
    outcome, out = diagnose_cli(copy_idiom("checkpoint_no_zero_grad", tmp_path))
    assert outcome["code"] == 1, outcome["stderr"]
    result, evidence = report(out)
    assert evidence["scenarios"], "no replay ran"
    for name, replay in evidence["scenarios"].items():
        run = replay["run"]
        assert run["status"] in ("completed", "budget"), (name, run["status"], run["reason"])
        assert run["disabled"] == [] and not any("own code failed" in n for n in run["notes"])
        assert any(path.endswith("/model-1.pt") for path in run["redirected"]), name
    top = result["causes"][0]
    assert top["id"] == "missing_zero_grad" and top["confirmed"]
    assert top["confirmation"]["scenario"] in evidence["scenarios"]
    assert outcome["folder_unchanged"] and outcome["survivors"] == []


# -- the same numbers -----------------------------------------------------------------------------
def test_first_fifty_losses_are_bit_identical(numbers):
    """A seeded run with dropout, batch norm and a shuffled DataLoader: the observed run's losses
    equal the plain run's bit for bit (no epoch was compressed in this run). Already passed: no
    probe draws from the script's random streams or touches its batches."""
    observed = numbers[1]
    (losses,) = same_lines(numbers, "losses")
    assert len(losses.split()) == 51
    assert not any("compressed" in note for note in observed.evidence.observe.run.notes)
    same_lines(numbers, "epoch")


def test_random_streams_continue_where_the_script_left_them(numbers):
    """After training, the next draw of torch's, numpy's and Python's generators is the same.
    Already passed (see above); the tool's own forward passes now run under ``probes.unseen``."""
    same_lines(numbers, "streams")
