"""CIFAR-10 / CIFAR-100 DataModules, read from a local folder in CIFAR's own python format.

``data_dir`` is the folder that holds ``cifar-10-batches-py`` / ``cifar-100-python`` (as with
torchvision), or that batches folder itself.  ``verify="pinned"`` (default) checks the official
files' published md5s; a folder written by :mod:`nasa_lib.data.make_synthetic_cifar` is checked
with ``verify="folder"`` against the ``checksums.json`` beside it.  ``download=True`` fetches the
official archive on an online machine (checked against its published md5) when the folder is
missing; offline, the error names the folder to provide.  Validation images are a stratified
``val_fraction`` (default 0.1: 5,000 images) of the official training set; the test split is
the official one.
"""
from __future__ import annotations

import torch

from .base import ImageArrays, ImageDataModule
from .checksums import check_folder
from .cifar_format import cifar_layout, download_cifar, find_cifar_folder, read_cifar_split


class CifarDataModule(ImageDataModule):
    """Base of the two CIFAR modules; ``kind`` picks the layout."""

    kind = "cifar10"
    channels, image_size = 3, 32
    has_official_test_split = True

    def __init__(self, data_dir: str | None = None, download: bool = False, **kwargs):
        self.classes = cifar_layout(self.kind).num_classes
        super().__init__(data_dir=data_dir, **kwargs)
        self.download = bool(download)

    def _folder(self):
        if self.data_dir is None:
            raise ValueError(f"data_dir is required for {self.name}: the folder holding "
                             f"{cifar_layout(self.kind).folder}")
        return find_cifar_folder(self.data_dir, self.kind)

    def prepare_data(self) -> None:
        """Download (only with ``download=True``) when the batches folder is incomplete."""
        layout = cifar_layout(self.kind)
        folder = self._folder()
        if self.download and not all((folder / name).is_file() for name in layout.files):
            download_cifar(self.data_dir, self.kind)

    def check_files(self):
        """The existence and checksum checks of ``verify``, without reading the batches."""
        layout = cifar_layout(self.kind)
        how = (f"provide the extracted official archive there, pass download=True on an online "
               f"machine, or write a synthetic one with 'python -m "
               f"nasa_lib.data.make_synthetic_cifar --root {self.data_dir} --kind {self.kind}' "
               f"(then verify='folder')")
        folder = self._folder()
        restore = (f"the data differs from the official {self.kind} release (corrupted or "
                   f"changed): restore it by extracting the official archive into "
                   f"{self.data_dir} again (rm -rf {folder} first; download=True fetches it on "
                   f"an online machine), or with 'dvc pull data.dvc' / 'dvc checkout data.dvc' "
                   f"where a DVC remote or cache holds the pinned data; do not re-pin it unless "
                   f"you mean to change the data set")
        return check_folder(folder, layout.files, dataset=self.name, verify=self.verify,
                            pinned=layout.pinned, how_to_get=how, how_to_restore=restore,
                            folder_mode_hint=True)

    def load_arrays(self) -> ImageArrays:
        self.prepare_data()
        folder = self.check_files()
        arrays = []
        for split in ("train", "test"):
            images, labels = read_cifar_split(folder, self.kind, split)
            arrays.append(torch.from_numpy(images).permute(0, 3, 1, 2).contiguous())
            arrays.append(torch.from_numpy(labels))
        return ImageArrays(*arrays)


class Cifar10DataModule(CifarDataModule):
    """CIFAR-10: 50,000 training and 10,000 test 32x32 RGB images, 10 classes."""

    name = kind = "cifar10"


class Cifar100DataModule(CifarDataModule):
    """CIFAR-100 (fine labels): 50,000 training and 10,000 test images, 100 classes."""

    name = kind = "cifar100"
