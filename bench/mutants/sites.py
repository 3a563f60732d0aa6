"""Where the common PyTorch idioms sit in a module: the places operators mutate.

A mutation tool finds its targets by pattern, not by knowing the script: the optimizer
constructor, the loop's `backward()`/`step()`, the loss and its call sites, the train/validation
split, the normalisation of the inputs, the model's output, the constants behind a
hyper-parameter. Each finder returns nothing when the idiom is absent, so an operator that does
not fit a host produces no mutant.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable

from .astkit import (
    call_statements,
    calls,
    dotted,
    enclosing_function,
    is_number,
    leaf,
    locate,
    source,
)

OPTIMIZERS = ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "NAdam", "RAdam")
CLASSIFICATION_LOSSES = (
    "CrossEntropyLoss",
    "BCEWithLogitsLoss",
    "cross_entropy",
    "binary_cross_entropy_with_logits",
)
REGRESSION_LOSSES = (
    "MSELoss",
    "L1Loss",
    "HuberLoss",
    "SmoothL1Loss",
    "mse_loss",
    "l1_loss",
    "huber_loss",
    "smooth_l1_loss",
)
VAL_WORDS = {"va", "val", "valid", "validation", "test", "te", "dev", "eval", "holdout"}


def optimizer_calls(tree: ast.AST) -> list[ast.Call]:
    """`torch.optim.X(params, ...)` / `optim.X(...)` constructor calls."""
    return [
        c
        for c in calls(tree, *OPTIMIZERS)
        if "optim" in dotted(c.func) or isinstance(c.func, ast.Name)
    ]


def model_of(call: ast.Call) -> ast.expr | None:
    """The module whose parameters an optimizer (or an HF `Trainer(model=...)`) receives."""
    model = next((k.value for k in call.keywords if k.arg == "model"), None)
    if model is not None:
        return model
    for node in ast.walk(call.args[0]) if call.args else ():
        if (
            isinstance(node, ast.Call)
            and leaf(node.func) == "parameters"
            and isinstance(node.func, ast.Attribute)
        ):
            return node.func.value
    return None


def model_sites(tree: ast.AST) -> list[tuple[ast.Call, ast.expr]]:
    """(call, model) for calls that hand a model to its trainer: before them, the model exists."""
    found = [(c, model_of(c)) for c in optimizer_calls(tree) + calls(tree, "Trainer")]
    return [(c, m) for c, m in found if m is not None]


def backward_statements(tree: ast.AST) -> list[ast.Expr]:
    return call_statements(tree, "backward")


def step_after_backward(tree: ast.AST) -> ast.Expr | None:
    """The optimizer's `step()`: the first argument-less `.step()` statement after a `backward()`,
    in its block or nested there (`if (i + 1) % accumulate == 0: optimizer.step()`)."""
    for back in backward_statements(tree):
        block, index = locate(tree, back)
        for stmt in block[index + 1 :]:
            for node in ast.walk(stmt):
                call = node.value if isinstance(node, ast.Expr) else None
                if isinstance(call, ast.Call) and leaf(call.func) == "step" and not call.args:
                    return node
    return None


def loss_ctor_calls(tree: ast.AST, names: tuple[str, ...]) -> list[ast.Call]:
    """Loss-module constructors such as `nn.CrossEntropyLoss()` (capitalised names only)."""
    return calls(tree, *[n for n in names if n[0].isupper()])


def functional_loss_calls(tree: ast.AST, names: tuple[str, ...]) -> list[ast.Call]:
    """`F.cross_entropy(...)`-style calls (lower-case names only)."""
    return calls(tree, *[n for n in names if n[0].islower()])


def loss_uses(tree: ast.AST, names: tuple[str, ...]) -> list[ast.Call]:
    """Every call that computes one of these losses: functional calls and calls of a loss object."""
    holders = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and loss_ctor_calls(node.value, names):
            holders.update(ast.unparse(t) for t in node.targets)
    objects = [
        n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func) in holders
    ]
    return sorted(
        objects + functional_loss_calls(tree, names), key=lambda n: (n.lineno, n.col_offset)
    )


def split_site(tree: ast.AST) -> tuple[ast.Assign, list[str]] | None:
    """`X_tr, X_va, y_tr, y_va = train_test_split(...)`: the statement and its four names."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and leaf(node.value.func) == "train_test_split"
            and isinstance(node.targets[0], ast.Tuple)
            and len(node.targets[0].elts) == 4
            and all(isinstance(e, ast.Name) for e in node.targets[0].elts)
        ):
            return node, [e.id for e in node.targets[0].elts]
    return None


def shuffling_loaders(tree: ast.AST) -> list[ast.Call]:
    """Calls that build a training loader: `shuffle=True` anywhere but in the train/test split."""
    return [
        c
        for c in ast.walk(tree)
        if isinstance(c, ast.Call)
        and leaf(c.func) != "train_test_split"
        and any(
            k.arg == "shuffle" and isinstance(k.value, ast.Constant) and k.value.value is True
            for k in c.keywords
        )
    ]


