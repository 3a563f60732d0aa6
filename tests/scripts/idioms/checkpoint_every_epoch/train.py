"""Saves the whole model (not its state_dict) at the end of every epoch, as pytorch/examples' word
language model does, and reloads the best one at the end."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(256, 8)
y = (x[:, 0] > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
best = float("inf")
for epoch in range(4):
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        val = nn.functional.cross_entropy(model(x), y).item()
    if val < best:
        best = val
        with open("model.pt", "wb") as handle:
            torch.save(model, handle)
    print(f"epoch {epoch} loss {val:.4f}")
with open("model.pt", "rb") as handle:
    model = torch.load(handle, weights_only=False)
print(f"best {nn.functional.cross_entropy(model(x), y).item():.4f}")
