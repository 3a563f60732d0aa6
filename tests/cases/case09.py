"""Two-stage network: an encoder produces features that a small head classifies."""
import torch
from torch import nn
from sklearn.datasets import make_classification

torch.manual_seed(0)
X, y = make_classification(n_samples=2000, n_features=30, n_informative=10, n_redundant=5, n_classes=4,
                           n_clusters_per_class=2, class_sep=0.8, random_state=11)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y)


class EncoderHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(30, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                                     nn.Linear(128, 16), nn.ReLU())
        self.head = nn.Linear(16, 4)

    def forward(self, x):
        z = self.encoder(x)
        z = z.detach()
        return self.head(z)


model = EncoderHead()
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
lossf = nn.CrossEntropyLoss()
for epoch in range(8):
    perm = torch.randperm(1600)
    for i in range(0, 1600, 64):
        b = perm[i:i + 64]
        out = model(X[b])
        l = lossf(out, y[b])
        opt.zero_grad()
        l.backward()
        opt.step()
    with torch.no_grad():
        acc = (model(X[1600:]).argmax(1) == y[1600:]).float().mean()
    print(epoch, round(l.item(), 4), round(acc.item(), 3))
