"""A word-level LSTM language model trained with truncated backpropagation through time and plain SGD
written by hand (in the style of PyTorch's word-language-model example)."""
import argparse
import math

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=20.0)
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--bug", default="none", choices=["none", "no_zero_grad"])
args = parser.parse_args()


def corpus(vocab=200, tokens=40_000, seed=0):
    """Text from a random sparse bigram model with Zipf-like word frequencies: learnable and skewed."""
    g = torch.Generator().manual_seed(seed)
    successors = torch.randint(0, vocab, (vocab, 4), generator=g)
    weights = torch.tensor([0.55, 0.25, 0.15, 0.05])
    words, word = [], 0
    for _ in range(tokens):
        word = int(successors[word, torch.multinomial(weights, 1, generator=g)]) if torch.rand(1, generator=g) > 0.1 \
            else int(torch.randint(0, vocab // 10, (1,), generator=g))
        words.append(word)
    return torch.tensor(words)


class RNNModel(nn.Module):
    def __init__(self, ntoken, ninp=64, nhid=128, nlayers=1, dropout=0.1):
        super().__init__()
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = nn.LSTM(ninp, nhid, nlayers)
        self.decoder = nn.Linear(nhid, ntoken)
        self.nhid, self.nlayers = nhid, nlayers
        nn.init.uniform_(self.encoder.weight, -0.1, 0.1)
        nn.init.uniform_(self.decoder.weight, -0.1, 0.1)
        nn.init.zeros_(self.decoder.bias)

    def forward(self, tokens, hidden):
        output, hidden = self.rnn(self.drop(self.encoder(tokens)), hidden)
        return self.decoder(self.drop(output)).view(-1, self.decoder.out_features), hidden

    def init_hidden(self, batch):
        weight = next(self.parameters())
        return (weight.new_zeros(self.nlayers, batch, self.nhid), weight.new_zeros(self.nlayers, batch, self.nhid))


def batchify(data, batch):
    n = data.size(0) // batch
    return data[: n * batch].view(batch, -1).t().contiguous()


torch.manual_seed(1)
words = corpus()
train_data, val_data = batchify(words[:36_000], 20), batchify(words[36_000:], 10)
model = RNNModel(200)
criterion = nn.CrossEntropyLoss()
bptt = 20


def evaluate(data):
    model.eval()
    total, hidden = 0.0, model.init_hidden(data.size(1))
    with torch.no_grad():
        for i in range(0, data.size(0) - 1, bptt):
            inputs, targets = data[i:i + bptt], data[i + 1:i + 1 + bptt].reshape(-1)
            output, hidden = model(inputs[: len(targets) // data.size(1)], hidden)
            total += len(targets) * criterion(output, targets).item()
    return total / (len(data) - 1) / data.size(1)


lr = args.lr
for epoch in range(args.epochs):
    model.train()
    hidden = model.init_hidden(20)
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        inputs, targets = train_data[i:i + bptt], train_data[i + 1:i + 1 + bptt].reshape(-1)
        hidden = tuple(h.detach() for h in hidden)
        if args.bug != "no_zero_grad":
            model.zero_grad()
        output, hidden = model(inputs[: len(targets) // 20], hidden)
        loss = criterion(output, targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        for p in model.parameters():
            p.data.add_(p.grad, alpha=-lr)
        if batch % 30 == 0:
            print(f"epoch {epoch} batch {batch} loss {loss.item():.3f}")
    val_loss = evaluate(val_data)
    print(f"epoch {epoch} valid loss {val_loss:.3f} ppl {math.exp(val_loss):.1f}")
    lr /= 4.0
