import json
import math

import numpy as np
import torch
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Sequences(Dataset):
    def __init__(self, tokens, labels):
        self.tokens = tokens
        self.labels = labels

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, index):
        return {"tokens": torch.as_tensor(self.tokens[index]), "label": int(self.labels[index])}


class TinyTransformer(nn.Module):
    def __init__(self, vocab, n_classes, d_model=32, length=20):
        super().__init__()
        self.embed = nn.Embedding(vocab, d_model)
        self.pos = nn.Parameter(torch.randn(1, length, d_model) / math.sqrt(d_model))
        self.layers = nn.ModuleList([
            nn.TransformerEncoderLayer(d_model, nhead=4, dim_feedforward=64, dropout=0.1,
                                       activation="gelu", batch_first=True)
            for _ in range(2)
        ])
        self.classifier = nn.Linear(d_model, n_classes)

    def forward(self, tokens):
        h = self.embed(tokens) + self.pos
        for layer in self.layers:
            h = layer(h)
        return self.classifier(h.mean(dim=1))


def synthesize(n=2400, vocab=30, length=20, n_classes=3, seed=21):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, n_classes, size=n)
    own = 3 + labels[:, None] * 4 + rng.integers(0, 4, size=(n, length))
    other = rng.integers(0, vocab, size=(n, length))
    return np.where(rng.random((n, length)) < 0.35, own, other), labels


def main():
    torch.manual_seed(21)
    tokens, labels = synthesize()
    t_train, t_val, l_train, l_val = train_test_split(tokens, labels, test_size=0.2, random_state=21)
    train_loader = DataLoader(Sequences(t_train, l_train), batch_size=64, shuffle=True)
    val_loader = DataLoader(Sequences(t_val, l_val), batch_size=480)
    model = TinyTransformer(30, 3)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.05)
    for epoch in range(8):
        model.train()
        for batch in train_loader:
            logits = model(batch["tokens"])
            loss = criterion(logits, batch["label"])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            batch = next(iter(val_loader))
            logits = model(batch["tokens"])
            val_loss = criterion(logits, batch["label"]).item()
            val_acc = (logits.argmax(-1) == batch["label"]).float().mean().item()
        print(f"{epoch=} {val_loss=:.4f} {val_acc=:.4f}")
    print(json.dumps({"val_acc": round(val_acc, 4), "val_loss": round(val_loss, 4)}))


if __name__ == "__main__":
    main()
