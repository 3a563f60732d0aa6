"""A seeded run with dropout, batch norm and a shuffled DataLoader that prints its training losses
exactly (as hex floats), then one draw from each RNG stream the script could use next.

Run plainly and observed, the numbers must be the same bit for bit: the tool may neither consume
the script's random streams nor change its batches.
"""

import random

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

random.seed(0)
np.random.seed(0)
torch.manual_seed(0)
x = torch.randn(640, 10)
y = (x[:, :3].sum(1) > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(
    nn.Linear(10, 32), nn.BatchNorm1d(32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 2)
)
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
losses = []
for epoch in range(3):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        losses.append(loss.item().hex())
    model.eval()
    with torch.no_grad():
        accuracy = (model(x).argmax(1) == y).float().mean().item()
    print(f"[epoch] {epoch} {accuracy.hex()}")
print("[losses]", " ".join(losses[:50]))
print("[streams]", torch.rand(1).item().hex(), np.random.rand().hex(), random.random().hex())
