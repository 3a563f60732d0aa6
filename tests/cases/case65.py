"""Four-class tabular classifier; one optimisation step is a callable object."""
import torch
from torch import nn
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


class SGDStep:
    def __init__(self, model, lr):
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=lr)
        self.calls = 0

    def __call__(self, xb, yb):
        self.opt.zero_grad()
        logits = self.model(xb)
        loss = nn.functional.cross_entropy(logits, yb)
        loss.backward()
        self.opt.step()
        self.calls += 1
        return loss.item(), (logits.argmax(1) == yb).float().mean().item()


torch.manual_seed(0)
X, y = make_classification(n_samples=2500, n_features=20, n_informative=10, n_redundant=5, n_classes=4,
                           class_sep=1.3, random_state=23)
X = torch.tensor(StandardScaler().fit_transform(X), dtype=torch.float32)
y = torch.tensor(y)
model = nn.Sequential(nn.Linear(20, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(),
                      nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 4))
step = SGDStep(model, lr=2.0)

for epoch in range(5):
    stats = [step(X[idx], y[idx]) for idx in torch.randperm(2000).split(40)]
    loss = sum(s[0] for s in stats) / len(stats)
    acc = sum(s[1] for s in stats) / len(stats)
    with torch.no_grad():
        val_acc = (model(X[2000:]).argmax(1) == y[2000:]).float().mean().item()
    print(f"epoch {epoch}  steps {step.calls}  loss {loss:.4f}  train acc {acc:.3f}  val acc {val_acc:.3f}")
