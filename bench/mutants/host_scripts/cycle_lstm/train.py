import itertools
import json

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from sklearn.model_selection import train_test_split
from torch.utils.data import DataLoader, TensorDataset

VOCAB = 24
SEQ_LEN = 16
N_CLASSES = 4
STEPS = 360
EVAL_EVERY = 60

rng = np.random.default_rng(4)
torch.manual_seed(4)

labels = rng.integers(0, N_CLASSES, size=3000)
preferred = labels[:, None] * 5 + rng.integers(0, 5, size=(3000, SEQ_LEN))
noise = rng.integers(0, VOCAB, size=(3000, SEQ_LEN))
tokens = np.where(rng.random((3000, SEQ_LEN)) < 0.4, preferred, noise)
tok_train, tok_val, lab_train, lab_val = train_test_split(tokens, labels, test_size=0.2, random_state=4)


class TokenLSTM(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        self.lstm = nn.LSTM(32, 48, batch_first=True)
        self.proj = nn.Linear(48, 48)
        self.classify = nn.Linear(48, N_CLASSES)

    def forward(self, tokens):
        states, _ = self.lstm(self.embed(tokens))
        pooled = states.mean(dim=1)
        return self.classify(torch.tanh(self.proj(pooled)))


train_loader = DataLoader(TensorDataset(torch.tensor(tok_train), torch.tensor(lab_train)), batch_size=48, shuffle=True)
val_tokens, val_labels = torch.tensor(tok_val), torch.tensor(lab_val)
net = TokenLSTM()
opt = torch.optim.Adam(net.parameters(), lr=4e-3)
batches = itertools.cycle(train_loader)
metrics = {}
for step in range(1, STEPS + 1):
    tok, lab = next(batches)
    loss = F.cross_entropy(net(tok), lab)
    opt.zero_grad()
    loss.backward()
    opt.step()
    if step % EVAL_EVERY == 0:
        net.eval()
        with torch.no_grad():
            logits = net(val_tokens)
            metrics = {"val_acc": round((logits.argmax(1) == val_labels).float().mean().item(), 4),
                       "val_loss": round(F.cross_entropy(logits, val_labels).item(), 4)}
        net.train()
        print(f"step {step} loss {loss.item():.4f} {metrics}")
print(json.dumps(metrics))
