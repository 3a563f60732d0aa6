"""Causal transformer on sequences whose second half repeats the first; one-cycle learning rate."""

import torch
from torch import nn
from torch.nn import functional as F

SEED = 21
VOCAB, HALF = 16, 12
D_MODEL, N_HEAD, LAYERS = 48, 4, 2
BATCH, TOTAL_STEPS, MAX_LR = 32, 600, 2e-3


def sample_sequences(n, generator):
    first = torch.randint(0, VOCAB, (n, HALF), generator=generator)
    return torch.cat([first, first], dim=1)


class TinyCausalTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        length = 2 * HALF - 1
        self.tok = nn.Embedding(VOCAB, D_MODEL)
        self.pos = nn.Parameter(torch.zeros(1, length, D_MODEL))
        layer = nn.TransformerEncoderLayer(
            D_MODEL, N_HEAD, dim_feedforward=96, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(D_MODEL)
        self.out = nn.Linear(D_MODEL, VOCAB)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(length))

    def forward(self, tokens):
        h = self.tok(tokens) + self.pos[:, : tokens.shape[1]]
        h = self.blocks(h, mask=self.mask, is_causal=True)
        return self.out(self.norm(h))


def lm_loss(model, seq):
    logits = model(seq[:, :-1])
    return F.cross_entropy(logits.reshape(-1, VOCAB), seq[:, 1:].reshape(-1))


def main():
    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    val_seq = sample_sequences(256, gen)
    model = TinyCausalTransformer()
    optimizer = torch.optim.AdamW(model.parameters(), lr=MAX_LR, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=MAX_LR, total_steps=TOTAL_STEPS
    )
    for step in range(1, TOTAL_STEPS + 1):
        model.train()
        loss = lm_loss(model, sample_sequences(BATCH, gen))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0:
            model.eval()
            with torch.no_grad():
                val_loss = lm_loss(model, val_seq).item()
            lr = schedule.get_last_lr()[0]
            print(f"step {step:3d}  lr {lr:.2e}  train {loss.item():.3f}  val {val_loss:.3f}")
    floor = (HALF - 1) / (2 * HALF - 1) * torch.log(torch.tensor(float(VOCAB))).item()
    print(f"irreducible loss of the first half, averaged over positions: {floor:.3f}")


if __name__ == "__main__":
    main()
