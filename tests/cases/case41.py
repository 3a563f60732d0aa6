"""Binary classifier of noisy tabular data."""
import torch
from torch import nn
from sklearn.datasets import make_classification

torch.manual_seed(0)
X, y = make_classification(n_samples=2400, n_features=12, n_informative=6, random_state=9)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32)
model = nn.Sequential(nn.Linear(12, 32), nn.Tanh(), nn.Linear(32, 1), nn.Sigmoid())
loss_fn = nn.BCEWithLogitsLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(5):
    for idx in torch.randperm(2000).split(40):
        p = model(X[idx]).squeeze(1)
        loss = loss_fn(p, y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = ((model(X[2000:]).squeeze(1) > 0.5).float() == y[2000:]).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.4f} acc {acc:.3f}")
