"""Churn-style binary classifier on records where about one in six is positive."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split
from sklearn.datasets import make_classification
from sklearn.preprocessing import StandardScaler

torch.manual_seed(0)
X, y = make_classification(n_samples=4000, n_features=14, n_informative=6, n_redundant=2, weights=[0.84, 0.16],
                           class_sep=2.0, flip_y=0.0, random_state=17)
X = StandardScaler().fit_transform(X)
data = TensorDataset(torch.tensor(X, dtype=torch.float32), torch.tensor(y, dtype=torch.float32))
train_set, val_set = random_split(data, [3200, 800], generator=torch.Generator().manual_seed(2))
train_loader = DataLoader(train_set, batch_size=64, shuffle=True, drop_last=True)
X_val, y_val = data[val_set.indices]
print(f"positive share: train {data[train_set.indices][1].mean():.3f}  val {y_val.mean():.3f}")

model = nn.Sequential(nn.Linear(14, 48), nn.ReLU(), nn.Linear(48, 24), nn.ReLU(), nn.Linear(24, 1))
opt = torch.optim.Adam(model.parameters(), lr=2e-3)
criterion = nn.BCEWithLogitsLoss()

for epoch in range(5):
    model.train()
    total = 0.0
    for xb, yb in train_loader:
        opt.zero_grad()
        loss = criterion(model(xb).squeeze(1), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        pred = (model(X_val).squeeze(1) > 0).float()
    acc = (pred == y_val).float().mean().item()
    recall = (pred[y_val == 1] == 1).float().mean().item()
    precision = (y_val[pred == 1] == 1).float().mean().item()
    print(f"epoch {epoch}  loss {total / len(train_loader):.4f}  val acc {acc:.3f}  "
          f"positive recall {recall:.3f}  precision {precision:.3f}")
