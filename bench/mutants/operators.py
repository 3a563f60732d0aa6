"""What an operator is: a named source edit that plants one cause from causes.yaml, or a benign
edit that real scripts make and that must leave a healthy script healthy.

The mutation operators live in the `ops_*` modules, grouped as the issue groups them, the benign
ones in `benign_*`, and `catalog` lists them. Each is data plus one small function that edits a
module's AST in place and returns whether it found anything to change.
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
HEALTHY = frozenset({"same", "better"})  # a benign variant still learns within its host's margins


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


@dataclass(frozen=True)
class Benign:
    """A benign operator: an edit after which a healthy script is still healthy.

    Kill-checked the other way round: a variant is kept only when its plain run shows one of
    `kills` (by default: as good as its host within the margins, or better); otherwise the edit
    broke something and the variant is dropped, never labelled healthy. It plants no cause."""

    name: str
    describe: str
    mutate: Callable[[ast.Module], bool]
    needs: frozenset[str] = field(default_factory=frozenset)
    touches_loss: bool = False
    kills: frozenset[str] = HEALTHY
    cause: str = ""
    also_ok: tuple[str, ...] = ()
