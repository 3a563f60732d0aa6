"""Two-moons classifier trained for a fixed number of steps over a cycled list of batches."""
from itertools import cycle, islice

import torch
from torch import nn
from sklearn.datasets import make_moons

torch.manual_seed(0)
X, y = make_moons(n_samples=1200, noise=0.2, random_state=0)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32)
X_train, y_train, X_test, y_test = X[:1000], y[:1000], X[1000:], y[1000:]
batches = [(X_train[i:i + 25], y_train[i:i + 25]) for i in range(0, 1000, 25)]

model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
criterion = nn.BCEWithLogitsLoss()
lr = 0.1
total_steps = 600

window = []
for step, (xb, yb) in enumerate(islice(cycle(batches), total_steps), start=1):
    loss = criterion(model(xb).squeeze(1), yb)
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p = p - lr * p.grad
    model.zero_grad()
    window.append(loss.item())
    if step % 100 == 0:
        with torch.no_grad():
            acc = ((model(X_test).squeeze(1) > 0).float() == y_test).float().mean().item()
        print(f"step {step}  loss {sum(window) / len(window):.4f}  test acc {acc:.3f}")
        window.clear()
