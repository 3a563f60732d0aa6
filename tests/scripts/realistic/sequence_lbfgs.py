"""Sine waves predicted one step ahead by two LSTM cells unrolled per time step, trained with LBFGS
(in the style of PyTorch's time-sequence-prediction example)."""
import argparse

import numpy as np
import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=12)
parser.add_argument("--length", type=int, default=100)
parser.add_argument("--bug", default="none", choices=["none", "no_zero_grad"])
args = parser.parse_args()


class Sequence(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)

    def forward(self, series):
        outputs = []
        h1 = c1 = torch.zeros(series.size(0), self.hidden, dtype=series.dtype)
        h2 = c2 = torch.zeros(series.size(0), self.hidden, dtype=series.dtype)
        for value in series.split(1, dim=1):
            h1, c1 = self.lstm1(value, (h1, c1))
            h2, c2 = self.lstm2(h1, (h2, c2))
            outputs.append(self.linear(h2))
        return torch.cat(outputs, dim=1)


np.random.seed(2)
torch.manual_seed(0)
shift = np.random.randint(-80, 80, (24, 1))
waves = np.sin((np.arange(args.length) + shift) / 20.0).astype("float32")
train, test = torch.from_numpy(waves[3:]), torch.from_numpy(waves[:3])
model = Sequence()
criterion = nn.MSELoss()
optimizer = torch.optim.LBFGS(model.parameters(), lr=0.8, max_iter=8)


def closure():
    if args.bug != "no_zero_grad":
        optimizer.zero_grad()
    loss = criterion(model(train[:, :-1]), train[:, 1:])
    loss.backward()
    return loss


for step in range(args.steps):
    loss = optimizer.step(closure)
    with torch.no_grad():
        test_loss = criterion(model(test[:, :-1]), test[:, 1:])
    print(f"step {step} loss {loss.item():.5f} test {test_loss.item():.5f}")
