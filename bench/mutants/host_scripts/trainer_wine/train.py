import json

import numpy as np
import torch
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class WineNet(nn.Module):
    def __init__(self, n_in, n_out):
        super().__init__()
        self.hidden = nn.Linear(n_in, 48)
        self.act = nn.ReLU()
        self.drop = nn.Dropout(0.3)
        self.out = nn.Linear(48, n_out)

    def forward(self, x):
        h = self.drop(self.act(self.hidden(x)))
        return self.out(h)


class Trainer:
    def __init__(self, model, train_loader, val_loader, lr=0.003, epochs=40):
        self.model = model
        self.train_loader = train_loader
        self.val_loader = val_loader
        self.epochs = epochs
        self.criterion = nn.CrossEntropyLoss()
        self.optimizer = torch.optim.RMSprop(self.model.parameters(), lr=lr)
        self.history = []

    def train_epoch(self):
        self.model.train()
        total = 0.0
        for inputs, targets in self.train_loader:
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(inputs), targets)
            loss.backward()
            self.optimizer.step()
            total += loss.item() * len(targets)
        return total / len(self.train_loader.dataset)

    def validate(self):
        self.model.eval()
        total, hits = 0.0, 0
        with torch.no_grad():
            for inputs, targets in self.val_loader:
                outputs = self.model(inputs)
                total += self.criterion(outputs, targets).item() * len(targets)
                hits += (outputs.argmax(dim=1) == targets).sum().item()
        n = len(self.val_loader.dataset)
        return total / n, hits / n

    def fit(self):
        for epoch in range(self.epochs):
            train_loss = self.train_epoch()
            val_loss, val_acc = self.validate()
            self.history.append({"epoch": epoch, "train_loss": train_loss,
                                 "val_loss": val_loss, "val_acc": val_acc})
        return self.history


def standardize(values, mean, std):
    return (values - mean) / std


def main():
    torch.manual_seed(3)
    features, labels = load_wine(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(features, labels, test_size=0.3,
                                                      random_state=3, stratify=labels)
    mean, std = x_train.mean(axis=0), x_train.std(axis=0)
    x_train = standardize(x_train, mean, std)
    x_val = standardize(x_val, mean, std)
    train_set = TensorDataset(torch.from_numpy(x_train).float(), torch.from_numpy(y_train))
    val_set = TensorDataset(torch.from_numpy(x_val).float(), torch.from_numpy(y_val))
    trainer = Trainer(WineNet(features.shape[1], 3),
                      DataLoader(train_set, batch_size=16, shuffle=True),
                      DataLoader(val_set, batch_size=64))
    history = trainer.fit()
    for row in history[::10]:
        print(row)
    last = history[-1]
    print(json.dumps({"val_acc": round(last["val_acc"], 4), "val_loss": round(last["val_loss"], 4)}))


if __name__ == "__main__":
    np.random.seed(3)
    main()
