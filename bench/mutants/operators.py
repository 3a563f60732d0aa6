"""What a mutation operator is: a named source edit that plants one cause from causes.yaml.

The operators themselves live in the `ops_*` modules, grouped as the issue groups them, and
`catalog.ALL` lists them. Each is data plus one small function that edits a module's AST in place
and returns whether it found anything to change.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field

# What a plain run of a mutant may show for it to count as killed (see kill.py). Most faults are
# silent: a crash means the edit broke the script in a way the label does not describe.
SILENT = frozenset({"nan", "worse"})
LOUD = SILENT | {"crash"}
INFLATED = frozenset({"better"})  # leakage makes validation look better than it is


@dataclass(frozen=True)
class Operator:
    """A mutation operator.

    `mutate` edits one module in place and returns True when it changed something. `needs` are
    host tags the operator requires (a task, an input kind). `kills` are the plain-run outcomes
    that show the planted fault. `touches_loss` marks operators that change how the loss is
    computed: a validation loss the script reports through that same loss is then no evidence."""

    name: str
    cause: str
    describe: str
    mutate: Callable[[ast.Module], bool]
    also_ok: tuple[str, ...] = ()
    needs: frozenset[str] = field(default_factory=frozenset)
    kills: frozenset[str] = SILENT
    touches_loss: bool = False
