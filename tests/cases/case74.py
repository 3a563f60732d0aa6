"""Digits MLP with dropout: module-level constants, a custom Dataset and train_one_epoch/evaluate functions."""
import json

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from sklearn.datasets import load_digits

SEED = 0
HIDDEN = 256
P_DROP = 0.5
LR = 1e-3
EPOCHS = 12
BATCH = 32


class DigitsDataset(Dataset):
    def __init__(self, indices, mean, std):
        digits = load_digits()
        self.x = torch.tensor((digits.data[indices] - mean) / std, dtype=torch.float32)
        self.y = torch.tensor(digits.target[indices], dtype=torch.long)

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


def make_model():
    return nn.Sequential(
        nn.Linear(64, HIDDEN), nn.ReLU(), nn.Dropout(P_DROP),
        nn.Linear(HIDDEN, HIDDEN), nn.ReLU(), nn.Dropout(P_DROP),
        nn.Linear(HIDDEN, 10),
    )


def train_one_epoch(model, loader, optimizer, loss_fn):
    model.train()
    total, n = 0.0, 0
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item() * len(yb)
        n += len(yb)
    return total / n


@torch.no_grad()
def evaluate(model, loader, loss_fn):
    model.eval()
    total, correct, n = 0.0, 0, 0
    for xb, yb in loader:
        out = model(xb)
        total += loss_fn(out, yb).item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
        n += len(yb)
    return total / n, correct / n


def main():
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    order = rng.permutation(1797)
    train_idx, val_idx = order[:1400], order[1400:]
    data = load_digits().data
    mean, std = data[train_idx].mean(0), data[train_idx].std(0) + 1e-3
    train_loader = DataLoader(DigitsDataset(train_idx, mean, std), batch_size=BATCH, shuffle=True)
    val_loader = DataLoader(DigitsDataset(val_idx, mean, std), batch_size=128)

    model = make_model()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(EPOCHS):
        train_loss = train_one_epoch(model, train_loader, optimizer, loss_fn)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn)
        print(f"epoch {epoch + 1:2d}  train loss {train_loss:.4f}  val loss {val_loss:.4f}  val acc {val_acc:.3f}")
    print(json.dumps({"val_acc": round(val_acc, 4), "val_loss": round(val_loss, 4)}))


if __name__ == "__main__":
    main()
