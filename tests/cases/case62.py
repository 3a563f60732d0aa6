"""Full-batch regression on the Friedman #2 surface with patience-based early stopping."""
import torch
from torch import nn
from sklearn.datasets import make_friedman2
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

torch.manual_seed(0)
X, y = make_friedman2(n_samples=1200, noise=20.0, random_state=1)
X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=0)
xs, ys = StandardScaler().fit(X_tr), StandardScaler().fit(y_tr[:, None])
X_tr, X_va = (torch.tensor(xs.transform(a), dtype=torch.float32) for a in (X_tr, X_va))
y_tr, y_va = (torch.tensor(ys.transform(a[:, None]), dtype=torch.float32) for a in (y_tr, y_va))

model = nn.Sequential(nn.Linear(4, 64), nn.Softplus(), nn.Linear(64, 64), nn.Softplus(), nn.Linear(64, 1))
opt = torch.optim.Adam(model.parameters(), lr=1e-2)
best, best_step, patience = float("inf"), 0, 60
for step in range(1, 1001):
    opt.zero_grad()
    loss = nn.functional.mse_loss(model(X_tr), y_tr)
    loss.backward()
    opt.step()
    with torch.no_grad():
        val = nn.functional.mse_loss(model(X_va), y_va).item()
    if val < best - 1e-4:
        best, best_step = val, step
    if step % 100 == 0:
        print(f"step {step}  train mse {loss.item():.4f}  val mse {val:.4f}  val r2 {1 - val / y_va.var().item():.3f}")
    if step - best_step >= patience:
        print(f"no improvement for {patience} steps, stopping at step {step}")
        break
print(f"best val mse {best:.4f}  r2 {1 - best / y_va.var().item():.3f}")
