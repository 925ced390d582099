"""Augmentation and normalisation on uint8 ``[C, H, W]`` tensors, in plain torch.

Profiles choose ``augment``:

* ``"none"``: normalisation only;
* ``"crop_flip"``: random crop after zero padding (4 pixels on a 32-pixel image, ``size // 8``
  in general, at least 1) and a horizontal flip with probability 1/2;
* ``"autoaugment"``: crop + flip, then torchvision's AutoAugment with its CIFAR-10 policy (the
  NASA retraining recipe).  torchvision is not importable on the CPU machines, so this one
  raises a one-line error there.

Every random draw comes from a ``torch.Generator`` that the caller owns, so augmentation is
seeded and never touches the global RNG.  Normalisation (``(x / 255 - mean) / std`` per channel)
comes after augmentation, so padded borders are black, as with torchvision's
``RandomCrop(padding=4)`` before ``Normalize``.
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

AUGMENTATIONS = ("none", "crop_flip", "autoaugment")


def validate_augment(augment: str) -> str:
    if augment not in AUGMENTATIONS:
        raise ValueError(f"augment={augment!r} is not valid; valid values: "
                         f"{', '.join(AUGMENTATIONS)}")
    return augment


def crop_padding_for(image_size: int) -> int:
    """Zero padding of the random crop: 4 on CIFAR's 32 pixels, scaled for other sizes."""
    return max(1, image_size // 8)


def pad_images(images: torch.Tensor, pad_to: int) -> torch.Tensor:
    """Zero-pad ``[N, C, H, W]`` images to ``pad_to x pad_to``, centred (extra pixel bottom/right)."""
    height, width = images.shape[-2:]
    if pad_to < max(height, width):
        raise ValueError(f"pad_to={pad_to} is smaller than the images ({height}x{width}); "
                         f"valid values: None or an integer >= {max(height, width)}")
    top, left = (pad_to - height) // 2, (pad_to - width) // 2
    return F.pad(images, (left, pad_to - width - left, top, pad_to - height - top))


def random_crop_flip(image: torch.Tensor, padding: int, generator: torch.Generator) -> torch.Tensor:
    """A ``[C, H, W]`` window of the zero-padded image at a random offset, flipped with p = 1/2.

    Draws, in order: the row offset, the column offset (each uniform in ``[0, 2 * padding]``),
    then the flip coin.
    """
    _, height, width = image.shape
    padded = F.pad(image, (padding, padding, padding, padding))
    top, left = torch.randint(0, 2 * padding + 1, (2,), generator=generator).tolist()
    window = padded[:, top:top + height, left:left + width]
    if torch.rand((), generator=generator).item() < 0.5:
        window = window.flip(-1)
    return window


def _torchvision_autoaugment() -> Callable[[torch.Tensor], torch.Tensor]:
    try:
        from torchvision.transforms import AutoAugment, AutoAugmentPolicy
    except Exception as error:  # ImportError, or a torchvision built for another torch
        raise ValueError(f"augment='autoaugment' needs torchvision, which does not import here "
                         f"({type(error).__name__}: {error}); use augment='crop_flip' on this "
                         f"machine") from error
    return AutoAugment(AutoAugmentPolicy.CIFAR10)


class ImageTransform:
    """uint8 ``[C, H, W]`` -> normalised float32, with the chosen augmentation (training only)."""

    def __init__(self, augment: str, mean: Sequence[float], std: Sequence[float],
                 image_size: int):
        self.augment = validate_augment(augment)
        self.mean = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
        self.std = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
        self.padding = crop_padding_for(image_size)
        self._autoaugment = _torchvision_autoaugment() if augment == "autoaugment" else None

    def __call__(self, image: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        """``generator=None`` means evaluation: no augmentation, normalisation only."""
        if generator is not None and self.augment != "none":
            image = random_crop_flip(image, self.padding, generator)
            if self._autoaugment is not None:
                # AutoAugment draws from the global RNG; fork it and seed it from our stream,
                # so the result is seeded and the caller's global state is untouched.
                seed = int(torch.randint(0, 2**62, (), generator=generator))
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(seed)
                    image = self._autoaugment(image)
        return (image.to(torch.float32) / 255.0 - self.mean) / self.std
