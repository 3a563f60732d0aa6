"""Small CNN on 8x8 digit images."""
import torch
import torch.nn as nn
from sklearn.datasets import load_digits
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
digits = load_digits()
imgs = torch.tensor(digits.images, dtype=torch.float32).unsqueeze(1) / 16.0
tgts = torch.tensor(digits.target)
loader = DataLoader(TensorDataset(imgs, tgts), batch_size=32, shuffle=True)

cnn = nn.Sequential(
    nn.Conv2d(1, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Flatten(),
    nn.Linear(32 * 4 * 4, 64), nn.ReLU(),
    nn.Linear(64, 10),
)
opt = torch.optim.SGD(cnn.parameters(), lr=0.05, momentum=0.9)
criterion = nn.CrossEntropyLoss()
for epoch in range(3):
    for xb, yb in loader:
        opt.zero_grad()
        loss = criterion(cnn(xb), yb)
        loss.backward()
        opt.step()
    print(f"epoch {epoch}: {loss.item():.4f}")
