"""Token targets in any layout: the probes read next-token targets whether the sequence runs along
the batch's second axis or its first (``[length, batch]`` data, as the classic word language model
and the seq2seq tutorials keep it), whether the targets cover every position or drop one at an end
(``trg[1:]`` after a decoder's start token), and they leave the positions the loss ignores
(padding) out of every share, accuracy and per-sample loss.
"""

from __future__ import annotations

import random

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from diagnose.probes.base import LossCall
from diagnose.probes.loss import predictions
from diagnose.probes.probeset import ProbeItem, evaluate, term_of
from diagnose.probes.task import describe_task
from diagnose.probes.tokens import token_shares

PAD, VOCAB = 0, 12


def stream(length: int, seed: int = 0) -> torch.Tensor:
    """Tokens 1..VOCAB-1 from a seeded generator (no padding among them)."""
    return torch.randint(1, VOCAB, (length,), generator=torch.Generator().manual_seed(seed))


def test_next_tokens_are_read_along_either_axis():
    source = stream(41 * 8).view(8, 41).t()  # [41, 8]: time first, as batchify() makes it
    time_first = token_shares(source[1:21].reshape(-1), source[0:20])
    batch_first = token_shares(source.t()[:, 1:21].reshape(-1), source.t()[:, 0:20])
    assert time_first[1] == 1.0 and time_first[0] < 0.3
    assert batch_first[1] == 1.0 and batch_first[0] < 0.3


def test_targets_that_drop_the_first_position_are_next_tokens():
    trg = stream(9 * 6, seed=1).view(9, 6)  # [length, batch], position 0 a start token
    copies, following = token_shares(trg[1:].reshape(-1), trg)
    assert following == 1.0 and copies < 0.3


def test_a_copy_is_read_as_a_copy_in_either_layout():
    x = stream(10 * 4, seed=2).view(10, 4)
    assert token_shares(x.reshape(-1), x)[0] == 1.0
    assert token_shares(x.t().reshape(-1), x.t())[0] == 1.0


def test_padding_the_loss_ignores_counts_neither_way():
    trg = stream(9 * 6, seed=3).view(9, 6)
    trg[6:, :3] = PAD  # three short sequences, padded
    given = trg.clone()
    given[given == PAD] = 7  # the input pads with another token than the targets
    targets = trg[1:].reshape(-1)
    assert token_shares(targets, given, ignore_index=PAD)[1] == 1.0
    assert token_shares(targets, given)[1] < 0.9  # the padding read as tokens: no longer a match


def test_unrelated_tokens_match_neither_way():
    copies, following = token_shares(stream(60, seed=4), stream(60, seed=5).view(10, 6))
    assert copies < 0.3 and following < 0.3


def test_an_accuracy_leaves_out_ignored_positions():
    logits = torch.zeros(6, VOCAB)
    logits[:, 3] = 1.0  # predicts token 3 everywhere
    target = torch.tensor([3, 3, 4, PAD, PAD, PAD])
    predicted, truth, accuracy = predictions("cross_entropy", logits, target, ignore_index=PAD)
    assert accuracy == pytest.approx(2 / 3)
    assert truth is not None and truth.tolist() == [3, 3, 4]
    assert predicted is not None and predicted.numel() == 3


class Decoder(nn.Module):
    """A teacher-forced GRU decoder over time-first targets: position 0 of its output is left
    empty (the start token predicts nothing), as the seq2seq tutorials do."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(VOCAB, 16)
        self.rnn = nn.GRU(16, 24)
        self.out = nn.Linear(24, VOCAB)

    def forward(self, trg: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
        length, batch = trg.shape
        outputs = torch.zeros(length, batch, VOCAB)
        token, hidden = trg[0], None
        for t in range(1, length):
            step, hidden = self.rnn(self.embed(token).unsqueeze(0), hidden)
            outputs[t] = self.out(step.squeeze(0))
            token = trg[t] if random.random() < ratio else outputs[t].argmax(1)
        return outputs


def padded_targets() -> torch.Tensor:
    trg = stream(9 * 6, seed=6).view(9, 6)
    trg[7:, :2] = PAD
    return trg


def decoder_item(model: Decoder, trg: torch.Tensor) -> tuple[ProbeItem, torch.Tensor]:
    """The probe item of one script step, ``criterion(output[1:].view(-1, V), trg[1:].view(-1))``,
    and that step's loss as the script computed it."""
    with torch.no_grad():
        output = model(trg, 0.0)
        given = output[1:].view(-1, VOCAB)
        loss = F.cross_entropy(given, trg[1:].view(-1), ignore_index=PAD)
    call = LossCall("cross_entropy", given, trg[1:].view(-1), {"ignore_index": PAD}, True)
    term = term_of(call, output, inside=False)
    assert term is not None, "the loss input is the output without its first position"
    return ProbeItem((trg, 0.0), {}, [term]), loss


def test_a_loss_on_the_output_without_its_first_position_is_measured_again():
    model = Decoder().eval()
    item, loss = decoder_item(model, padded_targets())
    assert item.terms[0].dropped == (0, 1, 0)
    with torch.no_grad():
        measured = evaluate(model, [item], lambda receiver: None)
    # Per scored token, padding left out: the script's own mean over the tokens it trains on.
    assert measured.loss == pytest.approx(float(loss), rel=1e-5)
    assert measured.samples == int((padded_targets()[1:] != PAD).sum())


def test_a_decoders_targets_are_a_next_token_task_judged_against_token_frequencies():
    model = Decoder().eval()
    trg = padded_targets()
    item, _ = decoder_item(model, trg)
    task = describe_task({"train": [item], "val": [item]})
    assert task.kind == "next_token"
    tokens = trg[1:].reshape(-1)
    tokens = tokens[tokens != PAD]
    shares = torch.bincount(tokens, minlength=VOCAB).float() / tokens.numel()
    entropy = float(-(shares[shares > 0] * shares[shares > 0].log()).sum())
    assert task.chance["train"] == pytest.approx(entropy, rel=1e-3)
