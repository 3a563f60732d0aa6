"""Sequence classifier: an RNN reads short noisy waveforms and names their shape."""
import math

import torch
from torch import nn


def waveforms(n, length=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    kind = torch.randint(0, 3, (n,), generator=g)
    t = torch.linspace(0, 2 * math.pi, length)
    phase = torch.rand(n, 1, generator=g) * 2 * math.pi
    sine = torch.sin(t + phase)
    square = torch.sign(sine)
    saw = ((t + phase) % (2 * math.pi)) / math.pi - 1
    x = torch.where(kind[:, None] == 0, sine, torch.where(kind[:, None] == 1, square, saw))
    x = x + 0.3 * torch.randn(n, length, generator=g)
    return x.unsqueeze(-1), kind


class SeqNet(nn.Module):
    def __init__(self, hidden=32, classes=3):
        super().__init__()
        self.rnn = nn.RNN(1, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, classes)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.proj(h[-1])


torch.manual_seed(0)
x, y = waveforms(1920)
model = SeqNet()
criterion = nn.NLLLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(3):
    perm = torch.randperm(len(x))
    for k in range(0, len(x), 32):
        idx = perm[k:k + 32]
        scores = model(x[idx])
        loss = criterion(scores, y[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print("epoch", epoch, "loss", round(loss.item(), 4))
