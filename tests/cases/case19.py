"""Regression of a noisy nonlinear function with AdamW and a cosine schedule."""
import numpy as np
import torch
from torch import nn


class Dense(nn.Module):
    def __init__(self, d_in, width=64):
        super().__init__()
        self.a = nn.Linear(d_in, width)
        self.b = nn.Linear(width, width)
        self.c = nn.Linear(width, 1)

    def forward(self, x):
        return self.c(torch.nn.functional.silu(self.b(torch.nn.functional.silu(self.a(x))))).squeeze(-1)


def data(n, d=6, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2, 2, size=(n, d))
    y = np.sin(x[:, 0]) + 0.5 * x[:, 1] ** 2 - x[:, 2] * x[:, 3] + 0.1 * rng.normal(size=n)
    return torch.tensor(x, dtype=torch.float32), torch.tensor(y, dtype=torch.float32)


torch.manual_seed(0)
x, y = data(2000)
xv, yv = data(400, seed=9)
mu, sd = x.mean(0), x.std(0)
x, xv = (x - mu) / sd, (xv - mu) / sd
net = Dense(x.shape[1])
steps = 250
opt = torch.optim.AdamW(net.parameters(), lr=3e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
for step in range(steps):
    idx = torch.randint(0, len(x), (64,))
    loss = nn.functional.mse_loss(net(x[idx]), y[idx])
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    sched.step()
    if step % 50 == 0 or step == steps - 1:
        with torch.no_grad():
            val = nn.functional.mse_loss(net(xv), yv).item()
        print(f"step {step} loss {loss.item():.4f} val {val:.4f} lr {sched.get_last_lr()[0]:.2e}")
