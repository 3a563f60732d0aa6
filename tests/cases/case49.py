"""Residual MLP on a four-class tabular problem."""
import torch
from torch import nn
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


class Block(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.lin = nn.Linear(width, width)
        self.norm = nn.LayerNorm(width)

    def forward(self, x):
        return x + F.relu(self.lin(self.norm(x)))


class ResidualMLP(nn.Module):
    def __init__(self, n_in, width, n_blocks, n_out):
        super().__init__()
        self.stem = [nn.Linear(n_in, width)]
        self.blocks = [Block(width) for _ in range(n_blocks)]
        self.head = nn.Linear(width, n_out)

    def forward(self, x):
        for layer in self.stem + self.blocks:
            x = layer(x)
        return self.head(x)


torch.manual_seed(0)
X, y = make_classification(n_samples=3000, n_features=24, n_informative=10, n_redundant=4, n_classes=4,
                           n_clusters_per_class=2, class_sep=1.2, random_state=11)
X = StandardScaler().fit_transform(X)
X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
X_tr, y_tr, X_va, y_va = X[:2400], y[:2400], X[2400:], y[2400:]

net = ResidualMLP(24, 8, 3, 4)
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
for epoch in range(5):
    perm = torch.randperm(len(X_tr))
    losses = []
    for idx in perm.split(48):
        opt.zero_grad()
        loss = F.cross_entropy(net(X_tr[idx]), y_tr[idx])
        loss.backward()
        opt.step()
        losses.append(loss.item())
    with torch.no_grad():
        acc = (net(X_va).argmax(1) == y_va).float().mean().item()
    print(f"epoch {epoch}: loss {sum(losses) / len(losses):.4f} val acc {acc:.3f}")
