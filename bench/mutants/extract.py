"""Extract the public hosts from fetched git directories at bench time.

Their code is never committed: `public.py` holds recipes that name a file in a repository and the
edits that make it a bench host (each a regular expression that must match a given number of
times, so a changed upstream file fails loudly instead of silently building something else).
This module reads the file with `git show`, turns a notebook into a script, applies the edits,
removes plotting, seeds an unseeded script, points it at an offline data module from
`public_data/` and appends the call that prints its metrics. The result is written to
`OUT/public/<host>/` and described by a `Host` like the bench's own.

The metrics code lives in `host_metrics.py` beside the script, one of the host's fixed files: the
operators never edit it, so a mutation of the loss cannot change how the host is measured.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import subprocess
from pathlib import Path

from .astkit import blocks, import_name, remove
from .hosts import Host
from .public import Edit, Recipe

DATA = Path(__file__).parent / "public_data"
PLOTTING = ("matplotlib", "mpl_toolkits")
METRICS = "host_metrics"
METRICS_MODULE = '''"""The metrics line of this bench host, printed at the end of its script.

`report(globals())` runs the code below in the script's own namespace. The operators never edit
this file, so no edit to the script's loss or evaluation changes how the host is measured.
"""

CODE = {code!r}


def report(namespace):
    exec(CODE, namespace)
'''


class ExtractError(Exception):
    """A recipe that no longer fits the fetched file, or a repository that is not there."""


def git_dir(src: Path, repo: str) -> Path:
    """The git directory of `owner/name` under `src`, in any of the layouts a fetch or a clone
    leaves: `owner+name/repo` (the fetch tool's), `owner+name`, `owner/name` or `name`."""
    owner, name = repo.split("/")
    for candidate in (
        src / f"{owner}+{name}" / "repo",
        src / f"{owner}+{name}",
        src / repo,
        src / name,
    ):
        if candidate.is_dir():
            found = subprocess.run(
                ["git", "-C", str(candidate), "rev-parse", "--absolute-git-dir"],
                capture_output=True,
                text=True,
            )
            if found.returncode == 0:
                return Path(found.stdout.strip())
    raise ExtractError(f"no git directory of {repo} under {src} (see bench/README.md)")


def read(git: Path, recipe: Recipe) -> str:
    """The file at the recipe's commit (HEAD when that commit is not in the fetched history)."""
    for rev in (recipe.commit, "HEAD"):
        shown = subprocess.run(
            ["git", f"--git-dir={git}", "show", f"{rev}:{recipe.path}"],
            capture_output=True,
            text=True,
        )
        if shown.returncode == 0:
            return shown.stdout
    raise ExtractError(f"{recipe.repo} has no file {recipe.path}")


def notebook_script(text: str, drop: tuple[str, ...]) -> str:
    """The code cells of a notebook as one script, without shell and magic lines, without the
    cells that only evaluate expressions (a notebook displays them; a script would not), and
    without the cells matching a `drop` pattern."""
    cells = []
    for cell in json.loads(text)["cells"]:
        if cell["cell_type"] != "code":
            continue
        source = "".join(cell["source"])
        source = "\n".join(
            line for line in source.splitlines() if not line.lstrip().startswith(("!", "%"))
        )
        if any(re.search(pattern, source, re.M) for pattern in drop):
            continue
        if all(isinstance(stmt, ast.Expr) for stmt in ast.parse(source).body):
            continue
        cells.append(source)
    return "\n\n".join(cells) + "\n"


def apply_edits(name: str, text: str, edits: tuple[Edit, ...]) -> str:
    for edit in edits:
        found = len(re.findall(edit.pattern, text, re.M))
        if found != edit.count:
            raise ExtractError(
                f"{name}: edit {edit.pattern!r} matched {found} times, expected {edit.count}"
            )
        text = re.sub(edit.pattern, edit.replacement, text, flags=re.M)
    return text


def strip_plotting(tree: ast.Module) -> None:
    """Delete every statement that draws: those using matplotlib, and, transitively, those using
    what such a statement assigned (`fig, ax = plt.subplots()` makes `ax.plot(...)` drawing too)."""
    tainted = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            module = node.module if isinstance(node, ast.ImportFrom) else None
            for alias in node.names:
                if (module or alias.name).split(".")[0] in PLOTTING:
                    tainted.add(alias.asname or alias.name.split(".")[0])
    changed = True
    while changed:
        changed = False
        for block in list(blocks(tree)):
            for stmt in list(block):
                if _draws(stmt, tainted):
                    tainted |= _assigned(stmt)
                    remove(tree, stmt)
                    changed = True


def _draws(stmt: ast.stmt, tainted: set[str]) -> bool:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return any((a.asname or a.name.split(".")[0]) in tainted for a in stmt.names)
    if isinstance(stmt, (ast.Expr, ast.Assign, ast.AugAssign, ast.AnnAssign)):
        return _uses(stmt, tainted)
    header = {
        ast.For: lambda s: s.iter,
        ast.If: lambda s: s.test,
        ast.While: lambda s: s.test,
    }.get(type(stmt))
    if header is not None:
        return _uses(header(stmt), tainted)
    if isinstance(stmt, ast.With):
        return any(_uses(item.context_expr, tainted) for item in stmt.items)
    return False


def _uses(node: ast.AST, tainted: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in tainted for n in ast.walk(node))


def _assigned(stmt: ast.stmt) -> set[str]:
    targets = getattr(stmt, "targets", None) or [getattr(stmt, "target", None)]
    return {n.id for t in targets if t is not None for n in ast.walk(t) if isinstance(n, ast.Name)}


def seed(tree: ast.Module) -> None:
    """Seed torch (and numpy and random when the script imports them) right after the imports,
    so that plain runs repeat: the kill check compares a mutant's run with its host's."""
    modules = {
        alias.name: alias.asname or alias.name
        for stmt in tree.body
        if isinstance(stmt, ast.Import)
        for alias in stmt.names
    }
    lines = [f"{import_name(tree, 'torch')}.manual_seed(0)"]
    if "numpy" in modules:
        lines.append(f"{modules['numpy']}.random.seed(0)")
    if "random" in modules:
        lines.append(f"{modules['random']}.seed(0)")
    tree.body[_after_imports(tree) : _after_imports(tree)] = ast.parse("\n".join(lines)).body


def _after_imports(tree: ast.Module) -> int:
    """The index just past the module's leading imports and docstrings."""
    at = 0
    for index, stmt in enumerate(tree.body):
        if isinstance(stmt, (ast.Import, ast.ImportFrom)):
            at = index + 1
        elif not (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            break
    return at


def build_source(recipe: Recipe, text: str) -> str:
    """The host script a recipe makes of the upstream file's text."""
    if recipe.path.endswith(".ipynb"):
        text = notebook_script(text, recipe.drop_cells)
    text = apply_edits(recipe.name, text, recipe.edits)
    tree = ast.parse(text)
    strip_plotting(tree)
    if recipe.seed:
        seed(tree)
    if recipe.data:
        tree.body.insert(_after_imports(tree), ast.Import(names=[ast.alias(name=recipe.data)]))
    tree.body.insert(_after_imports(tree), ast.Import(names=[ast.alias(name=METRICS)]))
    tree.body += ast.parse(f"{METRICS}.report(globals())").body
    return ast.unparse(ast.fix_missing_locations(tree))


def extract(recipe: Recipe, src: Path, out: Path) -> Host:
    """Write one public host into `out/<name>/` and describe it."""
    source = build_source(recipe, read(git_dir(src, recipe.repo), recipe))
    folder = out / recipe.name
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / "train.py").write_text(source + "\n")
    code = "import json\nimport torch\n" + recipe.metrics
    ast.parse(code)
    (folder / f"{METRICS}.py").write_text(METRICS_MODULE.format(code=code))
    fixed = (f"{METRICS}.py",)
    if recipe.data:
        shutil.copy(DATA / f"{recipe.data}.py", folder / f"{recipe.data}.py")
        fixed += (f"{recipe.data}.py",)
    return Host(
        recipe.name,
        recipe.style,
        recipe.task,
        recipe.inputs,
        origin="public",
        folder=folder,
        fixed=fixed,
        source=f"{recipe.repo}: {recipe.path}",
    )
