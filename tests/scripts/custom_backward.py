import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--wrong", action="store_true")
args = parser.parse_args()


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * (-2 * x if args.wrong else 2 * x)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first, self.second = nn.Linear(6, 32), nn.Linear(32, 1)

    def forward(self, x):
        return self.second(Square.apply(torch.tanh(self.first(x))))


torch.manual_seed(0)
x = torch.randn(512, 6)
y = (x[:, 0] * x[:, 1]).unsqueeze(1)
model = Net()
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(400):
    index = torch.randint(0, 512, (64,))
    optimizer.zero_grad()
    loss = nn.functional.mse_loss(model(x[index]), y[index])
    loss.backward()
    optimizer.step()
print("final loss", loss.item())
