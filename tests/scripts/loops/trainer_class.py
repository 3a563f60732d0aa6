import argparse

import torch
from torch import nn
from common import blobs

torch.manual_seed(0)


class Trainer:
    def __init__(self, lr: float):
        self.model = nn.Sequential(nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 4))
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=lr, momentum=0.9)

    def train_step(self, xb, yb):
        self.optimizer.zero_grad()
        loss = nn.functional.cross_entropy(self.model(xb), yb)
        loss.backward()
        self.optimizer.step()
        return loss.item()

    def fit(self, x, y, epochs: int):
        for _ in range(epochs):
            for index in torch.randperm(len(x)).split(32):
                self.train_step(x[index], y[index])


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--epochs", type=int, default=10)
    args = parser.parse_args()
    x, y = blobs()
    Trainer(args.lr).fit(x, y, args.epochs)


if __name__ == "__main__":
    main()
