"""Multi-class tabular model with argparse settings and periodic validation."""
import argparse

import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import make_classification


def get_args():
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=12)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hidden", type=int, default=96)
    return p.parse_args()


class Block(nn.Module):
    def __init__(self, a, b, p):
        super().__init__()
        self.fc = nn.Linear(a, b)
        self.bn = nn.BatchNorm1d(b)
        self.drop = nn.Dropout(p)

    def forward(self, x):
        return self.drop(F.relu(self.bn(self.fc(x))))


class Classifier(nn.Module):
    def __init__(self, n_in, hidden, n_out):
        super().__init__()
        self.blocks = nn.Sequential(Block(n_in, hidden, 0.3), Block(hidden, hidden, 0.3), Block(hidden, hidden, 0.3))
        self.out = nn.Linear(hidden, n_out)

    def forward(self, x):
        return self.out(self.blocks(x))


def validate(model, xs, ys):
    model.eval()
    with torch.no_grad():
        logits = model(xs)
        return F.cross_entropy(logits, ys).item(), (logits.argmax(1) == ys).float().mean().item()


def main():
    args = get_args()
    torch.manual_seed(7)
    X, y = make_classification(n_samples=3000, n_features=24, n_informative=12, n_classes=5,
                               n_clusters_per_class=1, random_state=2)
    X = torch.tensor(X, dtype=torch.float32)
    y = torch.tensor(y, dtype=torch.long)
    Xtr, ytr, Xva, yva = X[:2400], y[:2400], X[2400:], y[2400:]
    model = Classifier(X.shape[1], args.hidden, 5)
    opt = torch.optim.RMSprop(model.parameters(), lr=args.lr)
    model.train()
    for epoch in range(args.epochs):
        perm = torch.randperm(len(Xtr))
        for i in range(0, len(Xtr), args.batch_size):
            idx = perm[i:i + args.batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(model(Xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        if epoch % 3 == 0:
            vl, acc = validate(model, Xva, yva)
            print(f"epoch {epoch} train {loss.item():.3f} val {vl:.3f} acc {acc:.3f}")


if __name__ == "__main__":
    main()
