"""Edits of how the data reaches the model: shuffling the training loader, standardizing inputs.

Both start where the run saw the training data: the loop over the loader (followed back to the
``DataLoader(...)`` that built it, and from there to the tensors of its ``TensorDataset``), or,
without a loader, the training forward's input (followed back from the batch to the tensor it is
sliced from).
"""

from __future__ import annotations

import ast

from diagnose.patch.context import Change, Context
from diagnose.patch.flow import argument, assignments, call_name, origins
from diagnose.patch.hyper import add_keyword
from diagnose.patch.source import NoEdit, SourceFile

WRAPPERS = {"enumerate", "iter", "tqdm", "islice"}
SPLITS = {"random_split", "Subset"}
CONVERTERS = {
    "float",
    "double",
    "to",
    "cpu",
    "cuda",
    "contiguous",
    "unsqueeze",
    "squeeze",
    "view",
    "reshape",
    "flatten",
    "astype",
}


def shuffle(ctx: Context) -> list[Change]:
    """``shuffle=True`` in the training ``DataLoader``."""
    source, loader = training_loader(ctx)
    if (
        argument(loader, None, "sampler") is not None
        or argument(loader, None, "batch_sampler") is not None
    ):
        raise NoEdit("the training loader draws through a sampler; shuffle it there")
    value = argument(loader, 2, "shuffle")
    if value is None:
        return [add_keyword(source, loader, "shuffle", "True")]
    changes = [
        Change(
            o.source,
            o.source.replace(o.node, "True"),
            f"shuffle {o.source.segment(o.node)} → True at line {o.node.lineno}",
        )
        for o in origins(source, value)
        if isinstance(o.node, ast.Constant) and o.node.value is False
    ]
    if not changes:
        raise NoEdit(
            f"the loader's shuffle={source.segment(value)} is not a False written in the script"
        )
    return changes


def training_loader(ctx: Context) -> tuple[SourceFile, ast.Call]:
    """The ``DataLoader(...)`` call behind the loop over the training batches."""
    source, node = ctx.node("loader")
    iterable = node.iter if isinstance(node, (ast.For, ast.AsyncFor)) else node
    while call_name(iterable) in WRAPPERS and iterable.args:  # type: ignore[attr-defined]
        iterable = iterable.args[0]  # type: ignore[attr-defined]
    found = [
        (o.source, o.node) for o in origins(source, iterable) if call_name(o.node) == "DataLoader"
    ]
    if len(found) != 1:
        raise NoEdit("the training loader is not built by one DataLoader(...) call in the script")
    return found[0]  # type: ignore[return-value]


def drop_normalize(ctx: Context) -> list[Change]:
    """Inputs normalized twice, once by a torchvision ``Normalize``: that transform goes from each
    pipeline (the last one, when a pipeline has two)."""
    if not (ctx.run.data and ctx.run.data.normalize_calls):
        raise NoEdit(
            "the run saw no torchvision Normalize; the second normalization is in the "
            "script's own code"
        )
    changes = []
    for source in ctx.project.modules():
        for compose in (n for n in ast.walk(source.tree) if call_name(n) == "Compose"):
            steps = (
                compose.args[0].elts
                if compose.args and isinstance(compose.args[0], (ast.List, ast.Tuple))
                else []
            )  # type: ignore[attr-defined]
            normalizing = [step for step in steps if call_name(step) == "Normalize"]
            if normalizing:
                changes.append(
                    Change(
                        source,
                        source.remove_item(steps, normalizing[-1]),
                        f"`{source.segment(normalizing[-1])}` removed from line "
                        f"{normalizing[-1].lineno}",
                    )
                )
    if not changes:
        raise NoEdit("no Normalize in a transforms.Compose pipeline of the script")
    return changes


