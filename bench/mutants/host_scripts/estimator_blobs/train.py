import json

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split
from torch import nn


class MLP(nn.Module):
    def __init__(self, n_in, n_out, hidden, depth):
        super().__init__()
        self.inp = nn.Linear(n_in, hidden)
        self.layers = nn.ModuleList([nn.Linear(hidden, hidden) for _ in range(depth)])
        self.head = nn.Linear(hidden, n_out)

    def forward(self, x):
        x = F.relu(self.inp(x))
        for layer in self.layers:
            x = F.relu(layer(x))
        return self.head(x)


class TorchMLPClassifier:
    """A scikit-learn style estimator: fit(X, y), predict_proba(X), score(X, y)."""

    def __init__(self, hidden=64, depth=2, lr=0.01, epochs=25, batch_size=64, random_state=0):
        self.hidden = hidden
        self.depth = depth
        self.lr = lr
        self.epochs = epochs
        self.batch_size = batch_size
        self.random_state = random_state

    def fit(self, X, y):
        torch.manual_seed(self.random_state)
        X = torch.as_tensor(X, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.long)
        self.classes_ = torch.unique(y)
        self.net_ = MLP(X.shape[1], len(self.classes_), self.hidden, self.depth)
        optimizer = torch.optim.SGD(self.net_.parameters(), lr=self.lr, momentum=0.9)
        self.net_.train()
        for _ in range(self.epochs):
            perm = torch.randperm(len(X))
            for start in range(0, len(X), self.batch_size):
                idx = perm[start:start + self.batch_size]
                optimizer.zero_grad()
                loss = F.cross_entropy(self.net_(X[idx]), y[idx])
                loss.backward()
                optimizer.step()
        return self

    def predict_proba(self, X):
        self.net_.eval()
        with torch.no_grad():
            return F.softmax(self.net_(torch.as_tensor(X, dtype=torch.float32)), dim=1).numpy()

    def score(self, X, y):
        return float((self.predict_proba(X).argmax(axis=1) == np.asarray(y)).mean())

    def log_loss(self, X, y):
        proba = self.predict_proba(X)
        return float(-np.log(proba[np.arange(len(y)), y] + 1e-12).mean())


X, y = make_classification(n_samples=2400, n_features=20, n_informative=10, n_redundant=4,
                           n_classes=4, n_clusters_per_class=1, class_sep=1.5, random_state=7)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.25, random_state=7)
clf = TorchMLPClassifier().fit(X_train, y_train)
print("train accuracy", clf.score(X_train, y_train))
print(json.dumps({"val_acc": round(clf.score(X_val, y_val), 4), "val_loss": round(clf.log_loss(X_val, y_val), 4)}))
