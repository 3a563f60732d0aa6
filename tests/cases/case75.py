"""Digits in two stages described by a list of stage specs: encoder + head, then a new head on the kept encoder."""
import json

import torch
from torch import nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

STAGES = [
    {"name": "pretrain", "train_encoder": True, "new_head": False, "epochs": 4, "lr": 3e-3},
    {"name": "head", "train_encoder": False, "new_head": True, "epochs": 4, "lr": 3e-3},
]


def new_head(code=24, width=128, n_out=10):
    return nn.Sequential(nn.Linear(code, width), nn.ReLU(), nn.Linear(width, n_out))


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 24), nn.ReLU())
        self.head = new_head()

    def forward(self, x):
        return self.head(self.encoder(x))


def minibatches(n, size, gen):
    return torch.randperm(n, generator=gen).split(size)


def run_stage(model, spec, data, gen):
    (X_tr, y_tr), (X_va, y_va) = data
    if spec["new_head"]:
        model.head = new_head()
    model.encoder.requires_grad_(spec["train_encoder"])
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=spec["lr"])
    print(f"stage {spec['name']}: training {sum(p.numel() for p in params)} parameters")
    for epoch in range(spec["epochs"]):
        model.train()
        for idx in minibatches(len(X_tr), 64, gen):
            loss = nn.functional.cross_entropy(model(X_tr[idx]), y_tr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            logits = model(X_va)
            val_loss = nn.functional.cross_entropy(logits, y_va).item()
            val_acc = (logits.argmax(1) == y_va).float().mean().item()
        print(f"  [{spec['name']}] epoch {epoch}  last batch loss {loss.item():.4f}  val loss {val_loss:.4f}  "
              f"val acc {val_acc:.3f}")
    return {"val_acc": val_acc, "val_loss": val_loss}


def load(seed):
    X, y = load_digits(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, random_state=seed, stratify=y)
    mean, std = X_tr.mean(0), X_tr.std(0) + 1.0
    X_tr, X_va = (X_tr - mean) / std, (X_va - mean) / std
    t = lambda a: torch.tensor(a, dtype=torch.float32)
    return (t(X_tr), torch.tensor(y_tr)), (t(X_va), torch.tensor(y_va))


if __name__ == "__main__":
    torch.manual_seed(0)
    gen = torch.Generator().manual_seed(0)
    data = load(0)
    model = Net()
    results = [run_stage(model, spec, data, gen) for spec in STAGES]
    print(json.dumps({k: round(v, 4) for k, v in results[-1].items()}))
