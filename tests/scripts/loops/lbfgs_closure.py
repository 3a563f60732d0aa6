import torch
from torch import nn

torch.manual_seed(0)
x = torch.rand(256, 2) * 4 - 2
y = (torch.sin(x[:, :1]) + x[:, 1:] ** 2)
model = nn.Sequential(nn.Linear(2, 32), nn.Tanh(), nn.Linear(32, 1))
optimizer = torch.optim.LBFGS(model.parameters(), lr=0.5, max_iter=5)


def closure():
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x), y)
    loss.backward()
    return loss


for step in range(60):
    optimizer.step(closure)