def standardize_inputs(ctx: Context) -> list[Change]:
    """Standardize the training inputs where they enter their dataset or loop (with the training
    data's statistics, per feature for tabular inputs as the replay did), and the validation
    inputs with the same statistics."""
    source, root, before = _training_inputs(ctx)
    inputs = ctx.run.data.inputs if ctx.run.data else None
    per_feature = bool(
        inputs and len(inputs.shape) == 2 and inputs.feature_std and min(inputs.feature_std) > 0
    )
    axis = "0" if per_feature else ""
    mean, std = _free_name(source, f"{root}_mean"), _free_name(source, f"{root}_std")
    lines = [
        f"{mean}, {std} = {root}.mean({axis}), {root}.std({axis})",
        f"{root} = ({root} - {mean}) / {std}",
    ]
    lines += [
        f"{name} = ({name} - {mean}) / {std}"
        for name in _validation_inputs(ctx, source, before, root)
    ]
    edits = [source.insert_before(before, line) for line in lines]
    return [
        Change(source, edit, f"`{line}` added before line {before.lineno}")
        for edit, line in zip(edits, lines)
    ]


def _training_inputs(ctx: Context) -> tuple[SourceFile, str, ast.stmt]:
    """The name holding the training inputs, and the statement before which to standardize them."""
    try:
        source, loader = training_loader(ctx)
    except NoEdit:
        return _sliced_inputs(ctx)
    dataset = argument(loader, 0, "dataset")
    for _ in range(4):
        found = (
            [(o.source, o.node) for o in origins(source, dataset) if isinstance(o.node, ast.Call)]
            if dataset
            else []
        )
        if len(found) != 1:
            break
        source, built = found[0]
        if call_name(built) == "TensorDataset" and built.args:  # type: ignore[attr-defined]
            name = root_name(built.args[0])  # type: ignore[attr-defined]
            if name is not None:
                return source, name, source.statement(built)
            break
        dataset = built.args[0] if call_name(built) in SPLITS and built.args else None  # type: ignore[attr-defined]
    raise NoEdit(
        "the training loader's dataset is not a TensorDataset of tensors named in the script"
    )


def _sliced_inputs(ctx: Context) -> tuple[SourceFile, str, ast.stmt]:
    """Without a loader: the tensor the training batches are sliced from, standardized before the
    outermost loop that trains on it."""
    source, call = ctx.call("forward")
    name = root_name(argument(call, 0, "input") or call)
    scope = source.scope(call)
    loops = [
        a
        for a in source.ancestors(call)
        if isinstance(a, (ast.For, ast.While)) and source.scope(a) is scope
    ]
    if name is None or not loops:
        raise NoEdit("the training inputs are not sliced from a tensor named in the script")
    for _ in range(4):
        inside = [
            (s, v)
            for s, v in assignments(scope, name)
            if loops[-1].lineno <= s.lineno <= loops[-1].end_lineno
        ]
        if not inside:
            break
        name = root_name(inside[-1][1])
        if name is None:
            raise NoEdit("the training batches are not sliced from one tensor")
    if not any(s.lineno < loops[-1].lineno for s, _ in assignments(scope, name)):
        raise NoEdit(
            f"the training inputs ({name}) are not assigned in the function that trains on them"
        )
    return source, name, loops[-1]


def _validation_inputs(ctx: Context, source: SourceFile, before: ast.stmt, root: str) -> list[str]:
    """Names of other tensors the model is validated on, assigned before the insertion point in
    the same function: they get the training statistics too."""
    try:
        eval_source, call = ctx.call("eval_forward")
    except NoEdit:
        return []
    name = root_name(argument(call, 0, "input") or call)
    scope = source.scope(before)
    if (
        eval_source is not source
        or name in {None, root}
        or not any(s.lineno < before.lineno for s, _ in assignments(scope, name))
    ):  # type: ignore[arg-type]
        return []
    return [name]  # type: ignore[list-item]


def root_name(node: ast.AST) -> str | None:
    """The variable a batch or converted tensor comes from: ``X`` in ``X[idx]``,
    ``torch.tensor(X, dtype=...)``, ``X.float().unsqueeze(1)``."""
    for _ in range(8):
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Subscript):
            node = node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in CONVERTERS
        ):
            node = node.func.value
        elif isinstance(node, ast.Call) and node.args:
            node = node.args[0]
        else:
            return None
    return None


def _free_name(source: SourceFile, name: str) -> str:
    used = {n.id for n in ast.walk(source.tree) if isinstance(n, ast.Name)}
    while name in used:
        name += "_"
    return name
