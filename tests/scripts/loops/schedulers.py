import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset
from common import blobs

torch.manual_seed(0)

x, y = blobs()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
per_step = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=0.1, total_steps=20 * len(loader))
per_epoch = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)
for epoch in range(20):
    for xb, yb in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(xb), yb).backward()
        optimizer.step()
        per_step.step()
    per_epoch.step()
