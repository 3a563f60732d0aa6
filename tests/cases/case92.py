"""Character LSTM over made-up words built from syllables, trained on fixed-length chunks."""

import random

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

random.seed(8)
torch.manual_seed(8)

ONSETS = ["b", "k", "l", "m", "n", "r", "s", "t", "v", "z", "sh", "gr"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
CODAS = ["", "", "n", "r", "s", "l"]


def word():
    return "".join(
        random.choice(ONSETS) + random.choice(VOWELS) + random.choice(CODAS)
        for _ in range(random.randint(1, 3))
    )


def paragraph(n_words):
    words = [word() for _ in range(n_words)]
    return " ".join(words) + ".\n"


corpus = "".join(paragraph(random.randint(8, 20)) for _ in range(1200))
vocab = sorted(set(corpus))
char_to_id = {c: i for i, c in enumerate(vocab)}
ids = torch.tensor([char_to_id[c] for c in corpus])


class Chunks(Dataset):
    def __init__(self, ids, block):
        self.ids, self.block = ids, block

    def __len__(self):
        return (len(self.ids) - 1) // self.block

    def __getitem__(self, i):
        chunk = self.ids[i * self.block : (i + 1) * self.block + 1]
        return chunk[:-1], chunk[: self.block]


class CharLSTM(nn.Module):
    def __init__(self, n_chars, dim=64):
        super().__init__()
        self.emb = nn.Embedding(n_chars, dim)
        self.rnn = nn.LSTM(dim, dim, batch_first=True)
        self.proj = nn.Linear(dim, n_chars)

    def forward(self, x):
        h, _ = self.rnn(self.emb(x))
        return self.proj(h)


def sample(model, prompt, length=60):
    model.eval()
    out = [char_to_id[c] for c in prompt]
    state = None
    x = torch.tensor([out])
    with torch.no_grad():
        for _ in range(length):
            h, state = model.rnn(model.emb(x), state)
            probs = model.proj(h[:, -1]).softmax(-1)
            out.append(int(torch.multinomial(probs, 1)))
            x = torch.tensor([[out[-1]]])
    model.train()
    return "".join(vocab[i] for i in out)


split = int(0.9 * len(ids))
train_loader = DataLoader(Chunks(ids[:split], 40), batch_size=32, shuffle=True, drop_last=True)
val_loader = DataLoader(Chunks(ids[split:], 40), batch_size=64)
model = CharLSTM(len(vocab))
optim = torch.optim.Adam(model.parameters(), lr=3e-3)
loss_fn = nn.CrossEntropyLoss()

for epoch in range(4):
    for x, y in train_loader:
        logits = model(x)
        loss = loss_fn(logits.reshape(-1, len(vocab)), y.reshape(-1))
        optim.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        optim.step()
    model.eval()
    with torch.no_grad():
        val = [
            loss_fn(model(x).reshape(-1, len(vocab)), y.reshape(-1)).item() for x, y in val_loader
        ]
    model.train()
    print(f"epoch {epoch}: train loss {loss.item():.3f}  val loss {sum(val) / len(val):.3f}")

print(sample(model, "ka"))
