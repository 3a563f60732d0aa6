"""Fault detector on tabular sensor summaries: closures built by make_trainer, scored with sklearn metrics."""
import json

import numpy as np
import torch
from torch import nn
from sklearn.datasets import make_classification
from sklearn.metrics import balanced_accuracy_score, f1_score, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler


def make_trainer(model, lr, batch_size, seed):
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    loss_fn = nn.CrossEntropyLoss()
    gen = torch.Generator().manual_seed(seed)

    def train_pass(X, y):
        model.train()
        out = []
        for idx in torch.randperm(len(X), generator=gen).split(batch_size):
            opt.zero_grad()
            loss = loss_fn(model(X[idx]), y[idx])
            loss.backward()
            opt.step()
            out.append(loss.item())
        return float(np.mean(out))

    @torch.no_grad()
    def score(X, y):
        model.eval()
        logits = model(X)
        prob = logits.softmax(1)[:, 1].numpy()
        pred = logits.argmax(1).numpy()
        return {"loss": loss_fn(logits, y).item(), "acc": float((pred == y.numpy()).mean()),
                "balanced_acc": balanced_accuracy_score(y.numpy(), pred), "f1": f1_score(y.numpy(), pred),
                "auc": roc_auc_score(y.numpy(), prob)}

    return train_pass, score


torch.manual_seed(1)
X, y = make_classification(n_samples=3500, n_features=18, n_informative=8, n_redundant=3, weights=[0.85, 0.15],
                           class_sep=1.6, flip_y=0.0, random_state=21)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, stratify=y, random_state=21)
scaler = StandardScaler().fit(X_tr)
X_tr, X_va = (torch.tensor(scaler.transform(a), dtype=torch.float32) for a in (X_tr, X_va))
y_tr, y_va = torch.tensor(y_tr), torch.tensor(y_va)
print(f"positives: train {y_tr.float().mean():.3f}  val {y_va.float().mean():.3f}")

model = nn.Sequential(nn.Linear(18, 64), nn.SiLU(), nn.Linear(64, 32), nn.SiLU(), nn.Linear(32, 2))
train_pass, score = make_trainer(model, lr=1e-3, batch_size=64, seed=1)
for epoch in range(8):
    loss = train_pass(X_tr, y_tr)
    m = score(X_va, y_va)
    print(f"epoch {epoch}  loss {loss:.4f}  val loss {m['loss']:.4f}  acc {m['acc']:.3f}  "
          f"balanced {m['balanced_acc']:.3f}  f1 {m['f1']:.3f}  auc {m['auc']:.3f}")
print(json.dumps({f"val_{k}": round(float(v), 4) for k, v in m.items()}))
