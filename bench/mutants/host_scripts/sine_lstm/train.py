import json

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

CONFIG = {"window": 24, "hidden": 32, "lr": 0.01, "batch_size": 64, "epochs": 12, "patience": 4, "clip": 1.0}


def series(n_points=4000, seed=13):
    rng = np.random.default_rng(seed)
    t = np.arange(n_points) * 0.05
    return 20.0 + 8.0 * np.sin(t) + 3.0 * np.sin(2.7 * t + 1.0) + 0.4 * rng.standard_normal(n_points)


def windows(values, width):
    idx = np.arange(len(values) - width)[:, None] + np.arange(width + 1)
    chunk = values[idx].astype(np.float32)
    return chunk[:, :width, None], chunk[:, width:]


class Forecaster(nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, batch_first=True)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):
        seq, _ = self.lstm(x)
        return self.out(seq[:, -1])


def fit(cfg):
    torch.manual_seed(13)
    inputs, targets = windows(series(), cfg["window"])
    x_tr, x_va, y_tr, y_va = train_test_split(inputs, targets, test_size=0.25, random_state=13)
    center, spread = x_tr.mean(), x_tr.std()
    x_tr = (x_tr - center) / spread
    x_va = (x_va - center) / spread
    y_tr = (y_tr - center) / spread
    y_va = (y_va - center) / spread
    loader = DataLoader(TensorDataset(torch.from_numpy(x_tr), torch.from_numpy(y_tr)),
                        batch_size=cfg["batch_size"], shuffle=True)
    x_va, y_va = torch.from_numpy(x_va), torch.from_numpy(y_va)
    model = Forecaster(cfg["hidden"])
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg["lr"])
    loss_fn = nn.HuberLoss(delta=1.0)
    best, bad_epochs, steps = float("inf"), 0, 0
    for epoch in range(cfg["epochs"]):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg["clip"])
            optimizer.step()
            steps += 1
            if steps >= 300:
                break
        model.eval()
        with torch.no_grad():
            val = loss_fn(model(x_va), y_va).item()
            mse = ((model(x_va) - y_va) ** 2).mean().item()
        print(f"epoch {epoch} val {val:.5f} mse {mse:.5f}")
        if val < best - 1e-4:
            best, bad_epochs = val, 0
        else:
            bad_epochs += 1
        if bad_epochs >= cfg["patience"] or steps >= 300:
            break
    return mse


if __name__ == "__main__":
    print(json.dumps({"val_mse": round(fit(CONFIG), 5)}))
