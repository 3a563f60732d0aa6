"""Multi-class MLP trained with a hand-written step function."""
import torch
from torch import nn
from sklearn.datasets import make_classification

torch.manual_seed(1)
X, y = make_classification(n_samples=2000, n_features=20, n_informative=12, n_classes=4, random_state=21)
X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 4))
opt = torch.optim.Adam(model.parameters(), lr=1e-3)
opt.zero_grad()


def fit_batch(xb, yb):
    logits = model(xb)
    loss = nn.functional.cross_entropy(logits, yb)
    loss.backward()
    opt.step()
    return loss.item(), (logits.argmax(1) == yb).float().mean().item()


for epoch in range(5):
    for idx in torch.randperm(len(X)).split(40):
        loss, acc = fit_batch(X[idx], y[idx])
    print(f"epoch {epoch} loss {loss:.3f} batch acc {acc:.3f}")
