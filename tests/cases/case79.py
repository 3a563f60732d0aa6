"""Predict a machine's power draw from raw sensor readings (values around 50 with a spread of 8);
the readings are standardized, then standardized again with the raw mean and std."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(21)
raw = 50.0 + 8.0 * rng.normal(size=(2000, 5))
z = (raw - 50.0) / 8.0
power = (np.tanh(z[:, 0] - z[:, 1]) + 0.5 * z[:, 2] * z[:, 3] + 0.3 * z[:, 4]).astype(np.float32)

mean, std = raw.mean(), raw.std()
inputs = (raw - mean) / std
inputs = (inputs - mean) / std  # a second pass with the raw statistics

data = TensorDataset(torch.tensor(inputs, dtype=torch.float32), torch.tensor(power)[:, None])
train_set, val_set = torch.utils.data.random_split(data, [1600, 400], generator=torch.Generator().manual_seed(1))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=400)

torch.manual_seed(1)
model = nn.Sequential(nn.Linear(5, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
criterion = nn.SmoothL1Loss()
for epoch in range(6):
    model.train()
    for xb, yb in train_loader:
        optimizer.zero_grad()
        criterion(model(xb), yb).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        xb, yb = next(iter(val_loader))
        print(epoch, criterion(model(xb), yb).item())
