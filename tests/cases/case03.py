"""Digits classifier with a held-out split and a separate evaluation routine."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(64, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5),
            nn.Linear(128, 128), nn.BatchNorm1d(128), nn.ReLU(), nn.Dropout(0.5))
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.body(x))


def evaluate(model, loader, loss_fn):
    tot, hits, n = 0.0, 0, 0
    with torch.inference_mode():
        for xb, yb in loader:
            out = model(xb)
            tot += loss_fn(out, yb).item() * len(yb)
            hits += (out.argmax(-1) == yb).sum().item()
            n += len(yb)
    return tot / n, hits / n


def main():
    torch.manual_seed(1)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(x))
    tr, va = perm[:1297], perm[1297:]
    train = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=64, shuffle=True)
    valid = DataLoader(TensorDataset(x[va], y[va]), batch_size=10)
    model = Net()
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3)
    for epoch in range(10):
        model.train()
        for xb, yb in train:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        vl, va_acc = evaluate(model, valid, loss_fn)
        print(f"epoch {epoch}: val {vl:.3f} acc {va_acc:.3f}")


main()
