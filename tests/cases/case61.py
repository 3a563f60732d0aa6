"""Digits CNN whose training loop is a generator that yields per-epoch metrics."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split
from sklearn.datasets import load_digits


def conv_net():
    return nn.Sequential(
        nn.Conv2d(1, 12, 3, padding=1), nn.BatchNorm2d(12), nn.ReLU(),
        nn.Conv2d(12, 24, 3, padding=1), nn.BatchNorm2d(24), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(24, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
        nn.Flatten(), nn.Linear(32, 10))


def train_epochs(model, train_loader, val_loader, opt, sched, n_epochs):
    loss_fn = nn.CrossEntropyLoss()
    for epoch in range(n_epochs):
        model.train()
        losses = []
        for xb, yb in train_loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            losses.append(loss.item())
        sched.step()
        model.eval()
        hits = n = 0
        with torch.no_grad():
            for xb, yb in val_loader:
                hits += (model(xb).argmax(1) == yb).sum().item()
                n += len(yb)
        yield {"epoch": epoch, "loss": sum(losses) / len(losses), "val_acc": hits / n, "lr": sched.get_last_lr()[0]}


torch.manual_seed(0)
digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
images = (images - 0.3) / 0.45
full = TensorDataset(images, torch.tensor(digits.target))
train_set, val_set = random_split(full, [0.8, 0.2], generator=torch.Generator().manual_seed(5))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True, drop_last=True)
val_loader = DataLoader(val_set, batch_size=256)

model = conv_net()
opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
for m in train_epochs(model, train_loader, val_loader, opt, sched, n_epochs=5):
    print(f"epoch {m['epoch']}  loss {m['loss']:.4f}  val acc {m['val_acc']:.3f}  lr {m['lr']:.2e}")
