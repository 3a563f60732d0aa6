"""Digit classifier: a folder-style Dataset of standardized images, small MLP, Adam."""

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, Dataset


class DigitFolders(Dataset):
    def __init__(self, images, labels):
        self.samples = []
        for class_index in sorted(set(labels.tolist())):
            for image in images[labels == class_index]:
                self.samples.append((image, class_index))

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        image, label = self.samples[i]
        return torch.as_tensor(image, dtype=torch.float32), label


def accuracy(model, loader):
    model.eval()
    hits = total = 0
    with torch.no_grad():
        for x, y in loader:
            hits += (model(x).argmax(1) == y).sum().item()
            total += len(y)
    model.train()
    return hits / total


def main():
    torch.manual_seed(2)
    digits = load_digits()
    x_tr, x_va, y_tr, y_va = train_test_split(
        digits.data, digits.target, test_size=0.25, random_state=2, stratify=digits.target
    )
    scaler = StandardScaler().fit(x_tr)
    train_set = DigitFolders(scaler.transform(x_tr), y_tr)
    val_set = DigitFolders(scaler.transform(x_va), y_va)
    train_loader = DataLoader(train_set, batch_size=32)
    val_loader = DataLoader(val_set, batch_size=256)

    model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    criterion = nn.CrossEntropyLoss()
    for epoch in range(6):
        losses = []
        for x, y in train_loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        print(
            f"epoch {epoch}  loss {np.mean(losses):.4f}  val acc {accuracy(model, val_loader):.3f}"
        )


if __name__ == "__main__":
    main()
