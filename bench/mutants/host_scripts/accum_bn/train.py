"""Digits with a deep BatchNorm MLP, SGD and gradient accumulation over micro-batches."""
import json

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

ACCUMULATE = 4
MICRO_BATCH = 16


def block(n_in, n_out):
    return nn.Sequential(nn.Linear(n_in, n_out), nn.BatchNorm1d(n_out), nn.ReLU())


class DeepNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(block(64, 128), block(128, 128), block(128, 128), block(128, 128))
        self.dropout = nn.Dropout(0.5)
        self.classifier = nn.Linear(128, 10)

    def forward(self, x):
        return self.classifier(self.dropout(self.features(x)))


@torch.no_grad()
def evaluate(model, loader):
    model.eval()
    loss, hits, seen = 0.0, 0, 0
    for x, y in loader:
        logits = model(x)
        loss += F.cross_entropy(logits, y, reduction="sum").item()
        hits += (logits.argmax(1) == y).sum().item()
        seen += len(y)
    return loss / seen, hits / seen


torch.manual_seed(17)
X, y = load_digits(return_X_y=True)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.3, random_state=17)
X_train = X_train / 16.0
X_val = X_val / 16.0
train_loader = DataLoader(TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train)),
                          batch_size=MICRO_BATCH, shuffle=True, drop_last=True)
val_loader = DataLoader(TensorDataset(torch.tensor(X_val, dtype=torch.float32), torch.tensor(y_val)),
                        batch_size=32)
model = DeepNet()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
for epoch in range(8):
    model.train()
    for i, (x, y) in enumerate(train_loader):
        loss = F.cross_entropy(model(x), y) / ACCUMULATE
        loss.backward()
        if (i + 1) % ACCUMULATE == 0:
            optimizer.step()
            optimizer.zero_grad()
    val_loss, val_acc = evaluate(model, val_loader)
    print(f"epoch {epoch}: val_loss={val_loss:.4f} val_acc={val_acc:.4f}")
print(json.dumps({"val_acc": round(val_acc, 4), "val_loss": round(val_loss, 4)}))
