import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from common import blobs

torch.manual_seed(0)


class Records(Dataset):
    def __init__(self):
        self.x, self.y = blobs()
        self.mask = (torch.rand(len(self.y), 16) > 0.1).float()

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"features": self.x[i], "mask": self.mask[i], "label": self.y[i]}


class MaskedNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))

    def forward(self, features, mask):
        return self.body(features * mask)


model = MaskedNet()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for epoch in range(10):
    for batch in DataLoader(Records(), batch_size=32, shuffle=True):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(batch["features"], batch["mask"]), batch["label"])
        loss.backward()
        optimizer.step()
