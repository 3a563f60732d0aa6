import json

import numpy as np
import torch
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Sequential:
    """A tiny Keras-like wrapper: compile(), fit(), evaluate()."""

    def __init__(self, *layers):
        self.net = nn.Sequential(*layers)

    def compile(self, lr=1e-3, loss="mse"):
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=lr)
        self.loss_fn = nn.MSELoss() if loss == "mse" else nn.L1Loss()

    def fit(self, x, y, epochs=1, batch_size=32, validation_data=None, verbose=0):
        x = torch.tensor(x, dtype=torch.float32)
        y = torch.tensor(y, dtype=torch.float32).unsqueeze(1)
        loader = DataLoader(TensorDataset(x, y), batch_size=batch_size, shuffle=True)
        history = {"loss": [], "val_loss": []}
        for epoch in range(epochs):
            self.net.train()
            seen, total = 0, 0.0
            for xb, yb in loader:
                self.optimizer.zero_grad()
                loss = self.loss_fn(self.net(xb), yb)
                loss.backward()
                self.optimizer.step()
                total += loss.item() * len(xb)
                seen += len(xb)
            history["loss"].append(total / seen)
            if validation_data is not None:
                history["val_loss"].append(self.evaluate(*validation_data))
            if verbose:
                print(f"Epoch {epoch + 1}/{epochs} - loss: {history['loss'][-1]:.4f}")
        return history

    def predict(self, x):
        self.net.eval()
        with torch.no_grad():
            return self.net(torch.tensor(x, dtype=torch.float32)).squeeze(1).numpy()

    def evaluate(self, x, y):
        pred = torch.tensor(self.predict(x)).unsqueeze(1)
        return self.loss_fn(pred, torch.tensor(y, dtype=torch.float32).unsqueeze(1)).item()


torch.manual_seed(5)
X, y = load_diabetes(return_X_y=True, scaled=False)
X_train, X_val, y_train, y_val = train_test_split(X, y, test_size=0.2, random_state=5)
x_mean, x_std = X_train.mean(axis=0), X_train.std(axis=0)
y_mean, y_std = y_train.mean(), y_train.std()
X_train = (X_train - x_mean) / x_std
X_val = (X_val - x_mean) / x_std
y_train = (y_train - y_mean) / y_std
y_val = (y_val - y_mean) / y_std

model = Sequential(nn.Linear(10, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 1))
model.compile(lr=3e-3)
history = model.fit(X_train, y_train, epochs=40, batch_size=32, validation_data=(X_val, y_val), verbose=1)
print("final val_loss", history["val_loss"][-1])
print(json.dumps({"val_mse": round(float(np.mean((model.predict(X_val) - y_val) ** 2)), 4)}))
