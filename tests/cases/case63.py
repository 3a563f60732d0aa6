"""Five-class tabular classifier configured through a dataclass."""
from dataclasses import dataclass

import torch
from torch import nn
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


@dataclass
class Config:
    n_samples: int = 3000
    hidden: int = 128
    depth: int = 3
    dropout: float = 0.2
    lr: float = 1e-3
    batch_size: int = 64
    epochs: int = 6
    seed: int = 0


def build(cfg: Config, n_in: int, n_out: int) -> nn.Sequential:
    layers, width = [], n_in
    for _ in range(cfg.depth):
        layers += [nn.Linear(width, cfg.hidden), nn.ReLU(), nn.Dropout(cfg.dropout)]
        width = cfg.hidden
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


def main(cfg: Config):
    torch.manual_seed(cfg.seed)
    X, y = make_classification(n_samples=cfg.n_samples, n_features=20, n_informative=12, n_redundant=4,
                               n_classes=5, n_clusters_per_class=1, class_sep=1.5, random_state=cfg.seed)
    X = StandardScaler().fit_transform(X)
    X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
    split = int(0.8 * len(X))
    model = build(cfg, X.shape[1], 5)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    for epoch in range(cfg.epochs):
        model.train()
        total = 0.0
        for idx in torch.randperm(split).split(cfg.batch_size):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        model.eval()
        with torch.no_grad():
            acc = (model(X[split:]).argmax(1) == y[split:]).float().mean().item()
        print(f"epoch {epoch}  train loss {total / split:.4f}  val acc {acc:.3f}")


if __name__ == "__main__":
    main(Config())
