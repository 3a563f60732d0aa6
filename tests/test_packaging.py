"""The wheel users install holds every sub-package and every data file, and its commands run.

pyproject.toml lists the packages by hand (setuptools' discovery cannot follow the package-dir
mapping of probes/, rules/ and reports/ into ``diagnose.*``): a sub-package left off that list
installs nowhere and the command dies on import, which an editable install never shows.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from diagnose import __version__

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {
    "diagnose": ROOT / "diagnose",
    "diagnose.probes": ROOT / "probes",
    "diagnose.rules": ROOT / "rules",
    "diagnose.reports": ROOT / "reports",
}


def source_packages() -> set[str]:
    """Every folder of the source tree that holds an ``__init__.py``, by its installed name."""
    found = set()
    for package, folder in PACKAGE_DIRS.items():
        for init in folder.rglob("__init__.py"):
            parts = init.parent.relative_to(folder).parts
            found.add(".".join((package, *parts)))
    return found


def source_copy(target: Path) -> Path:
    """The project's files (tracked, or new and not ignored) copied to ``target``: a wheel built
    in the checkout itself would pick up whatever an earlier build left in build/."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, target / name)
    return target


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "-q",
            "--no-deps",
            "-w",
            str(out),
            str(source_copy(source)),
        ],
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("nn_diagnose-*.whl")
    return zipfile.ZipFile(built)


def test_the_wheel_holds_every_package_of_the_source_tree(wheel: zipfile.ZipFile) -> None:
    packaged = {
        name.removesuffix("/__init__.py").replace("/", ".")
        for name in wheel.namelist()
        if name.endswith("/__init__.py")
    }
    assert packaged == source_packages()


def test_the_wheel_holds_the_rule_files_and_report_templates(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    rule_files = {f"diagnose/rules/{path.name}" for path in (ROOT / "rules").glob("*.yaml")}
    templates = {
        f"diagnose/reports/templates/{path.name}" for path in (ROOT / "reports/templates").iterdir()
    }
    assert rule_files and rule_files <= names
    assert templates and templates <= names
    assert "diagnose/py.typed" in names


def test_version_and_module_entry_point(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / "diagnose"  # the console script beside this interpreter
    for command in ([str(script), "--version"], [sys.executable, "-m", "diagnose", "--version"]):
        done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
        assert done.stdout.strip() == f"nn-diagnose {__version__}"
