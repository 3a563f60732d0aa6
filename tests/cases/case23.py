"""Linear-ish regression of a price from a few standardized features, Trainer style."""
import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Records(Dataset):
    def __init__(self, n=1600, seed=0):
        rng = np.random.default_rng(seed)
        self.x = rng.normal(size=(n, 5)).astype(np.float32)
        self.y = (self.x @ np.array([1.5, -2.0, 0.5, 0.0, 1.0], dtype=np.float32)
                  + 0.5 * np.abs(self.x[:, 0]) + 0.1 * rng.normal(size=n).astype(np.float32))

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        return {"features": torch.from_numpy(self.x[i]), "price": torch.tensor(self.y[i])}


class PriceModel(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(5, 32), nn.ReLU(), nn.Linear(32, 1))

    def forward(self, batch):
        return self.net(batch["features"]).squeeze(-1)


class Trainer:
    def __init__(self, model, lr):
        self.model = model
        self.optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        self.loss_fn = nn.MSELoss()

    def train_epoch(self, loader):
        total = 0.0
        for batch in loader:
            self.optimizer.zero_grad()
            loss = self.loss_fn(self.model(batch), batch["price"])
            loss.backward()
            self.optimizer.step()
            total += loss.item()
        return total / len(loader)


torch.manual_seed(0)
loader = DataLoader(Records(), batch_size=32, shuffle=True)
trainer = Trainer(PriceModel(), lr=5.0)
for epoch in range(4):
    print(epoch, trainer.train_epoch(loader))
