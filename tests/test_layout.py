"""The import directions of the architecture, checked on the source (an import-linter of our own),
for every module of the package, each in exactly one layer:

- the foundation (``defaults``, ``errors``, ``compat``, ``vocabulary``) imports nothing of ours;
- what runs inside the user's interpreter (``diagnose.child``, ``diagnose.probes``) imports only the
  standard library, torch, the foundation, the package root and each other (the probes never the
  child: the flow runs child → probes), never pydantic, networkx, jinja2, rich, matplotlib or yaml,
  and nothing of our own side;
- the evidence and diagnosis models know the probes' sections and nothing of how runs are made;
- rules read Evidence only (and the Diagnosis they produce);
- reports read Diagnosis and Evidence only (plus the file helpers they write and poll with);
- the driver runs children and asks the rules; patches, logs and batches build on the driver;
  only the facade, the notebook ``watch`` and the command line see everything.

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
FOUNDATION = ("diagnose.defaults", "diagnose.errors", "diagnose.compat", "diagnose.vocabulary")
EVIDENCE = ("diagnose.evidence", "diagnose.diagnosis", "diagnose.probes.sections")
EVERYTHING = ("diagnose",)  # the package root's prefix covers every module
# Each layer (modules by prefix; the longest prefix decides) and what it may import of ours.
RULES: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(FOUNDATION, ()),
    "diagnose.probes": ("diagnose.probes", "diagnose.defaults", "diagnose.vocabulary"),
    "diagnose.child": (
        "diagnose.child",
        "diagnose.probes",
        "diagnose.defaults",
        "diagnose.vocabulary",
    ),
    "diagnose.evidence": EVIDENCE,
    "diagnose.diagnosis": EVIDENCE,
    "diagnose.rules": ("diagnose.rules", *EVIDENCE, "diagnose.defaults", "diagnose.vocabulary"),
    "diagnose.reports": (
        "diagnose.reports",
        *EVIDENCE,
        "diagnose.errors",
        "diagnose.child.atomic",
        "diagnose.child.heartbeat",
        "diagnose.driver.progress",
    ),
    "diagnose.notebooks": ("diagnose.notebooks", *EVIDENCE, *FOUNDATION),
    "diagnose.driver": (
        "diagnose.driver",
        "diagnose.child",
        "diagnose.rules",
        "diagnose.notebooks",
        *EVIDENCE,
        *FOUNDATION,
    ),
    "diagnose.patch": (
        "diagnose.patch",
        "diagnose.driver",
        "diagnose.child",
        "diagnose.rules",
        "diagnose.reports",
        "diagnose.notebooks",
        *EVIDENCE,
        *FOUNDATION,
    ),
    "diagnose.batch": (
        "diagnose.batch",
        "diagnose.driver",
        "diagnose.child",
        "diagnose.reports",
        "diagnose.notebooks",
        *EVIDENCE,
        *FOUNDATION,
    ),
    "diagnose.logs": (
        "diagnose.logs",
        "diagnose.batch",
        "diagnose.rules",
        "diagnose.reports",
        *EVIDENCE,
        *FOUNDATION,
    ),
    "diagnose.facade": ("diagnose.facade", *EVERYTHING),
    "diagnose.watching": EVERYTHING,
    "diagnose.cli": EVERYTHING,
    "diagnose.__main__": ("diagnose.cli",),
    "diagnose.__init__": ("diagnose.facade", "diagnose.watching"),
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


def layer(module: str) -> str | None:
    """The layer ``module`` belongs to: the longest prefix of RULES it starts with."""
    name = "diagnose.__init__" if module == "diagnose" else module
    found = [p for p in RULES if name == p or name.startswith(p + ".")]
    return max(found, key=len) if found else None


def violations(module: str, source: str) -> list[str]:
    """What ``module`` imports that its layer may not."""
    home = layer(module)
    if home is None:
        return [f"{module} belongs to no layer of tests/test_layout.py"]
    allowed = RULES[home]
    found = []
    for name in sorted(imports(source, module)):
        if name.split(".")[0] in HEAVY and home in IN_USER_PROCESS:
            found.append(f"{module} imports {name}: too heavy for the user's process")
        if name.split(".")[0] == "diagnose" and not _allowed(name, allowed):
            found.append(f"{module} imports {name}, outside {', '.join(allowed) or 'nothing'}")
    return found


def _allowed(name: str, allowed: tuple[str, ...]) -> bool:
    """Inside an allowed package or module, or the package root's version string."""
    return name in {"diagnose", "diagnose.__version__"} or any(
        name == prefix or name.startswith(prefix + ".") for prefix in allowed
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
        ("diagnose.probes.schedule", "from diagnose.child.state import TrainingState\n", "outside"),
        ("diagnose.evidence", "from diagnose.driver.runner import ChildResult\n", "outside"),
        ("diagnose.driver.scenarios", "from diagnose.patch import make\n", "outside"),
        ("diagnose.defaults", "from diagnose.errors import UsageError\n", "outside nothing"),
        ("diagnose.brand_new", "import os\n", "belongs to no layer"),
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
