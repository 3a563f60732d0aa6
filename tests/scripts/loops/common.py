"""Synthetic data shared by the loop scripts (a sibling module each script imports)."""

import torch


def blobs(n: int = 1024, dim: int = 16, classes: int = 4, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    centers = torch.randn(classes, dim, generator=generator) * 2
    labels = torch.randint(0, classes, (n,), generator=generator)
    return centers[labels] + torch.randn(n, dim, generator=generator), labels
