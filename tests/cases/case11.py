"""Deep-ish MLP built from a ModuleList."""
import torch
from torch import nn
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


class Stack(nn.Module):
    def __init__(self, n_in, width, depth, n_out):
        super().__init__()
        dims = [n_in] + [width] * depth
        self.hidden = nn.ModuleList(nn.Linear(a, b) for a, b in zip(dims[:-1], dims[1:]))
        self.final = nn.Linear(width, n_out)
        for layer in self.hidden:
            nn.init.constant_(layer.bias, -6.0)

    def forward(self, x):
        for layer in self.hidden:
            x = F.relu(layer(x))
        return self.final(x)


torch.manual_seed(0)
X, y = make_classification(n_samples=2000, n_features=12, n_informative=8, n_classes=4, random_state=3)
X = StandardScaler().fit_transform(X)
X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)

net = Stack(12, 64, 3, 4)
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(6):
    perm = torch.randperm(len(X))
    epoch_loss = 0.0
    for chunk in perm.split(64):
        loss = F.cross_entropy(net(X[chunk]), y[chunk])
        opt.zero_grad()
        loss.backward()
        opt.step()
        epoch_loss += loss.item()
    print("epoch", epoch, "loss", epoch_loss / len(perm.split(64)))
