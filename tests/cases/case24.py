"""Token-sequence classifier over a fixed embedding table, with an auxiliary head kept for later."""
import torch
from torch import nn


def corpus(n, length=16, vocab=50, seed=0):
    g = torch.Generator().manual_seed(seed)
    tokens = torch.randint(0, vocab, (n, length), generator=g)
    label = ((tokens < 10).sum(1) > (tokens >= 40).sum(1)).long()
    return tokens, label


class Reader(nn.Module):
    def __init__(self, table, hidden=32):
        super().__init__()
        self.embed = nn.Embedding.from_pretrained(table, freeze=True)
        self.gru = nn.GRU(table.shape[1], hidden, batch_first=True)
        self.cls = nn.Linear(hidden, 2)
        self.aux = nn.Linear(hidden, 4)

    def forward(self, tokens):
        _, h = self.gru(self.embed(tokens))
        return self.cls(h[-1])


torch.manual_seed(0)
table = torch.randn(50, 16)
x, y = corpus(1920)
xv, yv = corpus(400, seed=1)
model = Reader(table)
opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
lossf = nn.CrossEntropyLoss()
for epoch in range(4):
    model.train()
    for idx in torch.randperm(len(x)).split(32):
        opt.zero_grad()
        loss = lossf(model(x[idx]), y[idx])
        loss.backward()
        opt.step()
    model.eval()
    with torch.no_grad():
        acc = (model(xv).argmax(1) == yv).float().mean().item()
    print(f"epoch {epoch} loss {loss.item():.3f} val acc {acc:.3f}")
