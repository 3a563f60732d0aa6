"""CNN on 8x8 digits with a train/validation split and per-epoch validation."""
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from sklearn.datasets import load_digits


class DigitImages(Dataset):
    def __init__(self, images, labels):
        self.images = torch.tensor(images, dtype=torch.float32).unsqueeze(1) / 16.0
        self.labels = torch.tensor(labels, dtype=torch.long)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        return (self.images[i] - 0.3) / 0.4, self.labels[i]


def make_model():
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Dropout(0.25), nn.Linear(32 * 4 * 4, 10))


def main():
    torch.manual_seed(0)
    d = load_digits()
    n = len(d.target)
    order = torch.randperm(n).numpy()
    cut = int(0.8 * n)
    train = DataLoader(DigitImages(d.images[order[:cut]], d.target[order[:cut]]), batch_size=48, shuffle=True)
    val = DataLoader(DigitImages(d.images[order[cut:]], d.target[order[cut:]]), batch_size=128)
    model = make_model()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(6):
        model.train()
        for xb, yb in train:
            opt.zero_grad()
            loss_fn(model(xb), yb).backward()
            opt.step()
        model.eval()
        correct = total = 0
        vloss = 0.0
        with torch.no_grad():
            for xb, yb in val:
                out = model(xb)
                vloss += loss_fn(out, yb).item() * len(yb)
                correct += (out.argmax(1) == yb).sum().item()
                total += len(yb)
        print(f"epoch {epoch}: val_loss {vloss / total:.4f} val_acc {correct / total:.3f}")


if __name__ == "__main__":
    main()
