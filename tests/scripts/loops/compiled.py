import torch
from torch import nn
from common import blobs

torch.manual_seed(0)

x, y = blobs()
model = torch.compile(nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4)))
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for step in range(300):
    index = torch.randint(0, len(x), (64,))
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(x[index]), y[index]).backward()
    optimizer.step()
