"""Four overlapping Gaussian clusters, the fourth kept at 2 % of the rows; the loop trains on
shuffled mini-batches and never validates. The model learns the three large classes and never
predicts the rare one."""
import torch
from torch import nn

generator = torch.Generator().manual_seed(8)
centres = torch.tensor([[0.0, 0.0], [3.0, 0.0], [0.0, 3.0], [1.5, 1.5]])
sizes = [1600, 1600, 1600, 100]
points = torch.cat([centre + torch.randn(n, 2, generator=generator) for centre, n in zip(centres, sizes)])
classes = torch.cat([torch.full((n,), label) for label, n in enumerate(sizes)])


def batches(size=32):
    order = torch.randperm(len(points), generator=generator)
    for start in range(0, len(order), size):
        yield points[order[start:start + size]], classes[order[start:start + size]]


torch.manual_seed(8)
classifier = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 4))
optimizer = torch.optim.SGD(classifier.parameters(), lr=0.05, momentum=0.9)
for epoch in range(3):
    for features, labels in batches():
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(classifier(features), labels)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = classifier(points).argmax(1)
    print(epoch, loss.item(), [(predicted[classes == c] == c).float().mean().item() for c in range(4)])
