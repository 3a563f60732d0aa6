"""Tabular classifier with dropout, scored on a holdout split after every epoch."""
import numpy as np
import torch
from torch import nn
from sklearn.datasets import make_classification

X, y = make_classification(n_samples=2400, n_features=16, n_informative=10, n_classes=3, random_state=5)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)
Xtr, ytr, Xte, yte = X[:2000], y[:2000], X[2000:], y[2000:]

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(16, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 128), nn.ReLU(),
                      nn.Dropout(0.5), nn.Linear(128, 3))
loss_fn = nn.CrossEntropyLoss()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)


def holdout_score():
    out = model(Xte)
    return loss_fn(out, yte).item(), (out.argmax(1) == yte).float().mean().item()


for epoch in range(6):
    for idx in torch.randperm(2000).split(50):
        loss = loss_fn(model(Xtr[idx]), ytr[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
    print(epoch, *np.round(holdout_score(), 4))
