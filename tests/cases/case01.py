"""Fit a smooth response surface with a small MLP (functional style, manual batching)."""
import numpy as np
import torch
from torch import nn


def make_data(n=2000, d=8, seed=1):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)).astype(np.float32)
    w = rng.normal(size=(d,)).astype(np.float32)
    y = np.sin(x @ w / 2) + 0.1 * rng.normal(size=n).astype(np.float32)
    return torch.from_numpy(x), torch.from_numpy(y.astype(np.float32)).unsqueeze(1)


def build(d):
    return nn.Sequential(nn.Linear(d, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))


def run_epoch(net, opt, x, y, bs=50):
    order = torch.randperm(len(x))
    total = 0.0
    for idx in order.split(bs):
        pred = net(x[idx])
        err = nn.functional.mse_loss(pred, y[idx])
        opt.zero_grad()
        err.backward()
        opt.step()
        total += err.item() * len(idx)
    return total / len(x)


def main():
    torch.manual_seed(3)
    x, y = make_data()
    net = build(x.shape[1])
    opt = torch.optim.Adam(net.parameters(), lr=1.0)
    for ep in range(6):
        print("epoch", ep, "mse", round(run_epoch(net, opt, x, y), 4))


if __name__ == "__main__":
    main()
