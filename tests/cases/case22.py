"""Digits classifier with a functional training loop."""
import torch
import torch.nn.functional as F
from torch import nn
from sklearn.datasets import load_digits


def to_tensor(values):
    return torch.tensor(values, dtype=torch.float32)


def train(model, opt, x, y, epochs=4, bs=64):
    for epoch in range(epochs):
        for idx in torch.randperm(len(x)).split(bs):
            out = model(x[idx])
            scores = torch.tensor(out.tolist(), requires_grad=True)
            loss = F.cross_entropy(scores, y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        with torch.no_grad():
            acc = (model(x).argmax(1) == y).float().mean().item()
        print(f"epoch {epoch} loss {loss.item():.3f} train acc {acc:.3f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    X, Y = load_digits(return_X_y=True)
    x, y = to_tensor(X / 16.0), torch.as_tensor(Y)
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    train(model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9), x, y)
