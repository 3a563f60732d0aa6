"""MNIST-shaped digits made offline from scikit-learn's bundled 8x8 digits.

`MNIST(root, train=..., transform=..., download=...)` is torchvision's own MNIST class with only
its loading replaced: 28x28 uint8 images (each digit scaled to 20x20 and centred in a 28x28 frame,
as MNIST's are), several views of each digit, each shifted at random by up to two pixels. The
training and test sets come from different digits. Everything else (`__getitem__`, transforms, the
`train_data`/`test_labels` aliases) is torchvision's.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from sklearn.datasets import load_digits

TRAIN_DIGITS = 1400  # the rest (397) are the test set
VIEWS = {True: 3, False: 5}  # 4200 training images, 1985 test images


def _framed(images: np.ndarray) -> torch.Tensor:
    """8x8 images in 0..16 -> 28x28 uint8 frames with the digit in the central 20x20."""
    small = torch.tensor(images, dtype=torch.float32)[:, None] / 16.0
    scaled = F.interpolate(small, size=(20, 20), mode="bilinear", align_corners=False)
    return (F.pad(scaled, (4, 4, 4, 4))[:, 0] * 255).round().clamp(0, 255).to(torch.uint8)


def digits(train: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """(images uint8 [N, 28, 28], labels int64 [N]) for the training or the test split."""
    bundle = load_digits()
    part = slice(0, TRAIN_DIGITS) if train else slice(TRAIN_DIGITS, None)
    frames, labels = _framed(bundle.images[part]), torch.tensor(bundle.target[part])
    rng = np.random.RandomState(0 if train else 1)
    views = torch.cat([frames] * VIEWS[train])
    shifts = rng.randint(-2, 3, size=(len(views), 2))
    moved = torch.stack(
        [
            torch.roll(image, shifts=(int(dy), int(dx)), dims=(0, 1))
            for image, (dy, dx) in zip(views, shifts)
        ]
    )
    order = torch.tensor(rng.permutation(len(views)))
    return moved[order], torch.cat([labels] * VIEWS[train])[order]


class MNIST(torchvision.datasets.MNIST):
    """torchvision's MNIST, loading the offline digits instead of the downloaded files."""

    def _check_exists(self) -> bool:
        return True

    def _is_legacy_exist(self) -> bool:
        return False

    def download(self) -> None:
        """Nothing to download: the data is made from scikit-learn's digits."""

    def _load_data(self) -> tuple[torch.Tensor, torch.Tensor]:
        return digits(self.train)
