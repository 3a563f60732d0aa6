import json
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset


@dataclass
class Config:
    lr: float = 3e-3
    weight_decay: float = 1e-2
    epochs: int = 6
    batch_size: int = 64
    channels: int = 16
    seed: int = 11


class SmallCNN(nn.Module):
    def __init__(self, channels, n_classes=10):
        super().__init__()
        widths = [1, channels, 2 * channels]
        self.convs = nn.ModuleList([nn.Conv2d(a, b, 3, padding=1) for a, b in zip(widths, widths[1:])])
        self.norms = nn.ModuleList([nn.BatchNorm2d(b) for b in widths[1:]])
        self.fc = nn.Linear(2 * channels * 4 * 4, n_classes)

    def forward(self, x):
        for conv, norm in zip(self.convs, self.norms):
            x = F.relu(norm(conv(x)))
        x = F.max_pool2d(x, 2)
        return self.fc(torch.flatten(x, 1))


def load_images():
    digits = load_digits()
    images = np.round(digits.images * 255.0 / 16.0).astype(np.uint8)
    return images[:, None, :, :], digits.target


def main(cfg):
    torch.manual_seed(cfg.seed)
    images, labels = load_images()
    x_train, x_val, y_train, y_val = train_test_split(images, labels, test_size=0.2,
                                                      random_state=cfg.seed)
    x_train = x_train / 255.0
    x_val = x_val / 255.0
    train_loader = DataLoader(TensorDataset(torch.tensor(x_train, dtype=torch.float32), torch.tensor(y_train)),
                              batch_size=cfg.batch_size, shuffle=True)
    val_loader = DataLoader(TensorDataset(torch.tensor(x_val, dtype=torch.float32), torch.tensor(y_val)),
                            batch_size=512)
    model = SmallCNN(cfg.channels)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=cfg.epochs * len(train_loader))
    for epoch in range(cfg.epochs):
        model.train()
        for xb, yb in train_loader:
            optimizer.zero_grad()
            loss = F.cross_entropy(model(xb), yb)
            loss.backward()
            optimizer.step()
            scheduler.step()
        model.eval()
        with torch.no_grad():
            xb, yb = next(iter(val_loader))
            out = model(xb)
            val_loss = F.cross_entropy(out, yb).item()
            val_acc = (out.argmax(1) == yb).float().mean().item()
        print(f"epoch={epoch} lr={scheduler.get_last_lr()[0]:.5f} val_loss={val_loss:.4f} val_acc={val_acc:.4f}")
    return {"val_acc": round(val_acc, 4), "val_loss": round(val_loss, 4)}


if __name__ == "__main__":
    print(json.dumps(main(Config())))
