"""Full-batch regression with a small network written as plain weight tensors."""
import math

import torch
from sklearn.datasets import make_regression


def init_weights(sizes, gen):
    weights = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        w = torch.randn(fan_in, fan_out, generator=gen) * math.sqrt(2.0 / fan_in)
        b = torch.zeros(fan_out)
        weights += [w.requires_grad_(), b.requires_grad_()]
    return weights


def forward(weights, x):
    h = x
    pairs = list(zip(weights[0::2], weights[1::2]))
    for w, b in pairs[:-1]:
        h = torch.relu(h @ w + b)
    w, b = pairs[-1]
    return (h @ w + b).squeeze(-1)


torch.manual_seed(0)
X, y = make_regression(n_samples=800, n_features=12, n_informative=8, noise=10.0, random_state=5)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
X_fit, y_fit, X_hold, y_hold = X[:640], y[:640], X[640:], y[640:]

weights = init_weights([12, 48, 48, 1], torch.Generator().manual_seed(0))
lr = 1.5
step, max_steps = 0, 300
while step < max_steps:
    loss = torch.mean((forward(weights, X_fit) - y_fit) ** 2)
    loss.backward()
    with torch.no_grad():
        for t in weights:
            t.sub_(lr * t.grad)
            t.grad = None
    step += 1
    if step % 30 == 0:
        with torch.no_grad():
            hold = torch.mean((forward(weights, X_hold) - y_hold) ** 2).item()
        print(f"step {step:3d}  mse {loss.item():.4f}  holdout mse {hold:.4f}")
