"""Next-value forecaster: a GRU over sliding windows of a noisy two-tone signal, batches from a generator."""
from functools import partial

import torch
from torch import nn


def signal(n, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.arange(n, dtype=torch.float32)
    return torch.sin(0.07 * t) + 0.5 * torch.sin(0.23 * t + 1.0) + 0.1 * torch.randn(n, generator=g)


def windows(series, width):
    x = series.unfold(0, width + 1, 1)
    return x[:, :width].unsqueeze(-1), x[:, width]


def random_batches(x, y, size, seed):
    g = torch.Generator().manual_seed(seed)
    while True:
        idx = torch.randint(0, len(x), (size,), generator=g)
        yield x[idx], y[idx]


class Forecaster(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.gru = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, _ = self.gru(x)
        return self.head(out[:, -1]).squeeze(-1)


def sgd_step(model, opt, xb, yb):
    loss = nn.functional.mse_loss(model(xb), yb)
    loss.backward()
    opt.step()
    return loss.item()


def run(step_fn, batches, steps, evaluate, every=50):
    history = []
    for i, (xb, yb) in zip(range(1, steps + 1), batches):
        history.append(step_fn(xb, yb))
        if i % every == 0:
            print(f"step {i}: train mse {sum(history[-every:]) / every:.4f}  val mse {evaluate():.4f}")
    return history


torch.manual_seed(0)
x_tr, y_tr = windows(signal(3000, seed=1), 24)
x_va, y_va = windows(signal(600, seed=2), 24)
model = Forecaster()
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)


def evaluate():
    with torch.no_grad():
        return nn.functional.mse_loss(model(x_va), y_va).item()


run(partial(sgd_step, model, opt), random_batches(x_tr, y_tr, 32, seed=3), steps=400, evaluate=evaluate)
