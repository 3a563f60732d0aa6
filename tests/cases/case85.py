"""Fit a noisy damped sine with a small tanh MLP, full batch, quasi-Newton optimizer."""

import math

import torch
from torch import nn

torch.manual_seed(4)


def damped_sine(x):
    return torch.exp(-0.3 * x.abs()) * torch.sin(2.5 * x)


x_train = torch.linspace(-math.pi, math.pi, 400).unsqueeze(1)
y_train = damped_sine(x_train) + 0.05 * torch.randn_like(x_train)
x_test = (torch.rand(150, 1) * 2 - 1) * math.pi
y_test = damped_sine(x_test)

net = nn.Sequential(nn.Linear(1, 40), nn.Tanh(), nn.Linear(40, 40), nn.Tanh(), nn.Linear(40, 1))
criterion = nn.MSELoss()
optimizer = torch.optim.LBFGS(
    net.parameters(), lr=1.0, max_iter=20, history_size=20, line_search_fn="strong_wolfe"
)


def closure():
    optimizer.zero_grad()
    loss = criterion(net(x_train), y_train)
    loss.backward()
    return loss


for it in range(40):
    train_mse = optimizer.step(closure).item()
    if it % 5 == 4:
        with torch.no_grad():
            test_mse = criterion(net(x_test), y_test).item()
        print(f"outer step {it + 1:2d}  train mse {train_mse:.5f}  test mse {test_mse:.5f}")

print(f"noise floor {0.05**2:.5f}, target variance {y_test.var().item():.4f}")
