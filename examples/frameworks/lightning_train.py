"""A PyTorch Lightning script: `diagnose examples/frameworks/lightning_train.py` reports it healthy.

Planted bugs, one at a time: `-- --bug lr` (LR 100x too high), `--bug zero_grad` (manual
optimization without zero_grad), `--bug frozen` (the encoder frozen), `--bug loss` (nll_loss on raw
scores: the log_softmax is missing).
"""

import argparse
import math

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

parser = argparse.ArgumentParser()
parser.add_argument("--bug", choices=["none", "lr", "zero_grad", "frozen", "loss"], default="none")
bug = parser.parse_args().bug


def spirals(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    t = torch.rand(n) * 3 * math.pi
    label = torch.randint(0, 2, (n,))
    sign = (label * 2 - 1).float()
    x = torch.stack([sign * t * torch.cos(t), sign * t * torch.sin(t)], dim=1) / (3 * math.pi)
    return x + 0.05 * torch.randn_like(x), label


class Classifier(L.LightningModule):
    def __init__(self, lr: float) -> None:
        super().__init__()
        self.save_hyperparameters()
        self.encoder = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU())
        self.head = nn.Linear(64, 2)
        self.automatic_optimization = bug != "zero_grad"
        if bug == "frozen":
            self.encoder.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))

    def loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if bug == "loss":
            return F.nll_loss(
                logits, y
            )  # nll_loss expects log-probabilities: log_softmax is missing
        return F.cross_entropy(logits, y)

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = self.loss(self(x), y)
        self.log("train_loss", loss)
        if not self.automatic_optimization:
            optimizer = self.optimizers()
            self.manual_backward(loss)
            optimizer.step()
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", self.loss(self(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


torch.manual_seed(0)
x, y = spirals(4000)
train = DataLoader(TensorDataset(x[:3200], y[:3200]), batch_size=64, shuffle=True)
val = DataLoader(TensorDataset(x[3200:], y[3200:]), batch_size=256)
model = Classifier(lr=1.0 if bug == "lr" else 1e-2)
trainer = L.Trainer(
    max_epochs=10, accelerator="cpu", enable_progress_bar=False, log_every_n_steps=10
)
trainer.fit(model, train, val)
