"""A small 3-class problem trained with one way of failing (--failure), for the verdict tests."""

import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--failure", default="none",
                    choices=["none", "flat", "chance", "diverge", "nan", "collapse", "val_chance"])
args = parser.parse_args()

torch.manual_seed(0)
weights = [0.97, 0.015, 0.015] if args.failure == "collapse" else [1 / 3] * 3
labels = torch.multinomial(torch.tensor(weights), 1500, replacement=True)
inputs = torch.randn(3, 10)[labels] * 2 + torch.randn(1500, 10)
if args.failure == "chance":
    labels = labels[torch.randperm(len(labels))]
if args.failure == "nan":
    inputs[::50, 3] = float("nan")
train_x, train_y, val_x, val_y = inputs[:1200], labels[:1200], inputs[1200:], labels[1200:]
if args.failure == "val_chance":
    val_y = val_y[torch.randperm(len(val_y))]

model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.Linear(64, 3))
if args.failure == "collapse":
    with torch.no_grad():
        model[2].bias.copy_(torch.tensor([8.0, 0.0, 0.0]))
lr = {"flat": 0.0, "diverge": 3.0, "collapse": 1e-5}.get(args.failure, 0.05)
optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
for epoch in range(8):
    for index in torch.randperm(1200).split(32):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(train_x[index]), train_y[index])
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        val_loss = nn.functional.cross_entropy(model(val_x), val_y).item()
        accuracy = (model(val_x).argmax(1) == val_y).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} val loss {val_loss:.3f} val accuracy {accuracy:.3f}")
