"""Binary classifier trained by a small Trainer object over a dict-returning Dataset."""
import torch
import torch.nn as nn
from sklearn.datasets import make_classification
from torch.utils.data import DataLoader, Dataset


class TabularSet(Dataset):
    def __init__(self, features, target):
        self.features = torch.as_tensor(features, dtype=torch.float32)
        self.target = torch.as_tensor(target, dtype=torch.float32)

    def __len__(self):
        return len(self.target)

    def __getitem__(self, i):
        return {"x": self.features[i], "y": self.target[i]}


class Scorer(nn.Module):
    def __init__(self, n_in, width=48):
        super().__init__()
        self.l1 = nn.Linear(n_in, width)
        self.l2 = nn.Linear(width, width)
        self.l3 = nn.Linear(width, 1)

    def forward(self, x):
        x = torch.relu(self.l1(x))
        x = torch.relu(self.l2(x))
        return self.l3(x).squeeze(-1)


class Trainer:
    def __init__(self, model, lr=0.02):
        self.model = model
        self.opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9)
        self.crit = nn.BCEWithLogitsLoss()
        self.history = []

    def step(self, batch):
        logits = self.model(batch["x"])
        loss = self.crit(logits, batch["y"])
        loss.backward()
        self.opt.step()
        return loss.item()

    def fit(self, loader, epochs):
        self.model.train()
        for e in range(epochs):
            losses = [self.step(b) for b in loader]
            self.history.append(sum(losses) / len(losses))
            print(f"[{e}] loss={self.history[-1]:.4f}")


if __name__ == "__main__":
    torch.manual_seed(0)
    X, y = make_classification(n_samples=1600, n_features=20, n_informative=8, random_state=4)
    loader = DataLoader(TabularSet(X, y), batch_size=32, shuffle=True)
    Trainer(Scorer(X.shape[1])).fit(loader, epochs=5)
