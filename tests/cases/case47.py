"""Wine cultivar classifier with a scikit-learn-like fit/predict interface."""
import numpy as np
import torch
from torch import nn
from sklearn.datasets import load_wine
from sklearn.model_selection import train_test_split


class WineNet(nn.Module):
    def __init__(self, n_features, n_classes, hidden=64):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(n_features, hidden), nn.ReLU(),
                                  nn.Linear(hidden, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))

    def forward(self, x):
        return self.body(x)

    def fit(self, X, y, epochs=25, batch_size=12, lr=0.01):
        X = torch.as_tensor(X, dtype=torch.float32)
        y = torch.as_tensor(y, dtype=torch.long)
        opt = torch.optim.SGD(self.parameters(), lr=lr, momentum=0.9)
        for epoch in range(epochs):
            self.train()
            losses = []
            for idx in torch.randperm(len(X)).split(batch_size):
                opt.zero_grad()
                loss = nn.functional.cross_entropy(self(X[idx]), y[idx])
                loss.backward()
                opt.step()
                losses.append(loss.item())
            print(f"epoch {epoch + 1}/{epochs} loss {np.mean(losses):.4f} train acc {self.score(X, y):.3f}")
        return self

    @torch.no_grad()
    def predict(self, X):
        self.eval()
        return self(torch.as_tensor(X, dtype=torch.float32)).argmax(1)

    def score(self, X, y):
        return (self.predict(X) == torch.as_tensor(y)).float().mean().item()


if __name__ == "__main__":
    torch.manual_seed(0)
    X, y = load_wine(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    clf = WineNet(X.shape[1], 3).fit(X_train, y_train)
    print(f"test accuracy {clf.score(X_test, y_test):.3f}")
