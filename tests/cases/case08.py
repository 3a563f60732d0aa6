"""Digits classifier: a feature extractor followed by a classification head."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset


class Extractor(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1)
        self.conv2 = nn.Conv2d(32, 64, 3, padding=1)
        self.fc = nn.Linear(64 * 4 * 4, 128)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return F.relu(self.fc(x.flatten(1)))


class Model(nn.Module):
    def __init__(self):
        super().__init__()
        self.backbone = Extractor()
        self.head = nn.Linear(128, 10)

    def forward(self, x):
        return self.head(self.backbone(x))


torch.manual_seed(0)
d = load_digits()
images = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
labels = torch.tensor(d.target)
loader = DataLoader(TensorDataset(images[:1400], labels[:1400]), batch_size=64, shuffle=True)

model = Model()
for p in model.backbone.parameters():
    p.requires_grad = False
optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)

for epoch in range(6):
    model.train()
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        acc = (model(images[1400:]).argmax(1) == labels[1400:]).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} held-out acc {acc:.3f}")
