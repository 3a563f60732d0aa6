"""Digits MLP updated in place through .data, fed by an endless batch generator."""
import torch
from torch import nn
from sklearn.datasets import load_digits


def batch_stream(X, y, size, seed):
    gen = torch.Generator().manual_seed(seed)
    while True:
        perm = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X) - size + 1, size):
            idx = perm[start:start + size]
            yield X[idx], y[idx]


torch.manual_seed(0)
digits = load_digits()
X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
X = (X - X.mean(0)) / (X.std(0) + 1e-6)
y = torch.tensor(digits.target)
X_train, y_train, X_val, y_val = X[:1400], y[:1400], X[1400:], y[1400:]

model = nn.Sequential(nn.Linear(64, 96), nn.Tanh(), nn.Linear(96, 10))
lr = 2e-5
stream = batch_stream(X_train, y_train, 50, seed=1)
log_every = 56
running = 0.0
for step in range(1, 561):
    xb, yb = next(stream)
    loss = nn.functional.cross_entropy(model(xb), yb)
    model.zero_grad(set_to_none=True)
    loss.backward()
    for p in model.parameters():
        p.data.add_(p.grad, alpha=-lr)
    running += loss.item()
    if step % log_every == 0:
        with torch.no_grad():
            acc = (model(X_val).argmax(1) == y_val).float().mean().item()
        print(f"step {step}  avg loss {running / log_every:.4f}  val acc {acc:.3f}")
        running = 0.0
