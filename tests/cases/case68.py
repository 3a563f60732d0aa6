"""Digits classifier with an encoder/head split and a loop that reports through callbacks."""
import json

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split
from sklearn.datasets import load_digits


class EncoderHead(nn.Module):
    def __init__(self, n_in=64, width=256, code=16, head_width=192, n_out=10):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(n_in, width), nn.Tanh(), nn.Linear(width, code), nn.Tanh())
        self.head = nn.Sequential(nn.Linear(code, head_width), nn.ReLU(), nn.Linear(head_width, n_out))

    def forward(self, x):
        return self.head(self.encoder(x))


class PrintProgress:
    def on_epoch_end(self, state):
        print(f"epoch {state['epoch']:2d}  train loss {state['train_loss']:.4f}  "
              f"val loss {state['val_loss']:.4f}  val acc {state['val_acc']:.3f}")


class KeepBest:
    def __init__(self):
        self.best = {"val_acc": -1.0}

    def on_epoch_end(self, state):
        if state["val_acc"] > self.best["val_acc"]:
            self.best = dict(state)


class SummaryJSON:
    def on_train_end(self, state):
        print(json.dumps({"val_acc": round(state["val_acc"], 4), "val_loss": round(state["val_loss"], 4)}))


def run(model, train_loader, val_loader, optimizer, epochs, callbacks):
    loss_fn = nn.CrossEntropyLoss()
    state = {}
    for epoch in range(epochs):
        model.train()
        seen, running = 0, 0.0
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            optimizer.step()
            running += loss.item() * len(yb)
            seen += len(yb)
        model.eval()
        with torch.no_grad():
            xs, ys = next(iter(val_loader))
            logits = model(xs)
            state = {"epoch": epoch, "train_loss": running / seen, "val_loss": loss_fn(logits, ys).item(),
                     "val_acc": (logits.argmax(1) == ys).float().mean().item()}
        for cb in callbacks:
            getattr(cb, "on_epoch_end", lambda s: None)(state)
    for cb in callbacks:
        getattr(cb, "on_train_end", lambda s: None)(state)
    return state


torch.manual_seed(0)
digits = load_digits()
inputs = torch.tensor(digits.data, dtype=torch.float32)
inputs = (inputs - inputs.mean(0)) / (inputs.std(0) + 1e-6)
dataset = TensorDataset(inputs, torch.tensor(digits.target))
train_part, val_part = random_split(dataset, [1437, 360], generator=torch.Generator().manual_seed(1))

model = EncoderHead()
model.encoder.requires_grad_(False)
n_all = sum(p.numel() for p in model.parameters())
n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
print(f"parameters: {n_all}  trainable: {n_trainable}")

optimizer = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-3)
best = KeepBest()
run(model, DataLoader(train_part, batch_size=32, shuffle=True), DataLoader(val_part, batch_size=len(val_part)),
    optimizer, epochs=10, callbacks=[PrintProgress(), best, SummaryJSON()])
print(f"best epoch {best.best['epoch']} val acc {best.best['val_acc']:.3f}")
