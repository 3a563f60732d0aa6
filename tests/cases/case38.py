"""Residual MLP with LayerNorm, GELU, label smoothing, AdamW and a linear warmup."""
import torch
from torch import nn
from sklearn.datasets import make_classification


class Residual(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.ff = nn.Sequential(nn.Linear(width, 2 * width), nn.GELU(), nn.Linear(2 * width, width))

    def forward(self, x):
        return x + self.ff(self.norm(x))


class Net(nn.Module):
    def __init__(self, d_in, width=64, depth=3, classes=6):
        super().__init__()
        self.stem = nn.Linear(d_in, width)
        self.blocks = nn.Sequential(*[Residual(width) for _ in range(depth)])
        self.head = nn.Sequential(nn.LayerNorm(width), nn.Linear(width, classes))

    def forward(self, x):
        return self.head(self.blocks(self.stem(x)))


torch.manual_seed(0)
X, y = make_classification(n_samples=3000, n_features=32, n_informative=16, n_classes=6, n_clusters_per_class=1,
                           random_state=13)
X, y = torch.tensor(X, dtype=torch.float32), torch.tensor(y)
net = Net(32)
total_steps, warmup = 280, 60
opt = torch.optim.AdamW(net.parameters(), lr=2e-3, weight_decay=0.05)
sched = torch.optim.lr_scheduler.LambdaLR(
    opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.0, (total_steps - s) / (total_steps - warmup)) ** 0.5
    if s >= warmup else (s + 1) / warmup)
crit = nn.CrossEntropyLoss(label_smoothing=0.1)
step = 0
while step < total_steps:
    for idx in torch.randperm(2500).split(64):
        loss = crit(net(X[idx]), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        step += 1
        if step % 70 == 0:
            with torch.no_grad():
                acc = (net(X[2500:]).argmax(1) == y[2500:]).float().mean().item()
            print(f"step {step} loss {loss.item():.3f} holdout acc {acc:.3f} lr {sched.get_last_lr()[0]:.2e}")
        if step == total_steps:
            break
