"""Tabular classifier with an explicit weight initialisation pass."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification
from torch.utils.data import DataLoader, TensorDataset


def init_weights(m):
    if isinstance(m, nn.Linear):
        nn.init.constant_(m.weight, 0.05)
        nn.init.zeros_(m.bias)


class MLP(nn.Module):
    def __init__(self, sizes):
        super().__init__()
        layers = []
        for a, b in zip(sizes[:-2], sizes[1:-1]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        layers.append(nn.Linear(sizes[-2], sizes[-1]))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


torch.manual_seed(0)
X, y = make_classification(n_samples=2000, n_features=16, n_informative=10, n_classes=3, random_state=8)
ds = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y))
train_ds, val_ds = torch.utils.data.random_split(ds, [1600, 400])
dl = DataLoader(train_ds, batch_size=32, shuffle=True)

clf = MLP([16, 64, 64, 3])
clf.apply(init_weights)
optim = torch.optim.Adam(clf.parameters(), lr=1e-3)
ce = nn.CrossEntropyLoss()

for ep in range(5):
    clf.train()
    for xb, yb in dl:
        optim.zero_grad()
        loss = ce(clf(xb), yb)
        loss.backward()
        optim.step()
    clf.eval()
    with torch.no_grad():
        xv, yv = val_ds[:]
        acc = (clf(xv).argmax(1) == yv).float().mean().item()
    print(f"ep {ep} loss {loss.item():.4f} val acc {acc:.3f}")
