"""Regression with a functional MLP (weights in a dict of tensors) and a hand-written momentum update."""
import itertools
import math

import torch


def init_params(sizes, gen):
    params = {}
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        params[f"w{i}"] = (torch.randn(a, b, generator=gen) / math.sqrt(a)).requires_grad_()
        params[f"b{i}"] = torch.zeros(b, requires_grad=True)
    return params


def mlp(params, x, n_layers):
    for i in range(n_layers):
        x = x @ params[f"w{i}"] + params[f"b{i}"]
        if i < n_layers - 1:
            x = torch.nn.functional.silu(x)
    return x.squeeze(-1)


def shuffled_batches(x, y, size, gen):
    while True:
        perm = torch.randperm(len(x), generator=gen)
        for i in range(0, len(x), size):
            yield x[perm[i:i + size]], y[perm[i:i + size]]


g = torch.Generator().manual_seed(0)
torch.manual_seed(0)
X = torch.randn(3000, 6, generator=g)
Y = torch.sin(2 * X[:, 0]) + X[:, 1] * X[:, 2] + 0.5 * X[:, 3] ** 2 - X[:, 4] + 0.1 * torch.randn(3000, generator=g)
Y = (Y - Y.mean()) / Y.std()
X_fit, Y_fit, X_val, Y_val = X[:2500], Y[:2500], X[2500:], Y[2500:]

params = init_params([6, 64, 64, 1], g)
velocity = {k: torch.zeros_like(v) for k, v in params.items()}
lr, mu = 0.02, 0.9

for step, (xb, yb) in enumerate(itertools.islice(shuffled_batches(X_fit, Y_fit, 50, g), 800), start=1):
    loss = torch.mean((mlp(params, xb, 3) - yb) ** 2)
    loss.backward()
    with torch.no_grad():
        for k, p in params.items():
            velocity[k].mul_(mu).add_(p.grad)
            p.sub_(lr * velocity[k])
            p.grad = None
    if step % 100 == 0:
        with torch.no_grad():
            val = torch.mean((mlp(params, X_val, 3) - Y_val) ** 2).item()
        print(f"step {step}  batch mse {loss.item():.4f}  val mse {val:.4f}  val r2 {1 - val / Y_val.var().item():.3f}")
