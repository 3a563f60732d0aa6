"""CNN on digit images."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset


class SmallCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                      nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.classifier = nn.Linear(32 * 2 * 2, 10)

    def forward(self, x):
        return self.classifier(self.features(x).flatten(1))


torch.manual_seed(0)
digits = load_digits()
pixels = torch.tensor(digits.images * 255.0 / 16.0, dtype=torch.float32).unsqueeze(1)
loader = DataLoader(TensorDataset(pixels, torch.tensor(digits.target)), batch_size=32, shuffle=True)
net = SmallCNN()
opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
for epoch in range(4):
    total, hits, n = 0.0, 0, 0
    for xb, yb in loader:
        out = net(xb)
        loss = F.cross_entropy(out, yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
        hits += (out.argmax(1) == yb).sum().item()
        n += len(yb)
    print(f"epoch {epoch}: loss {total / n:.3f} acc {hits / n:.3f}")
