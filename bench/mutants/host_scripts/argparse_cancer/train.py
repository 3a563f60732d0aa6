"""Binary classifier for the Wisconsin breast-cancer table."""
import argparse
import json

import torch
import torch.nn as nn
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch.utils.data import DataLoader, TensorDataset


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args()


def build_model(n_features):
    return nn.Sequential(
        nn.Linear(n_features, 64),
        nn.BatchNorm1d(64),
        nn.ReLU(),
        nn.Linear(64, 32),
        nn.BatchNorm1d(32),
        nn.ReLU(),
        nn.Linear(32, 1),
    )


def to_loader(features, labels, batch_size, shuffle):
    ds = TensorDataset(torch.tensor(features, dtype=torch.float32),
                       torch.tensor(labels, dtype=torch.float32))
    return DataLoader(ds, batch_size=batch_size, shuffle=shuffle)


def main():
    args = parse_args()
    torch.manual_seed(args.seed)
    data = load_breast_cancer()
    X_train, X_test, y_train, y_test = train_test_split(
        data.data, data.target, test_size=0.2, random_state=args.seed, stratify=data.target)
    scaler = StandardScaler()
    X_train = scaler.fit_transform(X_train)
    X_test = scaler.transform(X_test)
    train_loader = to_loader(X_train, y_train, args.batch_size, shuffle=True)
    test_loader = to_loader(X_test, y_test, 512, shuffle=False)

    model = build_model(X_train.shape[1])
    loss_fn = nn.BCEWithLogitsLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9,
                                weight_decay=args.weight_decay)
    scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=5, gamma=0.5)

    for epoch in range(args.epochs):
        model.train()
        for features, labels in train_loader:
            optimizer.zero_grad()
            logits = model(features).squeeze(1)
            loss = loss_fn(logits, labels)
            loss.backward()
            optimizer.step()
        scheduler.step()

        model.eval()
        with torch.no_grad():
            features, labels = next(iter(test_loader))
            logits = model(features).squeeze(1)
            test_loss = loss_fn(logits, labels).item()
            test_acc = ((logits > 0).float() == labels).float().mean().item()
        print(f"[{epoch + 1}/{args.epochs}] test_loss={test_loss:.4f} test_acc={test_acc:.4f}")

    print(json.dumps({"val_acc": round(test_acc, 4), "val_loss": round(test_loss, 4)}))


if __name__ == "__main__":
    main()
