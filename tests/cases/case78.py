"""Regression on a synthetic energy-use table; the targets are shuffled on their own before the
split, so no input row keeps its target."""
import numpy as np
import torch
from torch import nn


def make_table(n=1600, seed=5):
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n, 8)).astype(np.float32)
    weights = rng.normal(size=8)
    energy = features @ weights + 0.5 * np.sin(2 * features[:, 0]) + 0.1 * rng.normal(size=n)
    return features, energy.astype(np.float32)[:, None]


def train(epochs=12, batch=64, lr=1e-3):
    features, energy = make_table()
    energy = energy[np.random.default_rng(0).permutation(len(energy))]
    energy = (energy - energy.mean()) / energy.std()
    x, y = torch.from_numpy(features), torch.from_numpy(energy)
    x_fit, y_fit, x_hold, y_hold = x[:1300], y[:1300], x[1300:], y[1300:]
    net = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
    optim = torch.optim.Adam(net.parameters(), lr=lr)
    for epoch in range(epochs):
        for rows in torch.randperm(len(x_fit)).split(batch):
            optim.zero_grad()
            loss = nn.functional.mse_loss(net(x_fit[rows]), y_fit[rows])
            loss.backward()
            optim.step()
        with torch.no_grad():
            held = nn.functional.mse_loss(net(x_hold), y_hold).item()
        print(f"epoch {epoch} train mse {loss.item():.3f} held-out mse {held:.3f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    train()
