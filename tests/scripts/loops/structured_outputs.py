import torch
from torch import nn
from common import blobs

torch.manual_seed(0)


class TwoHeads(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(16, 64), nn.ReLU())
        self.classes, self.score = nn.Linear(64, 4), nn.Linear(64, 1)

    def forward(self, x):
        hidden = self.body(x)
        return {"logits": self.classes(hidden), "score": self.score(hidden)}, hidden


x, y = blobs()
target_score = x[:, :1] * 0.5
model = TwoHeads()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
for step in range(400):
    index = torch.randint(0, len(x), (64,))
    outputs, _ = model(x[index])
    loss = nn.functional.cross_entropy(outputs["logits"], y[index]) + nn.functional.mse_loss(
        outputs["score"], target_score[index])
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
