"""Predict a pass/fail flag from sensor readings."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(42)
n = 2400
base = np.array([1200.0, 3400.0, 2500.0, 800.0, 4100.0, 1900.0])
spread = np.array([150.0, 400.0, 300.0, 90.0, 500.0, 250.0])
readings = base + spread * rng.normal(size=(n, 6))
z = (readings - base) / spread
flag = ((z[:, 0] * z[:, 1] + z[:, 2] - 0.5 * z[:, 3]) > 0).astype(np.int64)

data = TensorDataset(torch.tensor(readings, dtype=torch.float32), torch.tensor(flag))
train, test = torch.utils.data.random_split(data, [2000, 400], generator=torch.Generator().manual_seed(0))
train_dl = DataLoader(train, batch_size=40, shuffle=True)
test_dl = DataLoader(test, batch_size=400)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(5):
    running = []
    for xb, yb in train_dl:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        running.append(loss.item())
    with torch.no_grad():
        xb, yb = next(iter(test_dl))
        acc = (model(xb).argmax(1) == yb).float().mean().item()
    print(epoch, np.mean(running), acc)
