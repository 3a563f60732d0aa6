import json

import lightning as L
import torch
import torch.nn.functional as F
from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class LitClassifier(L.LightningModule):
    def __init__(self, n_features, lr=2e-3):
        super().__init__()
        self.save_hyperparameters()
        self.body = nn.Sequential(nn.Linear(n_features, 64), nn.ReLU(), nn.Dropout(0.2),
                                  nn.Linear(64, 32), nn.ReLU())
        self.head = nn.Linear(32, 2)
        self.val_outputs = []

    def forward(self, x):
        return self.head(self.body(x))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self(x)
        self.val_outputs.append((F.cross_entropy(logits, y, reduction="sum").item(),
                                 (logits.argmax(1) == y).sum().item(), len(y)))

    def on_validation_epoch_end(self):
        loss, hits, n = map(sum, zip(*self.val_outputs))
        self.log("val_loss", loss / n)
        self.log("val_acc", hits / n)
        self.val_outputs.clear()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)


def main():
    L.seed_everything(12, verbose=False)
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.25, random_state=12, stratify=y)
    scaler = StandardScaler()
    X_tr = scaler.fit_transform(X_tr)
    X_va = scaler.transform(X_va)
    train_dl = DataLoader(TensorDataset(torch.tensor(X_tr, dtype=torch.float32), torch.tensor(y_tr)),
                          batch_size=32, shuffle=True)
    val_dl = DataLoader(TensorDataset(torch.tensor(X_va, dtype=torch.float32), torch.tensor(y_va)),
                        batch_size=256)
    model = LitClassifier(X.shape[1])
    trainer = L.Trainer(max_epochs=15, accelerator="cpu", logger=False, enable_checkpointing=False,
                        enable_progress_bar=False, enable_model_summary=False)
    trainer.fit(model, train_dl, val_dl)
    metrics = trainer.callback_metrics
    print(json.dumps({"val_acc": round(float(metrics["val_acc"]), 4),
                      "val_loss": round(float(metrics["val_loss"]), 4)}))


if __name__ == "__main__":
    main()
