"""The shared vocabulary names real things: torch's functional losses, our stand-in optimizer."""

from __future__ import annotations

import torch.nn.functional as F

from diagnose import vocabulary
from diagnose.probes.standin import HandUpdate


def test_every_loss_the_tap_watches_is_a_torch_functional_loss() -> None:
    assert all(callable(getattr(F, name, None)) for name in vocabulary.LOSS_FUNCTIONS)


def test_every_family_is_among_the_watched_losses() -> None:
    watched = set(vocabulary.LOSS_FUNCTIONS)
    families = [
        vocabulary.REGRESSION_LOSSES,
        vocabulary.CLASSIFICATION_LOSSES,
        vocabulary.LOGIT_LOSSES,
        vocabulary.ELEMENTWISE_LOSSES,
    ]
    assert all(family <= watched for family in families)


def test_the_stand_in_optimizer_is_named_as_the_rules_read_it() -> None:
    assert HandUpdate.__name__ == vocabulary.HAND_UPDATE
