"""Digits classifier whose layers live in an nn.ModuleDict."""
import torch
from torch import nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split


class DigitNet(nn.Module):
    def __init__(self, width=128, depth=4):
        super().__init__()
        dims = [64] + [width] * depth
        self.parts = nn.ModuleDict({
            f"hidden{i}": nn.Linear(a, b) for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))
        })
        self.parts["logits"] = nn.Linear(width, 10)
        self.reset_parameters()

    def reset_parameters(self):
        for layer in self.parts.values():
            nn.init.normal_(layer.weight, mean=0.0, std=0.01)
            nn.init.zeros_(layer.bias)

    def forward(self, x):
        for name, layer in self.parts.items():
            x = layer(x) if name == "logits" else torch.tanh(layer(x))
        return x


torch.manual_seed(0)
X, y = load_digits(return_X_y=True)
X = (X - X.mean(0)) / (X.std(0) + 1e-6)
X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, random_state=3, stratify=y)
X_tr, X_te = torch.tensor(X_tr, dtype=torch.float32), torch.tensor(X_te, dtype=torch.float32)
y_tr, y_te = torch.tensor(y_tr), torch.tensor(y_te)

net = DigitNet()
opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
for epoch in range(6):
    net.train()
    running, batches = 0.0, 0
    for idx in torch.randperm(len(X_tr)).split(32):
        opt.zero_grad()
        loss = nn.functional.cross_entropy(net(X_tr[idx]), y_tr[idx])
        loss.backward()
        opt.step()
        running += loss.item()
        batches += 1
    net.eval()
    with torch.no_grad():
        acc = (net(X_te).argmax(1) == y_te).float().mean().item()
    print(f"epoch {epoch}: loss {running / batches:.4f}  test acc {acc:.3f}")
