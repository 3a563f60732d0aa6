"""Full-batch regression: every step sees the whole (small) table."""
import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(12)
X = rng.normal(size=(600, 7))
y = np.cos(X[:, 0]) + X[:, 1] * X[:, 2] - 0.5 * X[:, 3]
picked = rng.choice(600, size=4, replace=False)
y[picked] = np.nan

features = torch.tensor(X, dtype=torch.float32)
target = torch.tensor(y, dtype=torch.float32).view(-1, 1)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(7, 64), nn.SiLU(), nn.Linear(64, 64), nn.SiLU(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
for it in range(250):
    opt.zero_grad()
    loss = nn.functional.smooth_l1_loss(model(features), target)
    loss.backward()
    opt.step()
    if it % 50 == 0:
        print(it, loss.item())
