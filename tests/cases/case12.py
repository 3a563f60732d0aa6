"""Binary classification with a single-logit output."""
import numpy as np
import torch
from torch import nn
from sklearn.datasets import make_classification


def batches(x, y, size, rng):
    order = rng.permutation(len(x))
    for i in range(0, len(x), size):
        j = order[i:i + size]
        yield torch.from_numpy(x[j]), torch.from_numpy(y[j])


def main():
    rng = np.random.default_rng(0)
    torch.manual_seed(0)
    x, y = make_classification(n_samples=1200, n_features=10, random_state=1)
    x = x.astype(np.float32)
    model = nn.Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Linear(32, 1), nn.Flatten(0))
    crit = nn.BCEWithLogitsLoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    for epoch in range(5):
        for xb, yb in batches(x, y, 32, rng):
            opt.zero_grad()
            loss = crit(model(xb), yb)
            loss.backward()
            opt.step()
        print(epoch, loss.item())


if __name__ == "__main__":
    main()
