"""Digits CNN trained with SGD and momentum."""
import torch
from torch import nn
import torch.nn.functional as F
from sklearn.datasets import load_digits


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.hidden = nn.Linear(64 * 4 * 4, 128)
        self.fc = nn.Linear(128, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv2(F.relu(self.conv1(x)))), 2)
        return self.fc(F.relu(self.hidden(x.flatten(1))))


torch.manual_seed(0)
d = load_digits()
x = torch.tensor(d.images / 16.0, dtype=torch.float32)[:, None]
y = torch.tensor(d.target)
net = Net()
optimizer = torch.optim.SGD(net.fc.parameters(), lr=0.05, momentum=0.9)
for epoch in range(4):
    for idx in torch.randperm(1500).split(32):
        optimizer.zero_grad()
        loss = F.cross_entropy(net(x[idx]), y[idx])
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        acc = (net(x[1500:]).argmax(1) == y[1500:]).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} acc {acc:.3f}")
