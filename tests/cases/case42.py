"""Friedman regression fitted by a hand-written SGD loop built from small closures."""
import torch
from torch import nn
from sklearn.datasets import make_friedman1


def index_batches(n, size, gen):
    def epoch():
        perm = torch.randperm(n, generator=gen)
        for start in range(0, n, size):
            yield perm[start:start + size]
    return epoch


def make_update(params, lr):
    def apply():
        with torch.no_grad():
            for p in params:
                p -= lr * p.grad
    return apply


def make_objective(net):
    def objective(xb, yb):
        return nn.functional.mse_loss(net(xb).squeeze(1), yb)
    return objective


def r2(pred, target):
    return 1 - ((pred - target) ** 2).sum().item() / ((target - target.mean()) ** 2).sum().item()


def main():
    torch.manual_seed(0)
    X, y = make_friedman1(n_samples=1500, noise=0.5, random_state=2)
    X = torch.tensor((X - 0.5) / 0.29, dtype=torch.float32)
    y = torch.tensor((y - y.mean()) / y.std(), dtype=torch.float32)
    X_tr, y_tr, X_te, y_te = X[:1200], y[:1200], X[1200:], y[1200:]

    net = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 1))
    update = make_update(list(net.parameters()), lr=0.02)
    objective = make_objective(net)
    epoch_batches = index_batches(len(X_tr), 32, torch.Generator().manual_seed(0))

    for epoch in range(8):
        losses = []
        for idx in epoch_batches():
            loss = objective(X_tr[idx], y_tr[idx])
            loss.backward()
            update()
            losses.append(loss.item())
        with torch.no_grad():
            score = r2(net(X_te).squeeze(1), y_te)
        print(f"epoch {epoch}  train mse {sum(losses) / len(losses):.4f}  test r2 {score:.3f}")


if __name__ == "__main__":
    main()
