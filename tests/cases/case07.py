"""Regression on a synthetic tabular dataset loaded through a custom Dataset."""
import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, Dataset

rng = np.random.default_rng(5)
table = rng.normal(size=(1500, 10)).astype(np.float32)
coef = rng.uniform(-1, 1, size=10).astype(np.float32)
target = table @ coef + 0.3 * np.tanh(table[:, 0] * table[:, 1])
rows = rng.choice(1500, size=6, replace=False)
table[rows, rng.integers(0, 10, size=6)] = np.nan


class Rows(Dataset):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __len__(self):
        return len(self.a)

    def __getitem__(self, k):
        return torch.from_numpy(self.a[k]), torch.tensor([self.b[k]], dtype=torch.float32)


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.hidden = nn.Linear(10, 32)
        self.act = nn.GELU()
        self.out = nn.Linear(32, 1)

    def forward(self, x):
        return self.out(self.act(self.hidden(x)))


torch.manual_seed(0)
loader = DataLoader(Rows(table, target), batch_size=25, shuffle=True)
reg = Regressor()
opt = torch.optim.SGD(reg.parameters(), lr=0.01, momentum=0.9)
mse = nn.MSELoss()
for epoch in range(4):
    acc_loss = 0.0
    for feats, tgt in loader:
        opt.zero_grad()
        loss = mse(reg(feats), tgt)
        loss.backward()
        opt.step()
        acc_loss += loss.item()
    print(f"{epoch}: {acc_loss / len(loader):.4f}")
