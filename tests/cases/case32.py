"""CNN on digits trained with Adam."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from sklearn.datasets import load_digits

torch.manual_seed(0)
d = load_digits()
x = torch.tensor(d.images, dtype=torch.float32).unsqueeze(1) / 16.0
loader = DataLoader(TensorDataset(x, torch.tensor(d.target)), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(),
                      nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))
opt = torch.optim.Adam(model.parameters(), lr=0.1)
crit = nn.CrossEntropyLoss()
for epoch in range(4):
    correct = 0
    for xb, yb in loader:
        opt.zero_grad()
        out = model(xb)
        crit(out, yb).backward()
        opt.step()
        correct += (out.argmax(1) == yb).sum().item()
    print(f"epoch {epoch} train acc {correct / len(x):.3f}")
