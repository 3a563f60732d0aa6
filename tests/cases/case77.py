"""Digits with a convolutional feature extractor and an MLP head; the features are computed under
no_grad, so only the head trains while the optimizer holds every weight."""
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 12, 3, padding=1), nn.ReLU(),
            nn.Conv2d(12, 24, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2))
        self.head = nn.Sequential(nn.Linear(96, 48), nn.ReLU(), nn.Linear(48, 10))

    def forward(self, images):
        with torch.no_grad():
            feats = self.features(images).flatten(1)
        return self.head(feats)


digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32).unsqueeze(1)
labels = torch.tensor(digits.target)
torch.manual_seed(3)
order = torch.randperm(len(labels))
train_idx, val_idx = order[:1500], order[1500:]

net = Net()
opt = torch.optim.Adam(net.parameters(), lr=3e-3)
for epoch in range(8):
    net.train()
    for batch in train_idx[torch.randperm(len(train_idx))].split(50):
        loss = F.cross_entropy(net(images[batch]), labels[batch])
        opt.zero_grad()
        loss.backward()
        opt.step()
    net.eval()
    with torch.no_grad():
        accuracy = (net(images[val_idx]).argmax(1) == labels[val_idx]).float().mean().item()
    print(f"epoch {epoch}: loss {loss.item():.3f} val acc {accuracy:.3f}")
