"""LSTM that tells three oscillation frequencies apart, trained for a fixed step budget from a batch generator."""
import torch
from torch import nn


def sample(n, gen, length=32):
    label = torch.randint(0, 3, (n,), generator=gen)
    freq = torch.tensor([0.15, 0.35, 0.6])[label]
    phase = 6.28 * torch.rand(n, generator=gen)
    t = torch.arange(length, dtype=torch.float32)
    x = torch.sin(freq[:, None] * t + phase[:, None]) + 0.4 * torch.randn(n, length, generator=gen)
    return x.unsqueeze(-1), label


def batches(size, gen):
    while True:
        yield sample(size, gen)


class FreqNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(1, 32, batch_first=True)
        self.fc = nn.Linear(32, 3)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return self.fc(h[-1])


torch.manual_seed(0)
gen = torch.Generator().manual_seed(4)
x_val, y_val = sample(500, torch.Generator().manual_seed(99))
net = FreqNet()
opt = torch.optim.Adam(net.parameters(), lr=5e-3)
stream = batches(32, gen)

step, max_steps, loss_sum = 0, 300, 0.0
while step < max_steps:
    xb, yb = next(stream)
    opt.zero_grad()
    loss = nn.functional.cross_entropy(net(xb), yb)
    loss.backward()
    nn.utils.clip_grad_norm_(net.parameters(), 1.0)
    opt.step()
    step += 1
    loss_sum += loss.item()
    if step % 50 == 0:
        with torch.no_grad():
            acc = (net(x_val).argmax(1) == y_val).float().mean().item()
        print(f"step {step}  loss {loss_sum / 50:.4f}  val acc {acc:.3f}")
        loss_sum = 0.0
