"""Trains while writing everywhere a real script writes: checkpoints (saved, renamed, reloaded,
pruned), a log file, numpy and JSON metrics. Its LR is too high, so diagnose replays it."""

import json
import logging
import os
import shutil

import numpy as np
import torch
from torch import nn

logging.basicConfig(filename="train.log", level=logging.INFO)
os.makedirs("checkpoints", exist_ok=True)
start = torch.load("checkpoints/best.pt")["step"] if os.path.exists("checkpoints/best.pt") else 0

torch.manual_seed(0)
x = torch.randn(512, 8)
y = (x[:, 0] - x[:, 1] > 0).long()
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=20.0, momentum=0.9)
for step in range(start, start + 400):
    index = torch.randint(0, 512, (32,))
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(x[index]), y[index])
    loss.backward()
    optimizer.step()
    if step % 25 == 0:
        torch.save({"step": step, "model": model.state_dict()}, "checkpoints/last.pt")
        os.replace("checkpoints/last.pt", "checkpoints/best.pt")
        logging.info("step %d loss %.4f", step, loss.item())
        np.save("metrics.npy", np.array([step, loss.item()]))
        with open("metrics.json", "w") as handle:
            json.dump({"step": step}, handle)
if os.path.exists("old_run"):
    shutil.rmtree("old_run")
os.remove("stale.txt") if os.path.exists("stale.txt") else None
