"""Five-way tabular classifier driven by a plain config dict and a batch generator."""
import json

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

CONFIG = {
    "seed": 3,
    "samples": 5000,
    "features": 16,
    "classes": 5,
    "val_fraction": 0.2,
    "keep": {0: 1.0, 1: 1.0, 2: 0.03, 3: 1.0, 4: 1.0},
    "hidden": [64, 64],
    "lr": 2e-3,
    "batch": 64,
    "epochs": 6,
}


def make_data(cfg):
    X, y = make_classification(n_samples=cfg["samples"], n_features=cfg["features"], n_informative=10,
                               n_redundant=2, n_classes=cfg["classes"], n_clusters_per_class=1,
                               class_sep=1.2, random_state=cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    order = rng.permutation(len(X))
    n_val = int(cfg["val_fraction"] * len(X))
    val_idx, tr_idx = order[:n_val], order[n_val:]
    kept = [i for i in tr_idx if rng.random() < cfg["keep"][int(y[i])]]
    scaler = StandardScaler().fit(X[kept])
    to_t = lambda a, dt: torch.tensor(a, dtype=dt)
    return ((to_t(scaler.transform(X[kept]), torch.float32), to_t(y[kept], torch.long)),
            (to_t(scaler.transform(X[val_idx]), torch.float32), to_t(y[val_idx], torch.long)))


def batches(X, y, size, gen):
    perm = torch.randperm(len(X), generator=gen)
    for start in range(0, len(X), size):
        idx = perm[start:start + size]
        yield X[idx], y[idx]


def init_mlp(sizes, gen):
    layers = []
    for fan_in, fan_out in zip(sizes[:-1], sizes[1:]):
        bound = fan_in ** -0.5
        w = (torch.rand(fan_out, fan_in, generator=gen) * 2 - 1) * bound
        layers.append([w.requires_grad_(), torch.zeros(fan_out, requires_grad=True)])
    return layers


def forward(layers, x):
    for i, (w, b) in enumerate(layers):
        x = F.linear(x, w, b)
        if i < len(layers) - 1:
            x = F.relu(x)
    return x


def per_class_recall(pred, y, n):
    return [round((pred[y == c] == c).float().mean().item(), 3) for c in range(n)]


def main(cfg):
    torch.manual_seed(cfg["seed"])
    gen = torch.Generator().manual_seed(cfg["seed"])
    (X_tr, y_tr), (X_va, y_va) = make_data(cfg)
    print("train counts", torch.bincount(y_tr).tolist(), "val counts", torch.bincount(y_va).tolist())
    layers = init_mlp([cfg["features"], *cfg["hidden"], cfg["classes"]], gen)
    opt = torch.optim.Adam([p for layer in layers for p in layer], lr=cfg["lr"])
    for epoch in range(cfg["epochs"]):
        losses = []
        for xb, yb in batches(X_tr, y_tr, cfg["batch"], gen):
            loss = F.cross_entropy(forward(layers, xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        with torch.no_grad():
            logits = forward(layers, X_va)
            val_loss = F.cross_entropy(logits, y_va).item()
            pred = logits.argmax(1)
        acc = (pred == y_va).float().mean().item()
        recalls = per_class_recall(pred, y_va, cfg["classes"])
        print(f"epoch {epoch}  loss {np.mean(losses):.4f}  val loss {val_loss:.4f}  val acc {acc:.3f}  recall {recalls}")
    macro = float(np.mean(recalls))
    print(json.dumps({"val_acc": round(acc, 4), "val_macro_recall": round(macro, 4), "val_loss": round(val_loss, 4)}))


if __name__ == "__main__":
    main(CONFIG)
