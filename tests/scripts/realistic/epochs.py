"""Digits classifier with epochs longer than a short observation: validation after each epoch,
a learning-rate schedule stepped per epoch, dropout and batch norm."""
import argparse

import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=6)
parser.add_argument("--bug", default="none",
                    choices=["none", "train_not_restored", "schedule_collapse", "scheduler_per_batch"])
args = parser.parse_args()

torch.manual_seed(0)
images, labels = load_digits(return_X_y=True)
x = torch.tensor(images, dtype=torch.float32).view(-1, 1, 8, 8) / 16.0
x = (x - x.mean()) / x.std()
y = torch.tensor(labels)
train = DataLoader(TensorDataset(x[:1400], y[:1400]), batch_size=8, shuffle=True)
val = DataLoader(TensorDataset(x[1400:], y[1400:]), batch_size=64)

model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Dropout(0.3), nn.Linear(16 * 16, 64), nn.ReLU(), nn.Linear(64, 10))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
gamma = 0.01 if args.bug == "schedule_collapse" else 0.8
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=gamma)


def validate():
    model.eval()
    correct = 0
    with torch.no_grad():
        for xb, yb in val:
            correct += (model(xb).argmax(1) == yb).sum().item()
    return correct / len(val.dataset)


model.train()
for epoch in range(args.epochs):
    if args.bug != "train_not_restored":
        model.train()
    for xb, yb in train:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        if args.bug == "scheduler_per_batch":
            scheduler.step()
    if args.bug != "scheduler_per_batch":
        scheduler.step()
    print(f"epoch {epoch} loss {loss.item():.3f} val acc {validate():.3f} lr {scheduler.get_last_lr()[0]:.2e}")
