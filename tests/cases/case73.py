"""Wine cultivar model written as training_step/validation_step hooks driven by a tiny engine."""
import json

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split


class CultivarModel(nn.Module):
    def __init__(self, n_features, n_classes):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(),
                                 nn.Linear(32, n_classes))
        self.loss = nn.CrossEntropyLoss()

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch):
        x, y = batch
        return self.loss(self(x), y)

    def validation_step(self, batch):
        x, y = batch
        logits = self(x)
        return {"loss": self.loss(logits, y).item() * len(y), "correct": (logits.argmax(1) == y).sum().item(),
                "n": len(y)}

    def configure_optimizer(self):
        return torch.optim.Adam(self.parameters(), lr=5e-3)


def engine(module, train_loader, val_loader, max_epochs):
    opt = module.configure_optimizer()
    logs = []
    for epoch in range(max_epochs):
        module.train()
        batch_losses = []
        for batch in train_loader:
            opt.zero_grad()
            loss = module.training_step(batch)
            loss.backward()
            opt.step()
            batch_losses.append(loss.item())
        module.eval()
        with torch.no_grad():
            outs = [module.validation_step(b) for b in val_loader]
        n = sum(o["n"] for o in outs)
        logs.append({"epoch": epoch, "train_loss": float(np.mean(batch_losses)),
                     "val_loss": sum(o["loss"] for o in outs) / n, "val_acc": sum(o["correct"] for o in outs) / n})
        print("epoch {epoch}  train loss {train_loss:.4f}  val loss {val_loss:.4f}  val acc {val_acc:.3f}".format(**logs[-1]))
    return logs


def tensors(X, y):
    return TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.long))


torch.manual_seed(0)
X, y = load_wine(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=4, stratify=y)
mu, sigma = X_train.mean(axis=0), X_train.std(axis=0)
train_loader = DataLoader(tensors((X_train - mu) / sigma, y_train), batch_size=16, shuffle=True)
val_loader = DataLoader(tensors(X_val, y_val), batch_size=64)

logs = engine(CultivarModel(X.shape[1], 3), train_loader, val_loader, max_epochs=12)
print(json.dumps({"val_acc": round(logs[-1]["val_acc"], 4), "val_loss": round(logs[-1]["val_loss"], 4)}))
