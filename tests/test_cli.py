"""The command-line contract: outputs, exit codes 0/1/2, one-line errors, re-rendering, safety."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SCRIPTS, TESTS

from diagnose.cli.main import main

EXAMPLES = TESTS.parent / "examples"


@pytest.fixture(scope="module")
def broken_report(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("broken")
    process = subprocess.run(
        [
            str(Path(sys.executable).parent / "diagnose"),  # the console script of this install
            str(EXAMPLES / "broken_train.py"),
            "-o",
            str(out),
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    return process, out


def test_problems_exit_1_and_write_every_file(broken_report):
    process, out = broken_report
    assert process.returncode == 1, process.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "evidence.json",
        "report.html",
        "report.json",
        "report.md",
    ]
    assert "Gradients are never cleared" in process.stdout
    assert f"{out}/report.md" in process.stdout


def test_report_json_holds_the_contract(broken_report):
    report = json.loads((broken_report[1] / "report.json").read_text())
    assert report["schema_version"] == 2 and report["healthy"] is False
    assert report["script"].endswith("broken_train.py")
    top = report["causes"][0]
    assert top["id"] == "missing_zero_grad" and 0.5 <= top["confidence"] <= 1
    assert {"confirmed", "level", "evidence", "fixes"} <= set(top)
    assert top["evidence"][0]["detail"] and top["fixes"][0]["text"]
    assert report["scenarios"][0]["name"] == "observe"
    assert any(
        s["id"] == "grads_not_cleared" and s["status"] == "fired" for s in report["symptoms"]
    )


def test_report_subcommand_reproduces_the_report_from_evidence(broken_report, tmp_path):
    out = broken_report[1]
    assert main(["report", str(out / "evidence.json"), "-o", str(tmp_path), "-q"]) == 1
    for name in ("report.json", "report.md", "report.html"):
        assert (tmp_path / name).read_text() == (out / name).read_text(), name


def test_healthy_script_exits_0(tmp_path, capsys):
    assert (
        main(
            [
                str(EXAMPLES / "fixed_train.py"),
                "-o",
                str(tmp_path),
                "--format",
                "json",
                "--no-color",
            ]
        )
        == 0
    )
    assert "Healthy" in capsys.readouterr().out
    assert json.loads((tmp_path / "report.json").read_text())["healthy"] is True


def test_script_arguments_after_double_dash(tmp_path):
    assert (
        main(
            [
                str(SCRIPTS / "tiny_train.py"),
                "-o",
                str(tmp_path),
                "-q",
                "--format",
                "json",
                "--",
                "--steps",
                "30",
                "--tag",
                "from-cli",
            ]
        )
        == 0
    )
    evidence = json.loads((tmp_path / "evidence.json").read_text())
    assert evidence["args"] == ["--steps", "30", "--tag", "from-cli"]
    assert "done from-cli" in evidence["observe"]["run"]["stdout_tail"]


def test_folder_with_diagnose_toml(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SCRIPTS, project, ignore=shutil.ignore_patterns("__pycache__"))
    (project / "diagnose.toml").write_text('script = "tiny_train.py"\nargs = ["--steps", "20"]\n')
    assert main([str(project), "-o", str(tmp_path / "out"), "-q", "--format", "json"]) == 0
    assert json.loads((tmp_path / "out" / "evidence.json").read_text())["args"] == ["--steps", "20"]


def bad_inputs(tmp: Path) -> list[tuple[list[str], str]]:
    (tmp / "notes.txt").write_text("hello")
    (tmp / "broken.py").write_text("def f(:\n    pass\n")
    (tmp / "empty").mkdir()
    (tmp / "rules.yaml").write_text("causes:\n  - id: x\n    level: data\n")
    (tmp / "evidence.json").write_text('{"schema_version": 1, "observe": {}}')
    script = str(SCRIPTS / "tiny_train.py")
    return [
        ([str(tmp / "missing.py")], "missing.py: no such file or folder"),
        ([str(tmp / "notes.txt")], "not a Python script"),
        ([str(tmp / "broken.py")], "broken.py:1: SyntaxError"),
        ([str(tmp / "empty")], "no training script found"),
        ([script, "--format", "pdf"], "unknown format 'pdf'"),
        (
            [script, "--rules", str(tmp / "rules.yaml")],
            "rules.yaml: rule 'x' (causes[0]), field 'title': Field required",
        ),
        ([script, "--steps", "0"], "--steps must be at least 1"),
        ([script, "--bogus"], "unrecognized arguments: --bogus"),
        (["report", str(tmp / "evidence.json")], "not a valid evidence file"),
        (["report", str(tmp / "nothing.json")], "no such evidence file"),
    ]


def test_bad_input_is_one_line_and_exit_2(tmp_path, capsys):
    for argv, message in bad_inputs(tmp_path):
        assert main([*argv, "-o", str(tmp_path / "out")]) == 2, argv
        err = capsys.readouterr().err
        assert message in err, (argv, err)
        assert err.count("\n") == 1 and "Traceback" not in err, err


def test_a_file_diagnose_did_not_write_is_never_replaced(tmp_path, capsys):
    (tmp_path / "report.md").write_text("my own notes\n")
    assert (
        main([str(SCRIPTS / "tiny_train.py"), "-o", str(tmp_path), "-q", "--", "--steps", "5"]) == 2
    )
    assert "was not written by diagnose" in capsys.readouterr().err
    assert (tmp_path / "report.md").read_text() == "my own notes\n"
    assert not (tmp_path / "report.json").exists()


def test_python_dash_m_entry_point(tmp_path):
    process = subprocess.run(
        [sys.executable, "-m", "diagnose", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,  # a user's folder: the repository's root would shadow the installed package
    )
    assert process.returncode == 0 and process.stdout.startswith("nn-diagnose ")
