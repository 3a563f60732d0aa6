"""Handwritten digit classifier: a small Trainer class with fit/validate over an MLP."""
import json

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


class Trainer:
    def __init__(self, model, lr=1e-3, weight_decay=0.0):
        self.model = model
        self.optimizer = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
        self.criterion = nn.CrossEntropyLoss()
        self.history = []

    def train_epoch(self, loader):
        self.model.train()
        total, count = 0.0, 0
        for inputs, targets in loader:
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(inputs), targets)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(targets)
            count += len(targets)
        return total / count

    @torch.no_grad()
    def validate(self, loader):
        self.model.eval()
        total, hits, count = 0.0, 0, 0
        for inputs, targets in loader:
            logits = self.model(inputs)
            total += self.criterion(logits, targets).item() * len(targets)
            hits += (logits.argmax(1) == targets).sum().item()
            count += len(targets)
        return total / count, hits / count

    def fit(self, train_loader, val_loader, epochs):
        for epoch in range(1, epochs + 1):
            train_loss = self.train_epoch(train_loader)
            val_loss, val_acc = self.validate(val_loader)
            self.history.append({"epoch": epoch, "train_loss": train_loss, "val_loss": val_loss, "val_acc": val_acc})
            print(f"[{epoch:02d}] train {train_loss:.4f} | val {val_loss:.4f} acc {val_acc:.3f}")
        return self.history


def load_splits(seed=0):
    digits = load_digits()
    X = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    rng = np.random.default_rng(seed)
    pick = rng.random(len(y_tr)) < 0.4
    y_tr[pick] = rng.integers(0, 10, pick.sum())
    return (X_tr, y_tr), (X_va, y_va)


def as_loader(arrays, batch_size, shuffle):
    X, y = arrays
    return DataLoader(TensorDataset(torch.from_numpy(X), torch.from_numpy(y)), batch_size=batch_size, shuffle=shuffle)


if __name__ == "__main__":
    torch.manual_seed(0)
    train_arrays, val_arrays = load_splits()
    net = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 10))
    trainer = Trainer(net, lr=1e-3)
    history = trainer.fit(as_loader(train_arrays, 32, True), as_loader(val_arrays, 256, False), epochs=12)
    print(json.dumps({"val_acc": round(history[-1]["val_acc"], 4), "val_loss": round(history[-1]["val_loss"], 4)}))
