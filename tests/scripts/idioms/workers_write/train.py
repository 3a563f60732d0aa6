"""Trains in the main process; after each epoch a DataLoader with worker processes renders a preview
of every validation sample into the working folder (slowly, as image scripts that encode what
they load do) while the main process scores the batches."""

import os
import time

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset


class Previews(Dataset):
    def __init__(self, x: torch.Tensor) -> None:
        self.x = x

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, index: int) -> torch.Tensor:
        folder = os.path.join("previews", str(index % 16))
        os.makedirs(folder, exist_ok=True)
        time.sleep(0.05)
        torch.save(self.x[index], os.path.join(folder, f"{index}.pt"))
        return self.x[index]


if __name__ == "__main__":
    torch.manual_seed(0)
    x = torch.randn(512, 16)
    y = (x[:, :4].sum(1) > 0).long()
    train = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
    previews = DataLoader(Previews(x[:256]), batch_size=8, num_workers=2, prefetch_factor=16)
    model = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 2))
    optimizer = torch.optim.SGD(model.parameters(), lr=8.0)
    for epoch in range(3):
        for xb, yb in train:
            optimizer.zero_grad()
            nn.functional.cross_entropy(model(xb), yb).backward()
            optimizer.step()
        with torch.no_grad():
            for batch in previews:
                model(batch)
                break  # one batch scored per epoch; the workers were already rendering ahead
        print(f"epoch {epoch}")
    torch.save(model.state_dict(), "model.pt")
