"""Disease-progression regressor on the diabetes table: NamedTuple settings, a step closure, patience."""
import json
from functools import partial
from typing import NamedTuple

import torch
from torch import nn
from sklearn.datasets import load_diabetes


class Settings(NamedTuple):
    hidden: int = 64
    lr: float = 3e-3
    batch: int = 32
    max_epochs: int = 40
    patience: int = 8
    seed: int = 0


def standardize(train, other):
    mean, std = train.mean(0, keepdim=True), train.std(0, keepdim=True)
    return (train - mean) / std, (other - mean) / std


def step(model, opt, criterion, xb, yb):
    opt.zero_grad()
    loss = criterion(model(xb), yb)
    loss.backward()
    opt.step()
    return loss.item()


def metrics(model, X, Y):
    with torch.no_grad():
        pred = model(X)
    mse = torch.mean((pred - Y) ** 2).item()
    return mse, 1.0 - mse / Y.var(unbiased=False).item()


def main(s: Settings):
    torch.manual_seed(s.seed)
    X, y = load_diabetes(return_X_y=True)
    X = torch.tensor(X, dtype=torch.float32)
    Y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
    perm = torch.randperm(len(X), generator=torch.Generator().manual_seed(s.seed))
    tr, va = perm[:350], perm[350:]
    X_tr, X_va = standardize(X[tr], X[va])
    Y_tr, Y_va = standardize(Y[tr], Y[va])

    model = nn.Sequential(nn.Linear(X.shape[1], s.hidden), nn.ReLU(), nn.Linear(s.hidden, s.hidden), nn.ReLU(),
                          nn.Linear(s.hidden, 1))
    opt = torch.optim.Adam(model.parameters(), lr=s.lr)
    train_step = partial(step, model, opt, nn.CrossEntropyLoss())

    best, best_state, waited, epoch = float("inf"), None, 0, 0
    while epoch < s.max_epochs and waited < s.patience:
        model.train()
        losses = [train_step(X_tr[idx], Y_tr[idx]) for idx in torch.randperm(len(X_tr)).split(s.batch)]
        model.eval()
        val_mse, val_r2 = metrics(model, X_va, Y_va)
        print(f"epoch {epoch:2d}  loss {sum(losses) / len(losses):.4f}  val mse {val_mse:.4f}  val r2 {val_r2:.3f}")
        if val_mse < best - 1e-4:
            best, waited = val_mse, 0
            best_state = {k: v.clone() for k, v in model.state_dict().items()}
        else:
            waited += 1
        epoch += 1
    model.load_state_dict(best_state)
    val_mse, val_r2 = metrics(model, X_va, Y_va)
    print(json.dumps({"val_mse": round(val_mse, 4), "val_r2": round(val_r2, 4)}))


if __name__ == "__main__":
    main(Settings())
