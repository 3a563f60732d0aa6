"""Loss and output operators: a loss that does not fit the model's output or the task."""

from __future__ import annotations

import ast

from . import sites
from .astkit import calls, expr, import_name, leaf, rename_callee, set_keyword
from .operators import LOUD, Operator

SOFTMAXED = ("CrossEntropyLoss", "cross_entropy")
SIGMOIDED = ("BCEWithLogitsLoss", "binary_cross_entropy_with_logits")
# The loss a confused author reaches for: class indices into a regression loss, a
# single-column regression output into cross-entropy, a single binary logit into softmax CE.
SWAP = {
    "CrossEntropyLoss": "MSELoss",
    "cross_entropy": "mse_loss",
    "BCEWithLogitsLoss": "CrossEntropyLoss",
    "binary_cross_entropy_with_logits": "cross_entropy",
    **{
        name: "CrossEntropyLoss" if name[0].isupper() else "cross_entropy"
        for name in sites.REGRESSION_LOSSES
    },
}
REDUCIBLE = sites.CLASSIFICATION_LOSSES + sites.REGRESSION_LOSSES


def squash_logits(tree: ast.Module) -> bool:
    """Feed softmax/sigmoid probabilities to a loss that expects raw logits."""
    torch = import_name(tree, "torch")
    softmaxed = [u for u in sites.loss_uses(tree, SOFTMAXED) if u.args]
    sigmoided = [u for u in sites.loss_uses(tree, SIGMOIDED) if u.args]
    for use in softmaxed:
        use.args[0] = expr(f"{torch}.softmax({ast.unparse(use.args[0])}, dim=-1)")
    for use in sigmoided:
        use.args[0] = expr(f"{torch}.sigmoid({ast.unparse(use.args[0])})")
    return bool(softmaxed or sigmoided)


def swap_loss(tree: ast.Module) -> bool:
    """Replace the loss with one unfit for the task (keeping only its inputs and reduction)."""
    found = calls(tree, *SWAP)
    for call in found:
        rename_callee(call, SWAP[leaf(call.func)])
        call.keywords = [k for k in call.keywords if k.arg == "reduction"]
        if leaf(call.func)[0].isupper():
            call.args = []
    return bool(found)


def sum_reduction(tree: ast.Module) -> bool:
    """`reduction="sum"` on the training loss."""
    found = sites.loss_ctor_calls(tree, REDUCIBLE) + sites.functional_loss_calls(tree, REDUCIBLE)
    for call in found:
        set_keyword(call, "reduction", ast.Constant("sum"))
    return bool(found)


def nll_on_logits(tree: ast.Module) -> bool:
    """Cross-entropy replaced by NLL on the same raw scores (the log-softmax is missing)."""
    found = calls(tree, "CrossEntropyLoss", "cross_entropy")
    for call in found:
        rename_callee(call, "NLLLoss" if leaf(call.func) == "CrossEntropyLoss" else "nll_loss")
        call.keywords = [
            k for k in call.keywords if k.arg in ("reduction", "weight", "ignore_index")
        ]
    return bool(found)


def squash_regression_output(tree: ast.Module) -> bool:
    """A sigmoid on the output of a regression model whose targets are standardised."""
    torch = import_name(tree, "torch")
    returns = sites.forward_returns(tree)
    for _, ret in returns:
        ret.value = expr(f"{torch}.sigmoid({ast.unparse(ret.value)})")
    models = sites.sequential_models(tree)
    for call in models:
        call.args.append(expr(f"{torch}.nn.Sigmoid()"))
    return bool(returns or models)


CLASSIFY = frozenset({"classification"})
REGRESS = frozenset({"regression"})

OPERATORS = [
    Operator(
        "softmax_before_loss",
        "softmax_before_cross_entropy",
        "softmax/sigmoid on the logits before a loss that expects logits",
        squash_logits,
        touches_loss=True,
    ),
    Operator(
        "wrong_loss",
        "wrong_loss_for_task",
        "a loss for the other task (MSE on class indices, cross-entropy on a regression output)",
        swap_loss,
        also_ok=("target_shape_broadcast", "label_dtype"),
        kills=LOUD,
        touches_loss=True,
    ),
    Operator(
        "sum_reduction",
        "loss_reduction_sum",
        "reduction='sum' instead of the mean",
        sum_reduction,
        also_ok=("lr_too_high",),
        touches_loss=True,
    ),
    Operator(
        "nll_without_log_softmax",
        "missing_log_softmax",
        "NLL loss on raw logits",
        nll_on_logits,
        also_ok=("unstable_log",),
        needs=CLASSIFY,
        touches_loss=True,
    ),
    Operator(
        "sigmoid_output",
        "output_activation_mismatch",
        "sigmoid on a regression output whose targets can be negative",
        squash_regression_output,
        also_ok=("wrong_loss_for_task",),
        needs=REGRESS,
    ),
]
