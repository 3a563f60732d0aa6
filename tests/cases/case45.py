"""Breast-cancer classifier: a callable two-layer network over plain tensors, updated by hand."""
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split


class TwoLayerNet:
    def __init__(self, d_in, d_hidden, gen):
        self.w1 = (torch.randn(d_in, d_hidden, generator=gen) * (2.0 / d_in) ** 0.5).requires_grad_()
        self.b1 = torch.zeros(d_hidden, requires_grad=True)
        self.w2 = (torch.randn(d_hidden, 1, generator=gen) * (1.0 / d_hidden) ** 0.5).requires_grad_()
        self.b2 = torch.zeros(1, requires_grad=True)

    def parameters(self):
        return [self.w1, self.b1, self.w2, self.b2]

    def __call__(self, x):
        return (torch.relu(x @ self.w1 + self.b1) @ self.w2 + self.b2).squeeze(1)


torch.manual_seed(0)
X, y = load_breast_cancer(return_X_y=True)
X_a, X_b, y_a, y_b = train_test_split(X, y, test_size=0.25, random_state=7, stratify=y)
mu, sd = X_a.mean(0), X_a.std(0)
X_a = torch.tensor((X_a - mu) / sd, dtype=torch.float32)
X_b = torch.tensor((X_b - mu) / sd, dtype=torch.float32)
y_a = torch.tensor(y_a, dtype=torch.float32)
y_b = torch.tensor(y_b, dtype=torch.float32)

net = TwoLayerNet(30, 32, torch.Generator().manual_seed(3))
lr = 0.05
for epoch in range(20):
    total = 0.0
    for idx in torch.randperm(len(X_a)).split(32):
        loss = F.binary_cross_entropy_with_logits(net(X_a[idx]), y_a[idx])
        loss.backward()
        with torch.no_grad():
            for p in net.parameters():
                p -= lr * p.grad
                p.grad.zero_()
        total += loss.item() * len(idx)
    with torch.no_grad():
        acc = ((net(X_b) > 0).float() == y_b).float().mean().item()
    print(f"epoch {epoch + 1:2d} loss {total / len(X_a):.4f} held-out acc {acc:.3f}")
