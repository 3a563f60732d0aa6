import json

import numpy as np
import torch
import torch.nn as nn
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset


def make_waves(n, length=32, seed=0):
    """Noisy sine, square and sawtooth waves with random frequency and phase: 3 classes."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, length)
    freq = rng.uniform(1.5, 3.0, size=(n, 1))
    phase = rng.uniform(0, 2 * np.pi, size=(n, 1))
    kind = rng.integers(0, 3, size=n)
    angle = 2 * np.pi * freq * t + phase
    waves = np.where(kind[:, None] == 0, np.sin(angle),
                     np.where(kind[:, None] == 1, np.sign(np.sin(angle)), (angle / np.pi) % 2 - 1))
    waves = waves + 0.3 * rng.standard_normal(waves.shape)
    return waves[:, :, None].astype(np.float32), kind


class GRUClassifier(nn.Module):
    def __init__(self, n_classes=3, hidden_size=32):
        super().__init__()
        self.rnn = nn.GRU(1, hidden_size, batch_first=True)
        self.head = nn.Linear(hidden_size, n_classes)

    def forward(self, seq):
        _, h = self.rnn(seq)
        return self.head(h[-1])


def train_one_epoch(model, loader, optimizer, loss_fn):
    model.train()
    for seq, target in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(seq), target)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()


def evaluate(model, loader, loss_fn):
    model.eval()
    loss_sum, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for seq, target in loader:
            logits = model(seq)
            loss_sum += loss_fn(logits, target).item() * len(target)
            correct += (logits.argmax(-1) == target).sum().item()
            count += len(target)
    return loss_sum / count, correct / count


def main():
    torch.manual_seed(2)
    waves, kinds = make_waves(1800, seed=2)
    w_train, w_val, k_train, k_val = train_test_split(waves, kinds, test_size=0.2, random_state=2)
    train_loader = DataLoader(TensorDataset(torch.from_numpy(w_train), torch.from_numpy(k_train)),
                              batch_size=64, shuffle=True)
    val_loader = DataLoader(TensorDataset(torch.from_numpy(w_val), torch.from_numpy(k_val)), batch_size=256)
    model = GRUClassifier()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(10):
        train_one_epoch(model, train_loader, optimizer, loss_fn)
        val_loss, val_acc = evaluate(model, val_loader, loss_fn)
        print(f"epoch {epoch}: val_loss {val_loss:.4f} val_acc {val_acc:.4f}")
    print(json.dumps({"val_acc": round(val_acc, 4), "val_loss": round(val_loss, 4)}))


main()
