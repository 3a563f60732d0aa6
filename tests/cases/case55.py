"""Three-class tabular classifier trained by a generic fit() that runs epoch callbacks."""
import torch
from torch import nn
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler


def fit(model, train, lr, epochs, batch_size, callbacks=()):
    X, y = train
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    for epoch in range(epochs):
        model.train()
        losses = []
        for idx in torch.randperm(len(X)).split(batch_size):
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            losses.append(loss.item())
        logs = {"epoch": epoch, "loss": sum(losses) / len(losses)}
        for cb in callbacks:
            cb(model, logs)
    return model


def validation_callback(X, y):
    def cb(model, logs):
        model.eval()
        with torch.no_grad():
            logits = model(X)
        logs["val_loss"] = nn.functional.cross_entropy(logits, y).item()
        logs["val_acc"] = (logits.argmax(1) == y).float().mean().item()
    return cb


def print_callback(model, logs):
    print("  ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in logs.items()))


torch.manual_seed(0)
X, y = make_classification(n_samples=2000, n_features=16, n_informative=8, n_redundant=2, n_classes=3,
                           class_sep=1.5, random_state=13)
X = StandardScaler().fit_transform(X)
X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
fit(model, (X[:1600], y[:1600]), lr=1e-5, epochs=6, batch_size=32,
    callbacks=[validation_callback(X[1600:], y[1600:]), print_callback])
