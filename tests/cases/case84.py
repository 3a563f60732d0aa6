"""Variational autoencoder on the 8x8 digit images with a Bernoulli decoder and an 8-d latent."""

import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from torch import nn

torch.manual_seed(11)
LATENT = 8


class VAE(nn.Module):
    def __init__(self, pixels=64, hidden=128, latent=LATENT):
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.ReLU())
        self.to_mu = nn.Linear(hidden, latent)
        self.to_logvar = nn.Linear(hidden, latent)
        self.decoder = nn.Sequential(
            nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, pixels)
        )

    def forward(self, x):
        h = self.encoder(x)
        mu, logvar = self.to_mu(h), self.to_logvar(h)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return self.decoder(z), mu, logvar


def elbo_terms(x, recon_logits, mu, logvar):
    """Negative ELBO summed over the batch: reconstruction and KL divergence."""
    recon = F.binary_cross_entropy_with_logits(recon_logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return recon, kl


images = torch.tensor(load_digits().images.reshape(-1, 64) > 7, dtype=torch.float32)  # binarized
shuffled = images[torch.randperm(len(images))]
train_x, val_x = shuffled[:1500], shuffled[1500:]

vae = VAE()
opt = torch.optim.Adam(vae.parameters(), lr=3e-3)
batch = 50
for epoch in range(25):
    vae.train()
    for i, idx in enumerate(torch.randperm(len(train_x)).split(batch)):
        x = train_x[idx]
        recon, kl = elbo_terms(x, *vae(x))
        loss = recon + kl
        opt.zero_grad()
        loss.backward()
        opt.step()
        if i % 15 == 0:
            print(f"epoch {epoch} batch {i}: loss {loss.item():.1f} (recon {recon.item():.1f})")
    vae.eval()
    with torch.no_grad():
        recon, kl = elbo_terms(val_x, *vae(val_x))
    n = len(val_x)
    print(
        f"epoch {epoch}: val -ELBO per image {(recon + kl).item() / n:.2f}, KL {kl.item() / n:.2f}"
    )
