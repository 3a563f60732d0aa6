"""Names both sides of the tool use for the same things, defined once: the loss functions the tap
watches, by family. The child's probes and replays and our rules import them from here (stdlib
only, like ``diagnose.defaults``), so a family cannot mean one thing in a probe and another in a
rule.
"""

from __future__ import annotations

# Losses of real-valued targets, compared element by element with the output.
REGRESSION_LOSSES = frozenset({"mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss"})
# Binary classification: one probability (or logit) per target element.
BINARY_LOSSES = frozenset({"binary_cross_entropy", "binary_cross_entropy_with_logits"})
# Classification over one score per class, the classes along dimension 1 of their input.
CLASS_SCORE_LOSSES = frozenset({"cross_entropy", "nll_loss"})
CLASSIFICATION_LOSSES = CLASS_SCORE_LOSSES | BINARY_LOSSES
# Losses that apply their own log-softmax or log-sigmoid: they expect logits, not probabilities.
LOGIT_LOSSES = frozenset({"cross_entropy", "binary_cross_entropy_with_logits"})
# Losses computed element by element between output and target (the two shapes must agree).
ELEMENTWISE_LOSSES = REGRESSION_LOSSES | BINARY_LOSSES | {"poisson_nll_loss"}
# Every functional loss the tap watches (loss modules call these too: ``F.cross_entropy``).
LOSS_FUNCTIONS = (
    *sorted(CLASSIFICATION_LOSSES),
    *sorted(REGRESSION_LOSSES),
    "kl_div",
    "poisson_nll_loss",
    "multilabel_soft_margin_loss",
    "soft_margin_loss",
)
# The class name evidence gives the stand-in optimizer of a loop that updates by hand
# (``diagnose.probes.standin.HandUpdate``).
HAND_UPDATE = "HandUpdate"
