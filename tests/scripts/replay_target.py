"""A small 3-class problem; --bug picks what is wrong with the loop (tests of the replays)."""

import argparse

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--bug", default="none",
                    choices=["none", "no_zero_grad", "shuffled_labels", "high_lr", "eval_mode", "sum_loss",
                             "tiny_batches"])
parser.add_argument("--workers", type=int, default=0)
parser.add_argument("--epochs", type=int, default=12)
args = parser.parse_args()

torch.manual_seed(0)
centers = torch.randn(3, 10) * 2
labels = torch.randint(0, 3, (1200,))
inputs = centers[labels] + torch.randn(1200, 10)
if args.bug == "shuffled_labels":
    labels = labels[torch.randperm(len(labels))]

if __name__ == "__main__":
    batch_size = 2 if args.bug == "tiny_batches" else 32
    loader = DataLoader(TensorDataset(inputs, labels), batch_size=batch_size, shuffle=True, num_workers=args.workers)
    model = nn.Sequential(nn.Linear(10, 64), nn.ReLU(), nn.BatchNorm1d(64), nn.Linear(64, 3))
    lr = 5.0 if args.bug == "high_lr" else 0.05
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
    for epoch in range(args.epochs):
        if args.bug != "eval_mode" or epoch == 0:
            model.train()
        total = 0.0
        for xb, yb in loader:
            if args.bug != "no_zero_grad":
                optimizer.zero_grad()
            reduction = "sum" if args.bug == "sum_loss" else "mean"
            loss = nn.functional.cross_entropy(model(xb), yb, reduction=reduction)
            loss.backward()
            optimizer.step()
            total += loss.item()
        model.eval()
        with torch.no_grad():
            accuracy = (model(inputs[:200]).argmax(1) == labels[:200]).float().mean().item()
        print(f"epoch {epoch} loss {total / len(loader):.3f} accuracy {accuracy:.3f}")
