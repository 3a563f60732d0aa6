import torch
from torch import nn

torch.manual_seed(0)
x = torch.randn(2048, 12)
labels = torch.stack([x[:, 0] > 0, x[:, 1] + x[:, 2] > 0, x[:, 3] * x[:, 4] > 0, x[:, 5] > 1], dim=1).float()
model = nn.Sequential(nn.Linear(12, 64), nn.ReLU(), nn.Linear(64, 4))
optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
for step in range(400):
    index = torch.randint(0, len(x), (64,))
    optimizer.zero_grad()
    nn.functional.binary_cross_entropy_with_logits(model(x[index]), labels[index]).backward()
    optimizer.step()
