"""A small GPT (causal self-attention blocks, GPT-2 style init) trained on characters."""
import argparse
import math

import torch
from torch import nn
from torch.nn import functional as F

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=3e-3)
parser.add_argument("--iters", type=int, default=400)
args = parser.parse_args()

TEXT = " ".join(f"the {a} {b} sat on the {c} and saw {n} {b}s." for n in range(1, 9)
                for a, b, c in [("old", "cat", "mat"), ("small", "dog", "log"), ("red", "bird", "wire")]) * 20
chars = sorted(set(TEXT))
stoi = {ch: i for i, ch in enumerate(chars)}
data = torch.tensor([stoi[ch] for ch in TEXT])
split = int(0.9 * len(data))
train_data, val_data = data[:split], data[split:]
block, batch_size = 32, 16


class Block(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.attn = nn.Linear(width, 3 * width)
        self.proj = nn.Linear(width, width)
        self.mlp = nn.Sequential(nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width))
        self.heads = heads

    def forward(self, x):
        b, t, c = x.shape
        q, k, v = self.attn(self.ln1(x)).split(c, dim=2)
        q, k, v = (z.view(b, t, self.heads, c // self.heads).transpose(1, 2) for z in (q, k, v))
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(y.transpose(1, 2).reshape(b, t, c))
        return x + self.mlp(self.ln2(x))


class GPT(nn.Module):
    def __init__(self, vocab, width=64, layers=2, heads=4):
        super().__init__()
        self.tok, self.pos = nn.Embedding(vocab, width), nn.Embedding(block, width)
        self.blocks = nn.Sequential(*[Block(width, heads) for _ in range(layers)])
        self.ln, self.head = nn.LayerNorm(width), nn.Linear(width, vocab, bias=False)
        self.apply(self._init)

    @staticmethod
    def _init(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
        if isinstance(module, nn.Linear) and module.bias is not None:
            nn.init.zeros_(module.bias)

    def forward(self, idx, targets=None):
        x = self.tok(idx) + self.pos(torch.arange(idx.size(1)))
        logits = self.head(self.ln(self.blocks(x)))
        loss = None if targets is None else F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def get_batch(source):
    ix = torch.randint(len(source) - block, (batch_size,))
    return torch.stack([source[i:i + block] for i in ix]), torch.stack([source[i + 1:i + 1 + block] for i in ix])


@torch.no_grad()
def estimate_loss(model):
    model.eval()
    losses = [model(*get_batch(val_data))[1].item() for _ in range(5)]
    model.train()
    return sum(losses) / len(losses)


torch.manual_seed(0)
model = GPT(len(chars))
optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.1)
for it in range(args.iters):
    if it % 100 == 0:
        print(f"iter {it} val loss {estimate_loss(model):.3f} (uniform {math.log(len(chars)):.3f})")
    _, loss = model(*get_batch(train_data))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    optimizer.step()
print(f"final val loss {estimate_loss(model):.3f}")
