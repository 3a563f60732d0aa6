"""GRU classifier of sequence shape, trained with Adam."""
import torch
import torch.nn as nn


def make_sequences(n, length=20, seed=0):
    g = torch.Generator().manual_seed(seed)
    label = torch.randint(0, 3, (n,), generator=g)
    t = torch.arange(length, dtype=torch.float32) / length
    slope = torch.where(label == 0, 1.0, torch.where(label == 1, -1.0, 0.0))[:, None]
    wiggle = (label == 2).float()[:, None] * torch.sin(12 * t)
    x = slope * t + wiggle + 0.25 * torch.randn(n, length, generator=g)
    return x.unsqueeze(-1), label


class GRUClassifier(nn.Module):
    def __init__(self, hidden=32, classes=3):
        super().__init__()
        self.gru = nn.GRU(input_size=1, hidden_size=hidden, batch_first=True)
        self.out = nn.Linear(hidden, classes)

    def forward(self, seq):
        outputs, _ = self.gru(seq)
        return self.out(outputs[:, -1])


torch.manual_seed(0)
x_train, y_train = make_sequences(1600, seed=1)
model = GRUClassifier()
opt = torch.optim.Adam(model.parameters(), lr=1e-7)
criterion = nn.CrossEntropyLoss()
for epoch in range(5):
    perm = torch.randperm(len(x_train))
    for batch in perm.split(32):
        opt.zero_grad()
        loss = criterion(model(x_train[batch]), y_train[batch])
        loss.backward()
        opt.step()
    print(f"epoch {epoch} loss {loss.item():.4f}")
