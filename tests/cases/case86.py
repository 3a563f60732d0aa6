"""Character-level GRU language model on sentences from a toy grammar, nanoGPT-style loop."""

import random

import torch
import torch.nn as nn
from torch.nn import functional as F

# hyperparameters
batch_size = 32
block_size = 32
max_iters = 300
eval_interval = 60
eval_iters = 8
learning_rate = 3e-3
n_embd = 48
n_hidden = 96

torch.manual_seed(1337)
random.seed(1337)

DETERMINERS = ["the", "a", "every", "some"]
ADJECTIVES = ["red", "small", "quiet", "old", "bright", "lazy"]
NOUNS = ["cat", "robot", "farmer", "river", "teacher", "garden", "lamp"]
VERBS = ["sees", "follows", "paints", "likes", "moves", "finds"]
ADVERBS = ["slowly", "again", "today", "quickly"]


def noun_phrase():
    words = [random.choice(DETERMINERS)]
    if random.random() < 0.5:
        words.append(random.choice(ADJECTIVES))
    words.append(random.choice(NOUNS))
    return " ".join(words)


def sentence():
    parts = [noun_phrase(), random.choice(VERBS), noun_phrase()]
    if random.random() < 0.3:
        parts.append(random.choice(ADVERBS))
    return " ".join(parts) + ". "


text = "".join(sentence() for _ in range(2500))
chars = sorted(set(text))
vocab_size = len(chars)
stoi = {ch: i for i, ch in enumerate(chars)}
itos = dict(enumerate(chars))


def encode(s):
    return [stoi[c] for c in s]


def decode(ids):
    return "".join(itos[i] for i in ids)


data = torch.tensor(encode(text), dtype=torch.long)
n = int(0.9 * len(data))
train_data = data[:n]
val_data = data[n:]


def get_batch(split):
    source = train_data if split == "train" else val_data
    ix = torch.randint(len(source) - block_size, (batch_size,))
    x = torch.stack([source[i : i + block_size] for i in ix])
    y = torch.stack([source[i + 1 : i + block_size + 1] for i in ix])
    return x, y


class CharGRU(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, n_embd)
        self.gru = nn.GRU(n_embd, n_hidden, batch_first=True)
        self.lm_head = nn.Linear(n_hidden, vocab_size)

    def forward(self, idx, targets=None):
        out, _ = self.gru(self.embedding(idx))
        logits = self.lm_head(out)
        if targets is None:
            return logits, None
        loss = F.cross_entropy(logits.view(-1, vocab_size), targets.view(-1))
        return logits, loss

    @torch.no_grad()
    def generate(self, idx, max_new_tokens):
        for _ in range(max_new_tokens):
            logits, _ = self(idx)
            probs = F.softmax(logits[:, -1, :], dim=-1)
            idx = torch.cat((idx, torch.multinomial(probs, num_samples=1)), dim=1)
        return idx


@torch.no_grad()
def estimate_loss():
    out = {}
    model.eval()
    for split in ["train", "val"]:
        losses = torch.zeros(eval_iters)
        for k in range(eval_iters):
            X, Y = get_batch(split)
            _, loss = model(X, Y)
            losses[k] = loss.item()
        out[split] = losses.mean()
    model.train()
    return out


model = CharGRU()
optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate)

for it in range(max_iters):
    if it % eval_interval == 0 or it == max_iters - 1:
        losses = estimate_loss()
        print(f"step {it}: train loss {losses['train']:.4f}, val loss {losses['val']:.4f}")
    xb, yb = get_batch("train")
    _, loss = model(xb, yb)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()

context = torch.tensor([encode("the ")], dtype=torch.long)
print(decode(model.generate(context, max_new_tokens=80)[0].tolist()))
