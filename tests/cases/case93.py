"""GRU encoder-decoder with teacher forcing on a toy translation task, time-major tensors
([length, batch]) as in the seq2seq tutorials: the decoder's outputs start at position 1."""
import random

import torch
import torch.nn as nn
from torch.nn.utils.rnn import pad_sequence
from torch.utils.data import DataLoader

random.seed(0)
torch.manual_seed(0)
PAD, SOS, EOS, VOCAB = 0, 1, 2, 20
lexicon = torch.randperm(VOCAB - 3) + 3  # source word w translates to lexicon[w - 3]


def make_pair():
    words = [random.randrange(3, VOCAB) for _ in range(random.randint(4, 9))]
    target = [int(lexicon[w - 3]) for w in reversed(words)]
    return torch.tensor([SOS, *words, EOS]), torch.tensor([SOS, *target, EOS])


def collate(pairs):
    sources, targets = zip(*pairs)
    return pad_sequence(sources, padding_value=PAD), pad_sequence(targets, padding_value=PAD)


train_pairs = [make_pair() for _ in range(4000)]
valid_pairs = [make_pair() for _ in range(400)]
train_loader = DataLoader(train_pairs, batch_size=64, shuffle=True, collate_fn=collate)
valid_loader = DataLoader(valid_pairs, batch_size=128, collate_fn=collate)


class Encoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        self.rnn = nn.GRU(32, 96)

    def forward(self, src):
        _, hidden = self.rnn(self.embed(src))
        return hidden


class Decoder(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 32)
        self.rnn = nn.GRU(32, 96)
        self.out = nn.Linear(96, VOCAB)

    def forward(self, token, hidden):
        output, hidden = self.rnn(self.embed(token).unsqueeze(0), hidden)
        return self.out(output.squeeze(0)), hidden


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder, self.decoder = Encoder(), Decoder()

    def forward(self, src, trg, teacher_forcing_ratio=0.5):
        length, batch = trg.shape
        outputs = torch.zeros(length, batch, VOCAB)
        hidden = self.encoder(src)
        token = trg[0]
        for t in range(1, length):
            logits, hidden = self.decoder(token, hidden)
            outputs[t] = logits
            token = trg[t] if random.random() < teacher_forcing_ratio else logits.argmax(1)
        return outputs


model = Seq2Seq()
optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
criterion = nn.CrossEntropyLoss(ignore_index=PAD)

for epoch in range(4):
    model.train()
    epoch_loss = 0.0
    for src, trg in train_loader:
        optimizer.zero_grad()
        output = model(src, trg)
        loss = criterion(output[1:].view(-1, VOCAB), trg[1:].view(-1))
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        epoch_loss += loss.item()
    model.eval()
    hits = total = 0
    valid_loss = 0.0
    with torch.no_grad():
        for src, trg in valid_loader:
            output = model(src, trg, 0)
            valid_loss += criterion(output[1:].view(-1, VOCAB), trg[1:].view(-1)).item()
            mask = trg[1:] != PAD
            hits += (output[1:].argmax(-1)[mask] == trg[1:][mask]).sum().item()
            total += mask.sum().item()
    print(f"epoch {epoch}: train {epoch_loss / len(train_loader):.3f} "
          f"valid {valid_loss / len(valid_loader):.3f} token accuracy {hits / total:.3f}")
