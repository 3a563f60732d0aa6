import json

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from nets import ResidualMLP


def loaders(batch_size=64, seed=6):
    X, y = load_digits(return_X_y=True)
    X_train, X_valid, y_train, y_valid = train_test_split(X, y, test_size=0.25, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    X_train = scaler.transform(X_train)
    X_valid = scaler.transform(X_valid)
    train = TensorDataset(torch.tensor(X_train, dtype=torch.float32), torch.tensor(y_train))
    valid = TensorDataset(torch.tensor(X_valid, dtype=torch.float32), torch.tensor(y_valid))
    return DataLoader(train, batch_size=batch_size, shuffle=True), DataLoader(valid, batch_size=500)


def run():
    torch.manual_seed(6)
    train_loader, valid_loader = loaders()
    model = ResidualMLP(64, 10)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
    result = {}
    for epoch in range(10):
        model.train()
        for inputs, targets in train_loader:
            optimizer.zero_grad()
            criterion(model(inputs), targets).backward()
            optimizer.step()
        model.eval()
        losses, hits, n = 0.0, 0, 0
        with torch.no_grad():
            for inputs, targets in valid_loader:
                logits = model(inputs)
                losses += criterion(logits, targets).item() * len(targets)
                hits += (logits.argmax(1) == targets).sum().item()
                n += len(targets)
        result = {"val_acc": round(hits / n, 4), "val_loss": round(losses / n, 4)}
        print(epoch, result)
    return result


if __name__ == "__main__":
    print(json.dumps(run()))
