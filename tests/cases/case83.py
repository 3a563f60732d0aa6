"""Review polarity from word ids: embedding with channel dropout, one LSTM layer, a linear head."""

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

VOCAB, LENGTH, N_REVIEWS = 24, 30, 3600
POSITIVE, NEGATIVE = range(4), range(4, 8)  # the rest of the vocabulary is filler
LABELS = ("negative", "mixed", "positive")


def make_reviews(rng: np.random.Generator):
    weights = np.ones(VOCAB)
    weights[:8] = 0.4
    words = rng.choice(VOCAB, size=(N_REVIEWS, LENGTH), p=weights / weights.sum())
    score = np.isin(words, POSITIVE).sum(1) - np.isin(words, NEGATIVE).sum(1)
    label = np.where(score >= 2, 2, np.where(score <= -2, 0, 1))
    return torch.from_numpy(words).long(), torch.from_numpy(label).long()


class PolarityLSTM(nn.Module):
    def __init__(self, embed=32, hidden=64, p_embed=0.2, p_out=0.3):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, embed)
        self.embed_drop = nn.Dropout1d(p_embed)  # drops whole embedding channels
        self.lstm = nn.LSTM(embed, hidden, batch_first=True)
        self.out_drop = nn.Dropout(p_out)
        self.head = nn.Linear(hidden, len(LABELS))

    def forward(self, words):
        x = self.embed(words).transpose(1, 2)
        x = self.embed_drop(x).transpose(1, 2)
        _, (h, _) = self.lstm(x)
        return self.head(self.out_drop(h[-1]))


def run_validation(model, loader):
    model.eval()
    loss_sum, hits, count = 0.0, 0, 0
    with torch.no_grad():
        for words, label in loader:
            logits = model(words)
            loss_sum += F.cross_entropy(logits, label, reduction="sum").item()
            hits += (logits.argmax(-1) == label).sum().item()
            count += len(label)
    return loss_sum / count, hits / count


def main():
    torch.manual_seed(3)
    words, label = make_reviews(np.random.default_rng(3))
    train = TensorDataset(words[:3000], label[:3000])
    val = TensorDataset(words[3000:], label[3000:])
    train_loader = DataLoader(train, batch_size=64, shuffle=True)
    val_loader = DataLoader(val, batch_size=200)
    print("class shares:", np.bincount(label.numpy(), minlength=3) / len(label))

    model = PolarityLSTM()
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-3)
    for epoch in range(1, 8):
        model.train()
        running = 0.0
        for batch_words, batch_label in train_loader:
            loss = F.cross_entropy(model(batch_words), batch_label)
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            running += loss.item()
        train_loss = running / len(train_loader)
        val_loss, val_acc = run_validation(model, val_loader)
        print(f"epoch {epoch}: train {train_loss:.3f}  val {val_loss:.3f}  val acc {val_acc:.3f}")


if __name__ == "__main__":
    main()
