"""Each forward pass takes longer than the gap diagnose leaves between its time budget and the hard
time limit, so the run is stopped in the middle of a step while it is still training."""
import time

import torch
from torch import nn


class Slow(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        time.sleep(6)
        return self.layer(x)


torch.manual_seed(0)
x, y = torch.randn(64, 4), torch.randn(64, 1)
model = Slow()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(10):
    optimizer.zero_grad()
    nn.functional.mse_loss(model(x), y).backward()
    optimizer.step()
