"""House-price style regression from a few features."""
import numpy as np
import torch
from torch import nn

rng = np.random.default_rng(3)
n = 2000
area = rng.normal(size=n)
rooms = rng.normal(size=n)
dist = rng.normal(size=n)
year = rng.integers(1950, 2021, size=n).astype(np.float64)
price = 2 * area + 0.5 * rooms - dist + 0.04 * (year - 1985) + 0.2 * rng.normal(size=n)
X = torch.tensor(np.stack([area, rooms, dist, year], 1), dtype=torch.float32)
Y = torch.tensor(price, dtype=torch.float32)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(4, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
opt = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
for epoch in range(5):
    for idx in torch.randperm(n).split(40):
        pred = model(X[idx]).squeeze(1)
        loss = ((pred - Y[idx]) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(epoch, loss.item())
