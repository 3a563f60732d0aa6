"""GRU sequence autoencoder: a sine wave is packed into an 8-d code, then redrawn from it."""

import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset, random_split

STEPS = 24
CODE = 8


def waveforms(n, seed):
    g = torch.Generator().manual_seed(seed)
    t = torch.linspace(0, 1, STEPS)
    freq = 1 + 3 * torch.rand(n, 1, generator=g)
    phase = 2 * torch.pi * torch.rand(n, 1, generator=g)
    amp = 0.5 + torch.rand(n, 1, generator=g)
    wave = amp * torch.sin(2 * torch.pi * freq * t + phase)
    return wave.unsqueeze(-1)  # (n, STEPS, 1)


class SeqAutoencoder(nn.Module):
    def __init__(self, hidden=48):
        super().__init__()
        self.encoder = nn.GRU(1, hidden, batch_first=True)
        self.to_code = nn.Linear(hidden, CODE)
        self.from_code = nn.Linear(CODE, hidden)
        self.decoder = nn.GRU(CODE, hidden, batch_first=True)
        self.readout = nn.Linear(hidden, 1)

    def forward(self, seq):
        _, h = self.encoder(seq)
        code = self.to_code(h[-1])
        # the decoder sees only the code, repeated at every step, never the sequence itself
        dec_in = code.unsqueeze(1).expand(-1, seq.shape[1], -1)
        out, _ = self.decoder(dec_in, torch.tanh(self.from_code(code)).unsqueeze(0))
        return self.readout(out)


def epoch_pass(model, loader, loss_fn, optimizer=None):
    training = optimizer is not None
    model.train(training)
    total, count = 0.0, 0
    with torch.set_grad_enabled(training):
        for (seq,) in loader:
            loss = loss_fn(model(seq), seq)
            if training:
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
            total += loss.item() * len(seq)
            count += len(seq)
    return total / count


def main():
    torch.manual_seed(5)
    data = TensorDataset(waveforms(1500, seed=5))
    train_set, val_set = random_split(data, [1200, 300], generator=torch.Generator().manual_seed(5))
    train_loader = DataLoader(train_set, batch_size=40, shuffle=True)
    val_loader = DataLoader(val_set, batch_size=200)
    model = SeqAutoencoder()
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.MSELoss()
    signal_var = data.tensors[0].var().item()
    for epoch in range(12):
        train_mse = epoch_pass(model, train_loader, loss_fn, optimizer)
        val_mse = epoch_pass(model, val_loader, loss_fn)
        print(
            f"epoch {epoch}: train mse {train_mse:.4f}  val mse {val_mse:.4f}  "
            f"(explained {1 - val_mse / signal_var:.1%})"
        )


if __name__ == "__main__":
    main()
