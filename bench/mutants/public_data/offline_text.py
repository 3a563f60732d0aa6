"""Text data made offline, in the shapes the sentiment and translation tutorials build.

The tutorials download IMDB and Multi30k, tokenize them with spaCy or torchtext and numericalize
them with a torchtext vocabulary. These functions return the same end products (lists of examples
whose ids are LongTensors, and vocabularies that map the special tokens) from a seeded generator:

- `sentiment()`: reviews of 20-60 tokens in which a positive or negative word set is a little more
  frequent than the other;
- `translation()`: source sentences of 3-5 words; the target says the last source word's fixed
  translation once per source word, framed by <sos> and <eos> (a task the tutorial's model, shrunk
  to run in seconds, learns in a few hundred steps: the decoder must carry the encoder's state
  and the length).
"""

from __future__ import annotations

import numpy as np
import torch

SPECIALS = ["<unk>", "<pad>", "<sos>", "<eos>"]


class Vocab:
    """The part of a torchtext vocabulary the tutorials use: len(), lookups, get_itos()."""

    def __init__(self, size: int) -> None:
        self.itos = SPECIALS + [f"w{k}" for k in range(size - len(SPECIALS))]
        self.stoi = {token: k for k, token in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def __getitem__(self, token: str) -> int:
        return self.stoi.get(token, 0)

    def __contains__(self, token: str) -> bool:
        return token in self.stoi

    def get_itos(self) -> list[str]:
        return list(self.itos)

    def lookup_indices(self, tokens: list[str]) -> list[int]:
        return [self[t] for t in tokens]

    def lookup_tokens(self, ids: list[int]) -> list[str]:
        return [self.itos[i] for i in ids]


class Examples(list):
    """A list of example dicts with the `unique(column)` a Hugging Face dataset has."""

    def unique(self, column: str) -> list:
        return sorted({int(example[column]) for example in self})


def sentiment(sizes=(1500, 500, 500), vocab_size=400, seed=0):
    """(train, valid, test, vocab): examples {"ids": LongTensor, "label": LongTensor}."""
    rng = np.random.RandomState(seed)
    vocab = Vocab(vocab_size)
    first = len(SPECIALS)
    positive = np.arange(first, first + 30)
    negative = np.arange(first + 30, first + 60)
    parts = []
    for n in sizes:
        examples = Examples()
        for label in rng.randint(0, 2, size=n):
            length = rng.randint(20, 61)
            ids = rng.randint(first, vocab_size, size=length)
            marked = rng.rand(length) < 0.15
            ids[marked] = rng.choice(positive if label else negative, size=marked.sum())
            examples.append({"ids": torch.tensor(ids), "label": torch.tensor(int(label))})
        parts.append(examples)
    return (*parts, vocab)


def translation(sizes=(2000, 250, 250), vocab_size=16, seed=0):
    """(train, valid, test, en_vocab, de_vocab): examples {"de_ids", "en_ids"} as LongTensors."""
    rng = np.random.RandomState(seed)
    de_vocab, en_vocab = Vocab(vocab_size), Vocab(vocab_size)
    first = len(SPECIALS)
    mapping = first + np.random.RandomState(seed + 1).permutation(vocab_size - first)
    sos, eos = de_vocab["<sos>"], de_vocab["<eos>"]
    parts = []
    for n in sizes:
        examples = Examples()
        for _ in range(n):
            source = rng.randint(first, vocab_size, size=rng.randint(3, 6))
            target = np.full(len(source), mapping[source[-1] - first])
            examples.append(
                {
                    "de_ids": torch.tensor([sos, *source, eos]),
                    "en_ids": torch.tensor([sos, *target, eos]),
                }
            )
        parts.append(examples)
    return (*parts, en_vocab, de_vocab)
