"""Plant output regression from four ambient readings."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

rng = np.random.default_rng(7)
n = 4000
temp_k = rng.normal(293.0, 7.0, n)
pressure = rng.normal(1013.0, 6.0, n)
humidity = rng.uniform(25.0, 100.0, n)
vacuum = rng.normal(54.0, 12.0, n)
output = (454.0 - 1.9 * (temp_k - 293.0) - 0.25 * (vacuum - 54.0) + 0.06 * (pressure - 1013.0)
          - 0.02 * (humidity - 70.0) + 0.04 * (temp_k - 293.0) ** 2 / 7.0 + rng.normal(0, 3.0, n))

features = torch.tensor(np.stack([temp_k, pressure, humidity, vacuum], 1), dtype=torch.float32)
target = torch.tensor((output - output.mean()) / output.std(), dtype=torch.float32).unsqueeze(1)
full = TensorDataset(features, target)
train_part, test_part = random_split(full, [3200, 800], generator=torch.Generator().manual_seed(1))
train_loader = DataLoader(train_part, batch_size=64, shuffle=True)
X_test, y_test = full[test_part.indices]

torch.manual_seed(0)
net = nn.Sequential(nn.Linear(4, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
loss_fn = nn.MSELoss()

for epoch in range(5):
    batch_losses = []
    for xb, yb in train_loader:
        opt.zero_grad()
        loss = loss_fn(net(xb), yb)
        loss.backward()
        opt.step()
        batch_losses.append(loss.item())
    with torch.no_grad():
        test_mse = loss_fn(net(X_test), y_test).item()
    print(f"epoch {epoch}: first batch {batch_losses[0]:.4g}  last batch {batch_losses[-1]:.4g}  test mse {test_mse:.4g}")
