"""Sequence classifier: an LSTM reads noisy pulse trains and counts the pulses (1 to 4)."""
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


def pulse_trains(n, length=24, seed=0):
    g = torch.Generator().manual_seed(seed)
    counts = torch.randint(1, 5, (n,), generator=g)
    x = 0.3 * torch.randn(n, length, generator=g)
    for i in range(n):
        starts = torch.randperm(length // 4, generator=g)[: counts[i]] * 4
        for s in starts.tolist():
            x[i, s:s + 2] += 1.5
    return x.unsqueeze(-1), counts - 1


class Counter(nn.Module):
    def __init__(self, hidden=32):
        super().__init__()
        self.encoder = nn.LSTM(1, hidden, batch_first=True)
        self.proj = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 4)

    def forward(self, x):
        seq, _ = self.encoder(x)
        return self.out(torch.tanh(self.proj(seq[:, -1])))


torch.manual_seed(0)
x_tr, y_tr = pulse_trains(2000, seed=1)
x_va, y_va = pulse_trains(500, seed=2)
loader = DataLoader(TensorDataset(x_tr, y_tr), batch_size=32, shuffle=True, drop_last=True)

model = Counter()
model.requires_grad_(False)
model.out.requires_grad_(True)
opt = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(4):
    model.train()
    total = 0.0
    for xb, yb in loader:
        opt.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
        total += loss.item()
    model.eval()
    with torch.no_grad():
        logits = model(x_va)
        acc = (logits.argmax(1) == y_va).float().mean().item()
    print(f"epoch {epoch} train loss {total / len(loader):.4f} val loss {loss_fn(logits, y_va).item():.4f} "
          f"val acc {acc:.3f}")
