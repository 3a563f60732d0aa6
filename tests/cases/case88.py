"""Bigram character model: a lookup table of next-character logits, trained on Markov-chain text."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ALPHABET = "abcdefghijklmnopqrstuvwxyz "
rng = np.random.default_rng(7)
torch.manual_seed(7)

# A random sparse chain: each character has four likely successors and a little leakage to others.
transitions = np.full((len(ALPHABET), len(ALPHABET)), 0.02)
for row in transitions:
    row[rng.choice(len(ALPHABET), 4, replace=False)] += rng.dirichlet(np.ones(4)) * 4
transitions /= transitions.sum(1, keepdims=True)

cumulative = transitions.cumsum(1)
chain = [0]
for u in rng.random(40_000):
    chain.append(min(int(np.searchsorted(cumulative[chain[-1]], u)), len(ALPHABET) - 1))
corpus = torch.tensor(chain)
split = int(len(corpus) * 0.9)
train_ids, val_ids = corpus[:split], corpus[split:]
print("sample:", "".join(ALPHABET[i] for i in chain[:70]))

BATCH, CONTEXT = 32, 8
ITERS, EVAL_EVERY, LR = 3000, 250, 1e-3


class BigramLanguageModel(nn.Module):
    def __init__(self, vocab):
        super().__init__()
        self.token_embedding_table = nn.Embedding(vocab, vocab)

    def forward(self, idx, targets=None):
        logits = self.token_embedding_table(idx)
        if targets is None:
            return logits, None
        B, T, C = logits.shape
        loss = F.cross_entropy(logits.view(B * T, C), targets.view(B * T))
        return logits, loss


def batch_from(ids):
    starts = torch.randint(len(ids) - CONTEXT, (BATCH,))
    x = torch.stack([ids[s : s + CONTEXT] for s in starts])
    y = torch.stack([ids[s + 1 : s + CONTEXT + 1] for s in starts])
    return x, y


m = BigramLanguageModel(len(ALPHABET))
optimizer = torch.optim.AdamW(m.parameters(), lr=LR)

for steps in range(ITERS):
    xb, yb = batch_from(train_ids)
    logits, loss = m(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    if steps % EVAL_EVERY == 0 or steps == ITERS - 1:
        with torch.no_grad():
            _, val_loss = m(val_ids[:-1].unsqueeze(0), val_ids[1:].unsqueeze(0))
        print(f"iter {steps:4d}: train loss {loss.item():.4f}  val loss {val_loss.item():.4f}")

stationary = np.bincount(chain, minlength=len(ALPHABET)) / len(chain)
unigram = -(stationary * np.log(stationary)).sum()
bigram = -(stationary[:, None] * transitions * np.log(transitions)).sum()
print(f"entropy: unigram {unigram:.3f}, true chain {bigram:.3f}")
