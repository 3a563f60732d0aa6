"""Deep digits MLP, BatchNorm and dropout in every block, SGD with momentum, best-val checkpoint."""

import copy

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

CONFIG = {
    "depth": 6,
    "width": 128,
    "p_drop": 0.2,
    "lr": 0.05,
    "momentum": 0.9,
    "epochs": 7,
    "batch": 32,
}


def load_splits(n_train=1300):
    digits = load_digits()
    X = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(1))
    X, y = X[perm], y[perm]
    mean, std = X[:n_train].mean(0), X[:n_train].std(0) + 0.1
    X = (X - mean) / std
    return (X[:n_train], y[:n_train]), (X[n_train:], y[n_train:])


def block(n_in, n_out, p):
    return [nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU(), nn.Dropout(p)]


def make_net(cfg):
    layers, width = [], 64
    for _ in range(cfg["depth"]):
        layers += block(width, cfg["width"], cfg["p_drop"])
        width = cfg["width"]
    return nn.Sequential(*layers, nn.Linear(width, 10))


def validate(net, X, y):
    net.eval()
    with torch.no_grad():
        logits = net(X)
    return F.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item()


def fit(cfg):
    torch.manual_seed(0)
    (Xtr, ytr), (Xva, yva) = load_splits()
    net = make_net(cfg)
    opt = torch.optim.SGD(net.parameters(), lr=cfg["lr"], momentum=cfg["momentum"])
    best_loss, best_state = float("inf"), None
    net.train()
    for epoch in range(cfg["epochs"]):
        running = 0.0
        for idx in torch.randperm(len(Xtr)).split(cfg["batch"]):
            loss = F.cross_entropy(net(Xtr[idx]), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            running += loss.item() * len(idx)
        val_loss, val_acc = validate(net, Xva, yva)
        if val_loss < best_loss:
            best_loss, best_state = val_loss, copy.deepcopy(net.state_dict())
        print(
            f"epoch {epoch}  train {running / len(Xtr):.3f}  val {val_loss:.3f}  acc {val_acc:.3f}"
        )
    net.load_state_dict(best_state)
    print(f"restored best checkpoint: val loss {best_loss:.3f}")


if __name__ == "__main__":
    fit(CONFIG)
