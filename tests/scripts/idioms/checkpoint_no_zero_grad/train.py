"""The whole-model checkpoint idiom with a bug: every epoch the whole model is saved
(``torch.save(model, f)``, not its state_dict) and the best one kept as a deep copy, but the
gradients are never cleared. The replays that confirm the cause run this code too: saving and
copying the model must work in them as in the observed run.
"""

import copy

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

torch.manual_seed(0)
x = torch.randn(512, 8)
y = (x[:, 0] + x[:, 1] > 0).long()
loader = DataLoader(TensorDataset(x, y), batch_size=32, shuffle=True)
model = nn.Sequential(nn.Linear(8, 32), nn.ReLU(), nn.Linear(32, 2))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
best, best_model = float("inf"), None
for epoch in range(12):
    for xb, yb in loader:
        loss = nn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        val = nn.functional.cross_entropy(model(x), y).item()
    torch.save(model, f"model-{epoch}.pt")
    if val < best:
        best, best_model = val, copy.deepcopy(model)
    print(f"epoch {epoch} loss {val:.4f}")
torch.save(best_model, "best.pt")
print(f"best {best:.4f}")
