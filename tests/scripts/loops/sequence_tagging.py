import torch
from torch import nn


class Tagger(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(1, 32, batch_first=True)
        self.out = nn.Linear(32, 3)

    def forward(self, x):
        hidden, _ = self.rnn(x)
        return self.out(hidden)


torch.manual_seed(0)
model = Tagger()
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
for step in range(300):
    x = torch.randn(32, 20, 1)
    tags = (x.squeeze(-1).cumsum(1) > 0).long() + (x.squeeze(-1) > 1).long()
    logits = model(x)
    optimizer.zero_grad()
    nn.functional.cross_entropy(logits.transpose(1, 2), tags).backward()
    optimizer.step()
