"""Small CNN on 8x8 digits; hyperparameters collected in a config dict."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits

CONFIG = {
    "channels": (16, 32),
    "hidden": 64,
    "batch_size": 32,
    "epochs": 5,
    "optimizer": {"lr": 1.0},
    "seed": 0,
}


def make_cnn(channels, hidden):
    c1, c2 = channels
    return nn.Sequential(
        nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(),
        nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(c2 * 16, hidden), nn.ReLU(), nn.Linear(hidden, 10))


def accuracy(model, x, y):
    with torch.no_grad():
        return (model(x).argmax(1) == y).float().mean().item()


def main(cfg):
    torch.manual_seed(cfg["seed"])
    digits = load_digits()
    x = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1)
    x = (x - x.mean()) / x.std()
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(y))
    tr, te = perm[:1500], perm[1500:]
    loader = DataLoader(TensorDataset(x[tr], y[tr]), batch_size=cfg["batch_size"], shuffle=True)
    model = make_cnn(cfg["channels"], cfg["hidden"])
    opt = torch.optim.SGD(model.parameters(), **cfg["optimizer"])
    for epoch in range(cfg["epochs"]):
        total, count = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            count += len(yb)
        print(f"epoch {epoch + 1}: loss {total / count:.4f}  train acc {accuracy(model, x[tr], y[tr]):.3f}  "
              f"test acc {accuracy(model, x[te], y[te]):.3f}")


if __name__ == "__main__":
    main(CONFIG)
