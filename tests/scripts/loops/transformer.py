import torch
from torch import nn


class TinyTransformer(nn.Module):
    def __init__(self, vocab: int = 16, dim: int = 32, classes: int = 2):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        layer = nn.TransformerEncoderLayer(dim, nhead=4, dim_feedforward=64, dropout=0.1, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2)
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, classes)

    def forward(self, tokens):
        return self.head(self.norm(self.encoder(self.embed(tokens)).mean(1)))


torch.manual_seed(0)
model = TinyTransformer()
optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
for step in range(300):
    tokens = torch.randint(0, 16, (32, 12))
    labels = (tokens == 3).any(1).long()
    optimizer.zero_grad()
    nn.functional.cross_entropy(model(tokens), labels).backward()
    optimizer.step()
