"""Event detector: a binary classifier over noisy tabular features."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification
from torch.utils.data import DataLoader, TensorDataset


class Detector(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(d, 32), nn.ReLU(), nn.Linear(32, 2))

    def forward(self, x):
        return self.layers(x)


class Runner:
    def __init__(self, model, loader, test):
        self.model, self.loader, self.test = model, loader, test
        self.opt = torch.optim.SGD(model.parameters(), lr=0.01)
        self.crit = nn.CrossEntropyLoss()

    def epoch(self):
        for xb, yb in self.loader:
            self.opt.zero_grad()
            loss = self.crit(self.model(xb), yb)
            loss.backward()
            self.opt.step()
        return loss.item()

    def score(self):
        xt, yt = self.test
        with torch.no_grad():
            pred = self.model(xt).argmax(1)
        return (pred == yt).float().mean().item(), int(pred.sum())


torch.manual_seed(0)
X, y = make_classification(n_samples=3000, n_features=20, n_informative=3, n_redundant=2, weights=[0.95, 0.05],
                           flip_y=0.02, class_sep=0.5, random_state=6)
X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
train = DataLoader(TensorDataset(X[:2400], y[:2400]), batch_size=32, shuffle=True)
runner = Runner(Detector(20), train, (X[2400:], y[2400:]))
for e in range(3):
    last = runner.epoch()
    acc, positives = runner.score()
    print(f"epoch {e} loss {last:.4f} test acc {acc:.3f} predicted positives {positives}")
