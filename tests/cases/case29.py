"""Sequence regressor: predict the next value of a noisy signal from a window, with a validation pass."""
import torch
from torch import nn


def windows(n, width=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    t = torch.rand(n, 1, generator=g) * 50 + torch.arange(width + 1) * 0.3
    series = torch.sin(t) + 0.5 * torch.sin(2.3 * t) + 0.05 * torch.randn(n, width + 1, generator=g)
    return series[:, :width].unsqueeze(-1), series[:, width]


class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, batch_first=True)
        self.norm = nn.BatchNorm1d(hidden)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(self.norm(out[:, -1])).squeeze(-1)


def validation_loss(model, xv, yv):
    with torch.set_grad_enabled(False):
        losses = [nn.functional.mse_loss(model(xv[i:i + 4]), yv[i:i + 4]).item() for i in range(0, len(xv), 4)]
    return sum(losses) / len(losses)


torch.manual_seed(0)
x, y = windows(1600)
xv, yv = windows(200, seed=1)
model = Forecaster()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for epoch in range(4):
    for idx in torch.randperm(len(x)).split(32):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    print(f"epoch {epoch} train {loss.item():.4f} val {validation_loss(model, xv, yv):.4f}")
