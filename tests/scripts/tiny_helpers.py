"""Sibling module imported by tiny_train.py: only importable when the script's folder is sys.path[0]."""

import torch


def make_data(n: int = 512, dim: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(n, dim)
    y = (x[:, 0] + x[:, 1] > 0).long()
    return x, y
