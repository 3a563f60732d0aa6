"""Digits MLP over flattened frames, trained with SGD and a step-decay schedule."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits


def load_frames():
    d = load_digits()
    frames = np.clip(np.round(d.images * 16.0), 0, 255).astype(np.uint8)
    return frames.reshape(len(frames), -1), d.target


torch.manual_seed(0)
frames, labels = load_frames()
x = torch.from_numpy(frames).float()
y = torch.from_numpy(labels).long()
train = DataLoader(TensorDataset(x[:1500], y[:1500]), batch_size=30, shuffle=True)
x_test, y_test = x[1500:], y[1500:]

mlp = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, 10))
opt = torch.optim.SGD(mlp.parameters(), lr=0.05, momentum=0.9)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
for epoch in range(5):
    seen = correct = 0
    total = 0.0
    for xb, yb in train:
        opt.zero_grad()
        out = mlp(xb)
        loss = nn.functional.cross_entropy(out, yb)
        loss.backward()
        opt.step()
        total += loss.item() * len(yb)
        correct += (out.argmax(1) == yb).sum().item()
        seen += len(yb)
    sched.step()
    with torch.no_grad():
        test_acc = (mlp(x_test).argmax(1) == y_test).float().mean().item()
    print(f"epoch {epoch}  loss {total / seen:.4f}  train acc {correct / seen:.3f}  test acc {test_acc:.3f}")
