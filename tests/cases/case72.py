"""Five-class signal classifier: a Learner object stepping through an infinite loader with a warmup schedule."""
import itertools
import json

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import make_classification

torch.manual_seed(0)
X, y = make_classification(n_samples=3000, n_features=24, n_informative=12, n_redundant=4, n_classes=5,
                           n_clusters_per_class=1, class_sep=1.5, random_state=11)
X = torch.tensor(X, dtype=torch.float32)
y = torch.tensor(y, dtype=torch.long)
X = (X - X[:2400].mean(0)) / X[:2400].std(0)
train_dl = DataLoader(TensorDataset(X[:2400], y[:2400]), batch_size=48, shuffle=True, drop_last=True)
val_x, val_y = X[2400:], y[2400:]


class Learner:
    def __init__(self, model, loss_func, lr, warmup):
        self.model, self.loss_func = model, loss_func
        self.opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-2)
        self.sched = torch.optim.lr_scheduler.LambdaLR(self.opt, lambda s: min(1.0, (s + 1) / warmup))

    def one_batch(self, xb, yb):
        self.model.train()
        out = self.model(xb)
        loss = self.loss_func(out, yb)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.sched.step()
        return loss.item()

    @torch.no_grad()
    def validate(self, xb, yb):
        self.model.eval()
        return (self.model(xb).argmax(-1) == yb).float().mean().item()


def forever(loader):
    while True:
        yield from loader


net = nn.Sequential(nn.Linear(24, 96), nn.GELU(), nn.LayerNorm(96), nn.Linear(96, 48), nn.GELU(), nn.Linear(48, 5))
learn = Learner(net, nn.MSELoss(), lr=2e-3, warmup=50)
acc = 0.0
for step, (xb, yb) in zip(itertools.count(1), itertools.islice(forever(train_dl), 400)):
    loss = learn.one_batch(xb, yb)
    if step % 50 == 0:
        acc = learn.validate(val_x, val_y)
        print(f"step {step:4d}  loss {loss:.4f}  lr {learn.sched.get_last_lr()[0]:.2e}  val acc {acc:.3f}")
print(json.dumps({"val_acc": round(acc, 4)}))
