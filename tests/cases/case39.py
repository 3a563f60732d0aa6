"""Digits MLP with dropout; the validation loss is computed without torch.no_grad()."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

X, y = load_digits(return_X_y=True)
X_tr, X_va, y_tr, y_va = train_test_split(X / 16.0, y, test_size=0.25, random_state=1)
X_tr, X_va = torch.tensor(X_tr, dtype=torch.float32), torch.tensor(X_va, dtype=torch.float32)
y_tr, y_va = torch.tensor(y_tr), torch.tensor(y_va)

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10))
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()

for epoch in range(6):
    model.train()
    for idx in torch.randperm(len(X_tr)).split(32):
        opt.zero_grad()
        criterion(model(X_tr[idx]), y_tr[idx]).backward()
        opt.step()
    model.eval()
    logits = model(X_va)
    val_loss = criterion(logits, y_va).item()
    print(f"epoch {epoch}: val loss {val_loss:.4f} acc {(logits.argmax(1) == y_va).float().mean().item():.3f}")
