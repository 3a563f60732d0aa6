"""Digits MLP with a factorised (low-rank) middle layer: 256 -> 16 -> 256 with no activation
inside the factorisation, as in a LoRA adapter or a linear bottleneck. Healthy."""
import torch
from sklearn.datasets import load_digits
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

digits = load_digits()
dataset = TensorDataset(torch.tensor(digits.data / 16.0, dtype=torch.float32), torch.tensor(digits.target))
train_set, val_set = random_split(dataset, [1400, 397], generator=torch.Generator().manual_seed(5))

torch.manual_seed(5)
model = nn.Sequential(
    nn.Linear(64, 256), nn.ReLU(),
    nn.Linear(256, 16), nn.Linear(16, 256), nn.ReLU(),  # rank-16 factorisation of a 256x256 layer
    nn.Linear(256, 10),
)
optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
loader = DataLoader(train_set, batch_size=50, shuffle=True)
for epoch in range(10):
    model.train()
    for inputs, labels in loader:
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        inputs, labels = val_set[:]
        print(epoch, (model(inputs).argmax(1) == labels).float().mean().item())
