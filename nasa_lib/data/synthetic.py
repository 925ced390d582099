"""An in-memory synthetic data set (for tests and tiny profiles): any channels, size, classes.

The images are the learnable class patterns of :mod:`nasa_lib.data.synthetic_images`, generated
from ``data_seed`` (so the data set stays fixed while ``seed`` varies the loaders).  It has its
own test split (independent draws from the same class patterns); validation comes from train.
"""
from __future__ import annotations

import torch

from .base import ImageArrays, ImageDataModule
from .synthetic_images import (synthetic_split_arrays, validate_pattern_params,
                               validate_synthetic_sizes)


class SyntheticDataModule(ImageDataModule):
    name = "synthetic"
    has_official_test_split = True

    def __init__(self, data_dir: str | None = None, n_train: int = 1024, n_test: int = 256,
                 num_classes: int = 10, channels: int = 3, image_size: int = 16,
                 data_seed: int = 0, contrast: int = 40, noise: int = 48, **kwargs):
        """``data_dir`` is accepted for uniform configs and ignored: nothing is read.
        ``contrast`` / ``noise`` (pixel units) set how hard the set is; see synthetic_images."""
        validate_synthetic_sizes(n_train=n_train, n_test=n_test, num_classes=num_classes,
                                 channels=channels, image_size=image_size)
        validate_pattern_params(contrast=contrast, noise=noise)
        if isinstance(data_seed, bool) or not isinstance(data_seed, int) or data_seed < 0:
            raise ValueError(f"data_seed must be an integer >= 0, got {data_seed!r}")
        self.n_train, self.n_test, self.data_seed = n_train, n_test, data_seed
        self.contrast, self.noise = contrast, noise
        self.channels, self.image_size, self.classes = channels, image_size, num_classes
        kwargs.setdefault("verify", "off")  # nothing on disk to verify
        super().__init__(data_dir=data_dir, **kwargs)

    def load_arrays(self) -> ImageArrays:
        (x_train, y_train), (x_test, y_test) = synthetic_split_arrays(
            self.n_train, self.n_test, self.classes, self.channels, self.image_size,
            self.data_seed, contrast=self.contrast, noise=self.noise)
        return ImageArrays(torch.from_numpy(x_train).permute(0, 3, 1, 2).contiguous(),
                           torch.from_numpy(y_train),
                           torch.from_numpy(x_test).permute(0, 3, 1, 2).contiguous(),
                           torch.from_numpy(y_test))
