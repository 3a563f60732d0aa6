"""Tumour classifier on the breast-cancer table: a small data module, a Dataset and a fit loop."""
import json

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def load_tables(seed):
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(X_tr)
    return scaler, (scaler.transform(X_tr), y_tr), (scaler.transform(X_va), y_va)


class TabularDataset(Dataset):
    def __init__(self, features, labels, scaler=None):
        if scaler is not None:
            features = scaler.transform(features)
        self.features = torch.as_tensor(np.asarray(features), dtype=torch.float32)
        self.labels = torch.as_tensor(labels, dtype=torch.float32)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return {"x": self.features[i], "y": self.labels[i]}


class DataModule:
    def __init__(self, batch_size=32, seed=0):
        self.batch_size, self.seed = batch_size, seed

    def setup(self):
        self.scaler, train, val = load_tables(self.seed)
        self.train_set = TabularDataset(*train, scaler=self.scaler)
        self.val_set = TabularDataset(*val, scaler=self.scaler)

    def train_dataloader(self):
        return DataLoader(self.train_set, batch_size=self.batch_size, shuffle=True)

    def val_dataloader(self):
        return DataLoader(self.val_set, batch_size=len(self.val_set))


def fit(model, dm, epochs, lr):
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    loss_fn = nn.BCEWithLogitsLoss()
    for epoch in range(epochs):
        model.train()
        losses = []
        for batch in dm.train_dataloader():
            opt.zero_grad()
            loss = loss_fn(model(batch["x"]).squeeze(-1), batch["y"])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        model.eval()
        with torch.no_grad():
            batch = next(iter(dm.val_dataloader()))
            logits = model(batch["x"]).squeeze(-1)
            val_loss = loss_fn(logits, batch["y"]).item()
            val_acc = ((logits > 0).float() == batch["y"]).float().mean().item()
        print(f"epoch {epoch:2d}  train loss {np.mean(losses):.4f}  val loss {val_loss:.4f}  val acc {val_acc:.3f}")
    return val_loss, val_acc


if __name__ == "__main__":
    torch.manual_seed(0)
    dm = DataModule(batch_size=32)
    dm.setup()
    model = nn.Sequential(nn.Linear(30, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
    val_loss, val_acc = fit(model, dm, epochs=15, lr=0.01)
    print(json.dumps({"val_acc": round(val_acc, 4), "val_loss": round(val_loss, 4)}))
