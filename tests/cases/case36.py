"""Fraud-style detector: one logit per transaction, weighted BCE loss."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification

torch.manual_seed(0)
X, y = make_classification(n_samples=4000, n_features=15, n_informative=4, weights=[0.96, 0.04], flip_y=0.01,
                           class_sep=0.6, random_state=2)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.float32)
positives = y[:3200].sum()
net = nn.Sequential(nn.Linear(15, 16), nn.ReLU(), nn.Linear(16, 1))
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
bce = nn.BCEWithLogitsLoss(pos_weight=(3200 - positives) / positives)
for epoch in range(3):
    for idx in torch.randperm(3200).split(48):
        opt.zero_grad()
        loss = bce(net(X[idx]).squeeze(1), y[idx])
        loss.backward()
        opt.step()
    with torch.no_grad():
        flagged = (net(X[3200:]).squeeze(1) > 0).float()
        hit = (flagged * y[3200:]).sum()
    print(f"epoch {epoch} loss {loss.item():.4f} flagged {int(flagged.sum())}, caught {int(hit)} of "
          f"{int(y[3200:].sum())}")
