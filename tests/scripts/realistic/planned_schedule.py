"""Blobs classifier whose epochs are far longer than a short observation, with a learning-rate
schedule planned over the whole run: some reach ~0 only at the planned end (healthy), others
collapse long before it but after the observed steps."""
import argparse

import torch
from torch import nn
from torch.optim import lr_scheduler
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--schedule", default="cosine",
                    choices=["cosine", "onecycle", "plateau", "step_per_batch", "poly_one_epoch"])
args = parser.parse_args()

torch.manual_seed(0)
centers = torch.randn(4, 16) * 2
labels = torch.randint(0, 4, (8000,))
inputs = centers[labels] + torch.randn(8000, 16)
train = DataLoader(TensorDataset(inputs, labels), batch_size=16, shuffle=True)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
planned = args.epochs * len(train)
if args.schedule == "cosine":
    scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=planned)
elif args.schedule == "onecycle":
    scheduler = lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=planned)
elif args.schedule == "plateau":
    scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, patience=0)
elif args.schedule == "step_per_batch":
    scheduler = lr_scheduler.StepLR(optimizer, step_size=20, gamma=0.1)
else:
    scheduler = lr_scheduler.PolynomialLR(optimizer, total_iters=len(train))

for epoch in range(args.epochs):
    model.train()
    total = 0.0
    for xb, yb in train:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
        total += loss.item()
        if args.schedule != "plateau":
            scheduler.step()
    if args.schedule == "plateau":
        scheduler.step(total / len(train))
    print(f"epoch {epoch} loss {total / len(train):.3f} lr {optimizer.param_groups[0]['lr']:.2e}")
