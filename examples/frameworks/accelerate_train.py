"""An `accelerate` script: `diagnose examples/frameworks/accelerate_train.py` reports it healthy.

Planted bugs, one at a time: `-- --bug lr` (LR 100x too high), `--bug zero_grad` (the loop never
calls optimizer.zero_grad()), `--bug detach` (the head is trained on detached features: the
encoder never learns), `--bug loss` (cross-entropy given softmax probabilities).
"""

import argparse

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--bug", choices=["none", "lr", "zero_grad", "detach", "loss"], default="none")
parser.add_argument("--epochs", type=int, default=20)
bug = parser.parse_args().bug


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.encoder(x)
        return self.head(features.detach() if bug == "detach" else features)


torch.manual_seed(0)
x = torch.randn(4096, 16)
y = (x[:, :4] * x[:, 4:8]).argmax(1)  # four balanced classes, not linearly separable
accelerator = Accelerator(cpu=True)
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=0.3 if bug == "lr" else 3e-3)
loader = DataLoader(TensorDataset(x[:3584], y[:3584]), batch_size=64, shuffle=True)
val_loader = DataLoader(TensorDataset(x[3584:], y[3584:]), batch_size=256)
model, optimizer, loader, val_loader = accelerator.prepare(model, optimizer, loader, val_loader)

for epoch in range(parser.parse_args().epochs):
    model.train()
    for xb, yb in loader:
        logits = model(xb)
        loss = F.cross_entropy(logits.softmax(1) if bug == "loss" else logits, yb)
        accelerator.backward(loss)
        optimizer.step()
        if bug != "zero_grad":
            optimizer.zero_grad()
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in val_loader:
            correct += (model(xb).argmax(1) == yb).sum().item()
    accelerator.print(f"epoch {epoch}: loss {loss.item():.4f} val accuracy {correct / 512:.3f}")
