"""The import directions of the architecture, checked on the source (an import-linter of our own):

- what runs inside the user's interpreter (``diagnose.child``, ``diagnose.probes``) imports only the
  standard library, torch, ``diagnose.defaults``, the package root and each other: never pydantic,
  networkx, jinja2, rich, matplotlib or yaml, and nothing of our own side;
- probes never import rules or reports;
- rules read Evidence only (and the Diagnosis they produce);
- reports read Diagnosis and Evidence only (plus the file helpers they write and poll with).

Every ``import`` counts, also one inside a function: a lazy import still runs in that process.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {
    "diagnose": ROOT / "diagnose",
    "diagnose.probes": ROOT / "probes",
    "diagnose.rules": ROOT / "rules",
    "diagnose.reports": ROOT / "reports",
}
HEAVY = ("pydantic", "networkx", "jinja2", "rich", "matplotlib", "yaml")
IN_USER_PROCESS = ("diagnose.child", "diagnose.probes")
EVIDENCE = ("diagnose.evidence", "diagnose.diagnosis", "diagnose.probes.sections")
RULES = {
    IN_USER_PROCESS: ("diagnose.child", "diagnose.probes", "diagnose.defaults", "diagnose"),
    ("diagnose.rules",): ("diagnose.rules", *EVIDENCE, "diagnose.defaults", "diagnose"),
    ("diagnose.reports",): (
        "diagnose.reports",
        *EVIDENCE,
        "diagnose.errors",
        "diagnose.child.atomic",
        "diagnose.child.heartbeat",
        "diagnose.driver.progress",
        "diagnose",
    ),
}


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGE_DIRS.items():
        for path in folder.rglob("*.py"):
            parts = path.relative_to(folder).with_suffix("").parts
            found[".".join((package, *parts)).removesuffix(".__init__")] = path
    return found


def imports(source: str, module: str) -> set[str]:
    """Every module the source imports, absolute (relative imports resolved against ``module``),
    except under ``if TYPE_CHECKING:`` (those never run)."""
    names: set[str] = set()
    stack = [ast.parse(source)]
    while stack:
        node = stack.pop()
        if (
            isinstance(node, ast.If)
            and isinstance(node.test, ast.Name)
            and node.test.id == "TYPE_CHECKING"
        ):
            stack.extend(node.orelse)
            continue
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(module.split(".")[: -node.level] + ([base] if base else []))
            names.update(
                f"{base}.{alias.name}" if base.startswith("diagnose") else base
                for alias in node.names
            )
        stack.extend(ast.iter_child_nodes(node))
    return names


def violations(module: str, source: str) -> list[str]:
    """What ``module`` imports that its layer may not."""
    found = []
    for layers, allowed in RULES.items():
        if not module.startswith(layers):
            continue
        for name in sorted(imports(source, module)):
            if name.split(".")[0] in HEAVY and layers == IN_USER_PROCESS:
                found.append(f"{module} imports {name}: too heavy for the user's process")
            if name.split(".")[0] == "diagnose" and not _allowed(name, allowed):
                found.append(f"{module} imports {name}, outside {', '.join(allowed)}")
    return found


def _allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """Inside an allowed package or module, or the package root's version string."""
    return name in {"diagnose", "diagnose.__version__"} or any(
        name == prefix or name.startswith(prefix + ".")
        for prefix in allowed
        if prefix != "diagnose"
    )


@pytest.mark.parametrize("module", sorted(modules()))
def test_module_imports_respect_the_layers(module):
    assert violations(module, modules()[module].read_text()) == []


@pytest.mark.parametrize(
    "module, source, complaint",
    [
        ("diagnose.child.tap", "import pydantic\n", "too heavy for the user's process"),
        ("diagnose.child.tap", "def f():\n    from diagnose.rules import judge\n", "outside"),
        (
            "diagnose.child.tap",
            "if TYPE_CHECKING:\n    import pydantic\nelse:\n    import rich\n",
            "rich",
        ),
        ("diagnose.probes.loss", "from diagnose.reports.view import build_view\n", "outside"),
        ("diagnose.rules.judge", "from diagnose.driver.agent import Agent\n", "outside"),
        (
            "diagnose.reports.view",
            "from ..rules.engine import score_causes\n",
            "diagnose.rules.engine",
        ),
        ("diagnose.rules.engine", "from diagnose import facade\n", "diagnose.facade"),
    ],
)
def test_a_forbidden_import_is_caught(module, source, complaint):
    found = violations(module, source)
    assert found and complaint in found[0]


def test_every_subpackage_says_what_runs_there():
    for folder in (ROOT / "diagnose").iterdir():
        if (folder / "__init__.py").is_file():
            assert (
                len(ast.get_docstring(ast.parse((folder / "__init__.py").read_text())) or "") > 100
            ), folder.name
