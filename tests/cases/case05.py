"""Digits MLP trained with SGD and momentum."""
import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_digits


class DigitNet(nn.Module):
    def __init__(self, hidden=64):
        super().__init__()
        self.fc1 = nn.Linear(64, hidden)
        self.fc2 = nn.Linear(hidden, 10)

    def forward(self, x):
        h = torch.relu(self.fc1(x))
        return torch.softmax(self.fc2(h), dim=-1)


rng = np.random.default_rng(0)
torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X = (X - X.mean(0)) / (X.std(0) + 1e-6)
idx = rng.permutation(len(X))
X, y = torch.tensor(X[idx], dtype=torch.float32), torch.tensor(y[idx])

net = DigitNet()
criterion = nn.CrossEntropyLoss()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)

step = 0
for epoch in range(8):
    for start in range(0, 1500, 50):
        xb, yb = X[start:start + 50], y[start:start + 50]
        probs = net(xb)
        loss = criterion(probs, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        step += 1
    with torch.no_grad():
        acc = (net(X[1500:]).argmax(1) == y[1500:]).float().mean()
    print(f"epoch={epoch} step={step} loss={loss.item():.4f} holdout_acc={acc:.3f}")
