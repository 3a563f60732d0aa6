"""Digits: a convolutional feature stage and a linear classifier."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits


class Features(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 64, 3, padding=1),
                                  nn.ReLU(), nn.MaxPool2d(2))

    def forward(self, x):
        return self.conv(x).flatten(1)


class Pipeline(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = Features()
        self.classifier = nn.Linear(64 * 16, 10)

    def forward(self, x):
        with torch.no_grad():
            f = self.features(x)
        return self.classifier(f)


torch.manual_seed(0)
d = load_digits()
x = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
y = torch.tensor(d.target)
model = Pipeline()
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
for epoch in range(4):
    for idx in torch.randperm(1500).split(32):
        opt.zero_grad()
        loss = F.cross_entropy(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(x[1500:]).argmax(1) == y[1500:]).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} acc {acc:.3f}")
