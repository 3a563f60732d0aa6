import torch
from torch import nn
from common import blobs

torch.manual_seed(0)

x, y = blobs()
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
scaler = torch.amp.GradScaler("cpu")
for step in range(400):
    index = torch.randint(0, len(x), (64,))
    optimizer.zero_grad()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = nn.functional.cross_entropy(model(x[index]), y[index])
    scaler.scale(loss).backward()
    scaler.step(optimizer)
    scaler.update()
