"""A small CNN for 8x8 digits, trained with RMSprop."""
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits


class Conv(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)
        x = F.max_pool2d(F.relu(self.c2(x)), 2)
        return self.fc(torch.flatten(x, 1))


torch.manual_seed(0)
d = load_digits()
X = torch.tensor(d.images, dtype=torch.float32)[:, None] / 16.0
Y = torch.tensor(d.target)
model = Conv()
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-7)
for epoch in range(4):
    perm = torch.randperm(1500)
    for i in range(0, 1500, 32):
        j = perm[i:i + 32]
        optimizer.zero_grad()
        loss = F.cross_entropy(model(X[j]), Y[j])
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        acc = (model(X[1500:]).argmax(1) == Y[1500:]).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.4f} acc {acc:.3f}")
