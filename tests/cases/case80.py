"""Digits with a deep batch-normalised MLP whose activations were left out: every layer is Linear
followed by BatchNorm1d (and dropout), so the whole network is one affine map. It still learns
what a linear classifier can."""
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn


class DeepBNClassifier(nn.Module):
    def __init__(self, n_in: int, n_classes: int, width: int = 96, depth: int = 4):
        super().__init__()
        blocks, size = [], n_in
        for _ in range(depth):
            blocks += [nn.Linear(size, width), nn.BatchNorm1d(width), nn.Dropout(0.1)]
            size = width
        self.body = nn.Sequential(*blocks)
        self.head = nn.Linear(width, n_classes)

    def forward(self, x):
        return self.head(self.body(x))


digits = load_digits()
x_train, x_val, y_train, y_val = train_test_split(digits.data / 16.0, digits.target, test_size=0.25,
                                                  random_state=3)
x_train, x_val = torch.tensor(x_train, dtype=torch.float32), torch.tensor(x_val, dtype=torch.float32)
y_train, y_val = torch.tensor(y_train), torch.tensor(y_val)

torch.manual_seed(3)
net = DeepBNClassifier(64, 10)
opt = torch.optim.Adam(net.parameters(), lr=1e-3)
loss_fn = nn.CrossEntropyLoss()
for epoch in range(8):
    net.train()
    order = torch.randperm(len(x_train))
    for start in range(0, len(order), 64):
        idx = order[start:start + 64]
        opt.zero_grad()
        loss = loss_fn(net(x_train[idx]), y_train[idx])
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(x_val).argmax(1) == y_val).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} val acc {accuracy:.3f}")
