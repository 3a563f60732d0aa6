"""The fixed twin of broken_train.py: `diagnose examples/fixed_train.py` reports it healthy."""

import math

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def spirals(n: int, noise: float = 0.15) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.rand(n) * 3 * math.pi
    label = torch.randint(0, 2, (n,))
    sign = label * 2 - 1
    x = torch.stack([sign * t * torch.cos(t), sign * t * torch.sin(t)], dim=1) / (3 * math.pi)
    return x + noise * torch.randn_like(x) / 3, label


torch.manual_seed(0)
x_train, y_train = spirals(3000)
x_val, y_val = spirals(600)
loader = DataLoader(TensorDataset(x_train, y_train), batch_size=64, shuffle=True)

model = nn.Sequential(
    nn.Linear(2, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 2)
)
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(30):
    model.train()
    total = 0.0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(xb)
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_val).argmax(1) == y_val).float().mean().item()
    print(f"epoch {epoch + 1:2d}  loss {total / len(x_train):.4f}  val accuracy {accuracy:.3f}")
