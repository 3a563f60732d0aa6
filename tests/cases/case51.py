"""Nonlinear regression on synthetic tabular data, batched by a DataLoader with drop_last."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import make_regression

torch.manual_seed(0)
X, y = make_regression(n_samples=6000, n_features=16, n_informative=10, noise=5.0, random_state=8)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32)
y = torch.tanh(y / y.std()) * 2.0 + 0.3 * X[:, 0] * X[:, 1]
y = (y - y.mean()) / y.std()

train_ds = TensorDataset(X[:5000], y[:5000])
X_val, y_val = X[5000:], y[5000:]
loader = DataLoader(train_ds, batch_size=256, shuffle=True, drop_last=True)

model = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 1))
criterion = nn.MSELoss(reduction="sum")
optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

for epoch in range(12):
    model.train()
    epoch_loss, n = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = criterion(model(xb).squeeze(1), yb)
        loss.backward()
        optimizer.step()
        epoch_loss += loss.item()
        n += len(yb)
    model.eval()
    with torch.no_grad():
        pred = model(X_val).squeeze(1)
        r2 = 1 - ((pred - y_val) ** 2).mean() / y_val.var()
    print(f"epoch {epoch + 1:2d}  train mse {epoch_loss / n:.4f}  val r2 {r2.item():.3f}")
