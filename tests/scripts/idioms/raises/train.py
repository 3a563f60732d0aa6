"""A script that ends in an uncaught exception of its own: a ValueError subclass raised from a
helper after a few training steps, as a data pipeline that runs dry would.

Plainly, Python prints the traceback and exits with 1; under diagnose the script must end the
same way, and the crash must be reported as this exception, not as one of the tool's.
"""

import torch
from torch import nn


class DataExhausted(ValueError):
    """The script's own exception type."""


def next_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    if step == 5:
        raise DataExhausted(f"no batch left at step {step}")
    x = torch.randn(32, 6)
    return x, (x[:, 0] > 0).long()


torch.manual_seed(0)
model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Linear(16, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(100):
    inputs, targets = next_batch(step)
    optimizer.zero_grad()
    loss = nn.functional.cross_entropy(model(inputs), targets)
    loss.backward()
    optimizer.step()
    print(f"[steps] {step}")
