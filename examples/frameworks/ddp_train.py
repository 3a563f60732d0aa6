"""A DistributedDataParallel script for `torchrun` (gloo on CPU):

    torchrun --standalone --nproc-per-node 2 examples/frameworks/ddp_train.py
    diagnose --nproc-per-node 2 examples/frameworks/ddp_train.py      # healthy

Planted bugs, one at a time: `-- --bug set_epoch` (the DistributedSampler's set_epoch is never
called: every epoch repeats the same order), `--bug unsynced` (no DDP: each rank seeds its own
weights and averages gradients by hand, so the ranks train different models), `--bug unreduced`
(rank 0 reports the loss and validation accuracy of its own shard, never all_reduced), `--bug lr`
(LR 100x too high).
"""

import argparse

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler

parser = argparse.ArgumentParser()
parser.add_argument(
    "--bug", choices=["none", "set_epoch", "unsynced", "unreduced", "lr"], default="none"
)
parser.add_argument("--epochs", type=int, default=20)
options = parser.parse_args()

dist.init_process_group("gloo")
rank, world = dist.get_rank(), dist.get_world_size()

torch.manual_seed(0)
x = torch.randn(2048, 16)
y = (x[:, :4] * x[:, 4:8]).argmax(1)  # four balanced classes, not linearly separable
dataset, val_set = TensorDataset(x[:1536], y[:1536]), TensorDataset(x[1536:], y[1536:])
sampler = DistributedSampler(dataset, shuffle=True, seed=0)
loader = DataLoader(dataset, batch_size=32, sampler=sampler)
val_loader = DataLoader(val_set, batch_size=128, sampler=DistributedSampler(val_set, shuffle=False))

torch.manual_seed(rank if options.bug == "unsynced" else 0)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 4))
if options.bug != "unsynced":
    model = DistributedDataParallel(model)
optimizer = torch.optim.SGD(
    model.parameters(), lr=5.0 if options.bug == "lr" else 0.05, momentum=0.9
)

for epoch in range(options.epochs):
    if options.bug != "set_epoch":
        sampler.set_epoch(epoch)
    total = torch.zeros(4)
    for xb, yb in loader:
        optimizer.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        if (
            options.bug == "unsynced"
        ):  # DDP's job, done by hand: average the gradients over the ranks
            for p in model.parameters():
                dist.all_reduce(p.grad)
                p.grad /= world
        optimizer.step()
        total += torch.tensor([loss.item() * len(xb), len(xb), 0, 0])
    model.eval()
    with torch.no_grad():
        for xb, yb in val_loader:
            total[2:] += torch.tensor([(model(xb).argmax(1) == yb).sum().item(), len(yb)])
    model.train()
    if options.bug != "unreduced":
        dist.all_reduce(total)  # sums over the ranks: the numbers cover all the data
    if rank == 0:
        print(
            f"epoch {epoch}: loss {total[0] / total[1]:.4f} val accuracy {total[2] / total[3]:.3f}",
            flush=True,
        )
dist.destroy_process_group()
