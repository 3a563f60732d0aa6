"""Disease-progression regression on the diabetes table, with early stopping on a validation split."""
import copy

import torch
from torch import nn
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


class EarlyStopping:
    def __init__(self, patience):
        self.patience, self.best, self.bad, self.state = patience, float("inf"), 0, None

    def update(self, value, model):
        if value < self.best:
            self.best, self.bad, self.state = value, 0, copy.deepcopy(model.state_dict())
        else:
            self.bad += 1
        return self.bad >= self.patience


torch.manual_seed(0)
X, y = load_diabetes(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, random_state=0)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_va))
y_tr, y_va = (torch.tensor(a, dtype=torch.float32).unsqueeze(1) for a in (y_tr, y_va))

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 1), nn.Sigmoid())
opt = torch.optim.Adam(model.parameters(), lr=5e-3)
stopper = EarlyStopping(patience=8)

for epoch in range(80):
    model.train()
    for idx in torch.randperm(len(X_tr)).split(32):
        opt.zero_grad()
        loss = nn.functional.mse_loss(model(X_tr[idx]), y_tr[idx])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        val_mse = nn.functional.mse_loss(model(X_va), y_va).item()
    if epoch % 5 == 0:
        print(f"epoch {epoch:2d}  last batch mse {loss.item():9.1f}  val mse {val_mse:9.1f}")
    if stopper.update(val_mse, model):
        print(f"stopping at epoch {epoch}")
        break

model.load_state_dict(stopper.state)
with torch.no_grad():
    pred = model(X_va)
r2 = 1 - ((pred - y_va) ** 2).sum() / ((y_va - y_va.mean()) ** 2).sum()
print(f"best val mse {stopper.best:.1f}  val r2 {r2.item():.3f}")
