import torch
from torch import nn
from common import blobs

torch.manual_seed(0)

x, y = blobs()
model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
for step in range(500):
    index = torch.randint(0, len(x), (64,))
    loss = nn.functional.cross_entropy(model(x[index]), y[index])
    loss.backward()
    with torch.no_grad():
        for p in model.parameters():
            p.data -= 0.05 * p.grad
            p.grad.zero_()
