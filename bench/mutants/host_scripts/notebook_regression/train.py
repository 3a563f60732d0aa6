# %% [markdown]
# # Regression on a synthetic table

# %%
import json

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import make_regression
from sklearn.model_selection import train_test_split
from torch import nn

torch.manual_seed(8)

# %%
X, y = make_regression(n_samples=1600, n_features=12, n_informative=8, noise=15.0, random_state=8)
y = y + 0.02 * y ** 2
X = X * np.logspace(0, 2, 12)
Xtr, Xte, ytr, yte = train_test_split(X, y, test_size=0.25, random_state=8)
Xtr.shape, Xte.shape

# %%
mu, sigma = Xtr.mean(0), Xtr.std(0)
Xtr = (Xtr - mu) / sigma
Xte = (Xte - mu) / sigma
y_mu, y_sigma = ytr.mean(), ytr.std()
ytr = (ytr - y_mu) / y_sigma
yte = (yte - y_mu) / y_sigma

xt = torch.tensor(Xtr, dtype=torch.float32)
yt = torch.tensor(ytr, dtype=torch.float32)[:, None]
xv = torch.tensor(Xte, dtype=torch.float32)
yv = torch.tensor(yte, dtype=torch.float32)[:, None]

# %%
net = nn.Sequential(nn.Linear(12, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))
opt = torch.optim.SGD(net.parameters(), lr=0.02, momentum=0.9)

# %%
losses = []
for epoch in range(30):
    net.train()
    order = torch.randperm(len(xt))
    for i in range(0, len(xt), 50):
        batch = order[i:i + 50]
        opt.zero_grad()
        loss = F.mse_loss(net(xt[batch]), yt[batch])
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        losses.append(F.mse_loss(net(xv), yv).item())
losses[::5]

# %%
with torch.no_grad():
    residual = net(xv) - yv
print(json.dumps({"val_mse": round((residual ** 2).mean().item(), 4)}))
