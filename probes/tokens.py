"""Integer targets read against a model's integer inputs: the same tokens (a copy), or the
tokens one position on (next-token prediction).

Both the data probe (is this a language model, whose class balance is the text's token
frequencies?) and the fit probe's task model (next-token prediction, or targets a model can copy?)
ask this. A sequence may run along any axis of the input (batch first, or time first as in
``[length, batch]`` data), and the targets may cover every position or all but one at an end
(``trg[1:]`` after a decoder's start token, ``x[:, 1:]`` beside ``logits[:, :-1]``). Targets are
read in the input's own element order, the order in which a slice of it is flattened.
"""

from __future__ import annotations

import torch

TOKEN_MATCH = 0.9  # share of positions where the targets equal the inputs, for "they are"


def token_shares(
    target: torch.Tensor, x: torch.Tensor, ignore_index: int = -100
) -> tuple[float | None, float | None]:
    """The shares of target positions equal to the input at the same position and at the next
    one, for the sequence axis and end under which the targets match best (None, None: the
    targets do not line up with this input). Positions the loss ignores are left out."""
    if target.is_floating_point() or x.is_floating_point() or not x.dim():
        return None, None
    found: list[tuple[float | None, float | None]] = []
    for dim, length in enumerate(x.shape):
        if length < 2:
            continue
        head, tail = x.narrow(dim, 0, length - 1), x.narrow(dim, 1, length - 1)
        if target.numel() == x.numel():
            y = target.reshape(x.shape)
            pairs = ((y, x), (y.narrow(dim, 0, length - 1), tail))
        elif target.numel() == head.numel():
            y = target.reshape(head.shape)
            pairs = ((y, head), (y, tail))
        else:
            continue
        copies, following = (_share(a, b, ignore_index) for a, b in pairs)
        found.append((copies, following))
    return best_shares(found)


def best_shares(
    found: list[tuple[float | None, float | None]],
) -> tuple[float | None, float | None]:
    """Of several readings of the targets, the one under which they match the most positions."""
    found = [shares for shares in found if shares != (None, None)]
    if not found:
        return None, None
    return max(found, key=lambda shares: max(share or 0.0 for share in shares))


def _share(target: torch.Tensor, given: torch.Tensor, ignore_index: int) -> float | None:
    kept = (target >= 0) & (target != ignore_index)
    if not kept.any():
        return None
    return round(float((target[kept] == given[kept]).float().mean()), 4)