def words(name: str) -> list[str]:
    return [w for w in re.split(r"_|(?<=[a-z])(?=[A-Z])", name.lower()) if w]


def is_target_name(name: str) -> bool:
    """Names that hold labels or regression targets, which input normalisation must not touch."""
    lowered = name.lower()
    return lowered.startswith("y") or any(
        w in ("label", "labels", "target", "targets") for w in words(name)
    )


def is_val_name(name: str) -> bool:
    lowered = name.lower()
    return bool(set(words(name)) & VAL_WORDS) or bool(
        re.fullmatch(r"x(te|va|val|test|valid)", lowered)
    )


def names_in(node: ast.AST) -> list[str]:
    return [n.id for n in ast.walk(node) if isinstance(n, ast.Name)] + [
        n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)
    ]


def hyper_constants(tree: ast.AST, wanted: Callable[[str], bool]) -> list[ast.Constant]:
    """Numeric constants that set a hyper-parameter whose name satisfies `wanted(name)`.

    Covers the usual homes of a setting: a keyword argument (`lr=1e-3`), a parameter default,
    an assignment or dataclass field (`lr: float = 1e-3`, `self.lr = ...`), an argparse default
    (`add_argument("--lr", default=...)`) and a config dict entry (`{"lr": ...}`)."""
    found: list[ast.AST] = []
    for node in ast.walk(tree):
        found += _bound_constants(node, wanted)
    unique = {id(n): n for n in found if is_number(n)}
    return sorted(unique.values(), key=lambda n: (n.lineno, n.col_offset))


def _bound_constants(node: ast.AST, wanted: Callable[[str], bool]) -> list[ast.AST]:
    if isinstance(node, ast.Call) and leaf(node.func) == "add_argument" and node.args:
        option = node.args[0]
        if isinstance(option, ast.Constant) and isinstance(option.value, str):
            dest = option.value.lstrip("-").replace("-", "_")
            return [k.value for k in node.keywords if k.arg == "default" and wanted(dest)]
        return []
    if isinstance(node, ast.Call):
        return [k.value for k in node.keywords if k.arg and wanted(k.arg)]
    if isinstance(node, ast.arguments):
        positional = node.posonlyargs + node.args
        pairs = list(zip(positional[len(positional) - len(node.defaults) :], node.defaults))
        pairs += [(a, d) for a, d in zip(node.kwonlyargs, node.kw_defaults) if d is not None]
        return [d for a, d in pairs if wanted(a.arg)]
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return (
            [node.value] if node.value is not None and any(wanted(leaf(t)) for t in targets) else []
        )
    if isinstance(node, ast.Dict):
        return [
            v
            for k, v in zip(node.keys, node.values)
            if isinstance(k, ast.Constant) and isinstance(k.value, str) and wanted(k.value)
        ]
    return []


def forward_returns(tree: ast.AST) -> list[tuple[ast.FunctionDef, ast.Return]]:
    """(forward, its return) of the model classes whose forward ends in `return self.<layer>(...)`.

    Classes that another class of the module builds (blocks, sub-networks) are left out: the
    output that matters is the outermost model's."""
    classes = [n for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    built = {leaf(c.func) for k in classes for c in ast.walk(k) if isinstance(c, ast.Call)}
    found = []
    for cls in classes:
        forward = next(
            (f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == "forward"), None
        )
        last = forward.body[-1] if forward else None
        if (
            cls.name not in built
            and isinstance(last, ast.Return)
            and isinstance(last.value, ast.Call)
            and dotted(last.value.func).startswith("self.")
            and last.value.args
        ):
            found.append((forward, last))
    return found


def sequential_models(tree: ast.AST) -> list[ast.Call]:
    """`Sequential(...)` calls listing their layers, whose last layer is a `Linear`."""
    return [
        c
        for c in calls(tree, "Sequential")
        if c.args and isinstance(c.args[-1], ast.Call) and leaf(c.args[-1].func) == "Linear"
    ]


def assigned_optimizer(tree: ast.AST, step: ast.Expr | None) -> ast.Assign | None:
    """`opt = torch.optim.X(...)` whose `opt.step()` is `step`, in a scope that also sees `opt`:
    the same function, or an attribute of `self` (an optimizer built in `__init__`, stepped in a
    method)."""
    if step is None:
        return None
    receiver = source(step.value.func.value)
    for call in optimizer_calls(tree):
        owner = next(
            (n for n in ast.walk(tree) if isinstance(n, ast.Assign) and n.value is call), None
        )
        if owner is None or len(owner.targets) != 1 or source(owner.targets[0]) != receiver:
            continue
        if receiver.startswith("self.") or enclosing_function(tree, owner) is enclosing_function(
            tree, step
        ):
            return owner
    return None
