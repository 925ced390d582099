"""The shared LightningDataModule: splits, search halves, seeded loaders, normalisation.

A subclass only says how to load its arrays (:meth:`ImageDataModule.load_arrays`) and what its
images look like (channels, size, classes).  The base class then builds, from ``split_seed``:

* **test**: the official test split, or (sets without one) a stratified ``test_fraction``;
* **val**: a stratified ``val_fraction`` of the training pool, for model selection; never the
  test set;
* **train**: the rest, ordered so that every prefix is class-balanced; ``subset=N`` keeps its
  first N images (tiny profiles);
* **search halves**: a stratified split of train into a "weight" part (``train_portion``) and
  an "arch" part (the rest): equal sizes for ``train_portion=0.5`` and an even train size.

``seed`` drives only the order of the shuffled loaders and the augmentation, so runs with
different seeds see the same images in different orders, and the test set stays fixed.
Datasets are map-style datasets of tensors, so Lightning can swap in a DistributedSampler (DDP).
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from .checksums import validate_verify
from .transforms import ImageTransform, pad_images, validate_augment

import pytorch_lightning as pl  # the package the whole suite uses (pyproject), not `lightning`


@dataclass
class ImageArrays:
    """What a subclass loads: uint8 NCHW images and int64 labels (test may be absent)."""

    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor | None = None
    test_labels: torch.Tensor | None = None


def derive_seed(seed: int, purpose: str) -> int:
    """A 63-bit seed for one purpose ("val_split", "loader:train", ...) from the user's seed."""
    state = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, zlib.crc32(purpose.encode())])
    return int(state.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def stratified_split(indices: np.ndarray, labels: np.ndarray, fraction: float,
                     rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(taken, rest): ``round(fraction * n)`` of ``indices``, each class in proportion.

    Per-class quotas use largest remainders so the total is exact; ties go to the lower class.
    """
    indices = np.asarray(indices)
    classes, counts = np.unique(labels[indices], return_counts=True)
    total = int(round(fraction * len(indices)))
    exact = fraction * counts
    quota = np.floor(exact).astype(int)
    order = np.argsort(-(exact - quota), kind="stable")
    quota[order[:total - quota.sum()]] += 1
    taken, rest = [], []
    for cls, k in zip(classes, quota):
        members = rng.permutation(indices[labels[indices] == cls])
        taken.append(members[:k])
        rest.append(members[k:])
    return np.sort(np.concatenate(taken)), np.sort(np.concatenate(rest))


def balanced_order(indices: np.ndarray, labels: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """``indices`` reordered so that every prefix holds the classes as evenly as possible."""
    indices = np.asarray(indices)
    rank = np.empty(len(indices), dtype=np.int64)
    for cls in np.unique(labels[indices]):
        where = np.flatnonzero(labels[indices] == cls)
        rank[where] = rng.permutation(len(where))
    tiebreak = rng.permutation(len(indices))
    return indices[np.lexsort((tiebreak, rank))]


class ImageTensorDataset(Dataset):
    """Images ``[N, C, H, W]`` uint8 shared by reference, viewed through an index array.

    Augmentation is a pure function of (augment seed, epoch, image index): the same image gets
    the same crop and flip in the same epoch whatever the order, the number of workers, or
    whether the run was interrupted and resumed.  :class:`EpochShuffleSampler` sets the epoch.
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, indices: np.ndarray,
                 transform: ImageTransform, augment_seed: int | None):
        self.images, self.labels = images, labels
        self.indices = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        self.transform = transform
        self.augment_seed = augment_seed
        self.epoch = 0

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        j = int(self.indices[i])
        generator = None
        if self.augment_seed is not None and self.transform.augment != "none":   # else it draws nothing
            generator = torch.Generator()
            generator.manual_seed(derive_seed(self.augment_seed, f"{self.epoch}:{j}"))
        return self.transform(self.images[j], generator), self.labels[j]


class EpochShuffleSampler(Sampler):
    """A random order that depends only on (seed, epoch).  Lightning calls ``set_epoch`` at
    every epoch start, so a resumed run sees exactly the batches an uninterrupted one would."""

    def __init__(self, dataset: ImageTensorDataset, seed: int):
        self.dataset, self.seed, self.epoch = dataset, int(seed), 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)
        self.dataset.epoch = int(epoch)

    def __len__(self) -> int:
        return len(self.dataset)

    def __iter__(self):
        generator = torch.Generator()
        generator.manual_seed(derive_seed(self.seed, f"order:{self.epoch}"))
        return iter(torch.randperm(len(self.dataset), generator=generator).tolist())


def _check_int(name: str, value: Any, low: int, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        valid = f"an integer >= {low}" + (" or None" if allow_none else "")
        raise ValueError(f"{name} must be {valid}, got {value!r}")


def _check_fraction(name: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise ValueError(f"{name} must be a number strictly between 0 and 1, got {value!r}")


class ImageDataModule(pl.LightningDataModule):
    """Base of every data set of the suite; see the module docstring for the splits."""

    name = "image"
    channels: int = 0  # subclasses set these three (per instance where they vary)
    image_size: int = 0
    classes: int = 0
    has_official_test_split = False
    default_val_fraction = 0.1
    default_test_fraction = 0.2

    def __init__(self, data_dir: str | None = None, batch_size: int = 64,
                 eval_batch_size: int | None = None, num_workers: int = 0, seed: int = 0,
                 split_seed: int = 0, val_fraction: float | None = None,
                 test_fraction: float | None = None, train_portion: float = 0.5,
                 augment: str = "none", subset: int | None = None, pad_to: int | None = None,
                 verify: str = "pinned", pin_memory: bool = False):
        super().__init__()
        _check_int("batch_size", batch_size, 1)
        _check_int("eval_batch_size", eval_batch_size, 1, allow_none=True)
        _check_int("num_workers", num_workers, 0)
        _check_int("seed", seed, 0)
        _check_int("split_seed", split_seed, 0)
        _check_int("subset", subset, 2, allow_none=True)
        _check_int("pad_to", pad_to, 1, allow_none=True)
        val_fraction = self.default_val_fraction if val_fraction is None else val_fraction
        _check_fraction("val_fraction", val_fraction)
        if self.has_official_test_split:
            if test_fraction is not None:
                raise ValueError(f"test_fraction does not apply to {self.name}, which has an "
                                 f"official test split; valid values: None")
        else:
            test_fraction = (self.default_test_fraction if test_fraction is None
                             else test_fraction)
            _check_fraction("test_fraction", test_fraction)
            if val_fraction + test_fraction >= 1.0:
                raise ValueError(f"val_fraction + test_fraction must be < 1, got "
                                 f"{val_fraction} + {test_fraction}")
        _check_fraction("train_portion", train_portion)
        if pad_to is not None and pad_to < self.image_size:
            raise ValueError(f"pad_to={pad_to} is smaller than {self.name}'s {self.image_size}-"
                             f"pixel images; valid values: None or an integer >= "
                             f"{self.image_size}")
        self.data_dir = data_dir
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or batch_size)
        self.num_workers = int(num_workers)
        self.seed, self.split_seed = int(seed), int(split_seed)
        self.val_fraction, self.test_fraction = float(val_fraction), test_fraction
        self.train_portion = float(train_portion)
        self.augment = validate_augment(augment)
        self.subset, self.pad_to = subset, pad_to
        self.verify = validate_verify(verify)
        self.pin_memory = bool(pin_memory)
        self._ready = False

    # What networks need, before setup().
    @property
    def in_channels(self) -> int:
        return self.channels

    @property
    def input_size(self) -> int:
        return self.pad_to or self.image_size

    @property
    def num_classes(self) -> int:
        return self.classes

    def load_arrays(self) -> ImageArrays:  # pragma: no cover - abstract
        raise NotImplementedError

    def _split(self, labels: np.ndarray, has_test_split: bool) -> dict[str, np.ndarray]:
        """Index arrays of the splits (see the module docstring), all from ``split_seed``.

        "test" indexes the training arrays for sets without an official test split, and the
        test arrays otherwise.
        """
        rng = np.random.default_rng(derive_seed(self.split_seed, "splits"))
        pool = np.arange(len(labels))
        test_idx = None
        if not has_test_split:
            test_idx, pool = stratified_split(pool, labels, self.test_fraction, rng)
        # val_fraction is a fraction of the whole set, so rescale it to what is left
        left = 1.0 if has_test_split else 1.0 - self.test_fraction
        val_idx, train_idx = stratified_split(pool, labels, self.val_fraction / left, rng)
        train_idx = balanced_order(train_idx, labels, rng)
        if self.subset is not None:
            if self.subset > len(train_idx):
                raise ValueError(f"subset={self.subset} exceeds the {len(train_idx)} training "
                                 f"images of {self.name}; valid values: None or "
                                 f"2..{len(train_idx)}")
            train_idx = train_idx[:self.subset]
        weight_idx, arch_idx = stratified_split(train_idx, labels, self.train_portion, rng)
        return {"train": train_idx, "val": val_idx, "weight": weight_idx, "arch": arch_idx,
                "test": test_idx}

    def setup(self, stage: str | None = None) -> None:
        """Load, verify and split once; later calls (any stage) reuse the result."""
        if self._ready:
            return
        arrays = self.load_arrays()
        images, labels = arrays.train_images, arrays.train_labels
        has_test_split = arrays.test_images is not None
        split = self._split(labels.numpy(), has_test_split)
        if has_test_split:
            split["test"] = np.arange(len(arrays.test_labels))
        sizes = {name: len(idx) for name, idx in split.items()}
        if min(sizes.values()) == 0:
            raise ValueError(f"{self.name}: a split came out empty ({sizes}); use more images "
                             f"or larger val_fraction / test_fraction / subset")
        train_idx, test_idx = split["train"], split["test"]

        self.mean, self.std = channel_mean_std(images[torch.as_tensor(train_idx)])
        if self.pad_to is not None:
            images = pad_images(images, self.pad_to)
        if has_test_split:
            test_images, test_labels = arrays.test_images, arrays.test_labels
            if self.pad_to is not None:
                test_images = pad_images(test_images, self.pad_to)
        else:
            test_images, test_labels = images, labels

        train_tf = ImageTransform(self.augment, self.mean, self.std, self.input_size)
        eval_tf = ImageTransform("none", self.mean, self.std, self.input_size)
        self.split_indices = split
        self.train_set, self.weight_set, self.arch_set = (
            ImageTensorDataset(images, labels, split[name], train_tf,
                               derive_seed(self.seed, f"augment:{name}"))
            for name in ("train", "weight", "arch"))
        self.val_set = ImageTensorDataset(images, labels, split["val"], eval_tf, None)
        self.test_set = ImageTensorDataset(test_images, test_labels, test_idx, eval_tf, None)
        self._ready = True

    def _loader(self, dataset: ImageTensorDataset, purpose: str, train: bool) -> DataLoader:
        sampler = EpochShuffleSampler(dataset, derive_seed(self.seed, f"loader:{purpose}")) if train else None
        return DataLoader(dataset, batch_size=self.batch_size if train else self.eval_batch_size,
                          sampler=sampler, shuffle=False, num_workers=self.num_workers,
                          pin_memory=self.pin_memory, persistent_workers=False)

    def _require_setup(self) -> None:
        if not self._ready:
            self.setup()

    def train_dataloader(self) -> DataLoader:
        """The full training split (pretraining, retraining), shuffled and augmented."""
        self._require_setup()
        return self._loader(self.train_set, "train", train=True)

    def search_dataloaders(self) -> dict[str, DataLoader]:
        """``{"weight": ..., "arch": ...}`` over the two disjoint halves of the training split."""
        self._require_setup()
        return {"weight": self._loader(self.weight_set, "weight", train=True),
                "arch": self._loader(self.arch_set, "arch", train=True)}

    def val_dataloader(self) -> DataLoader:
        self._require_setup()
        return self._loader(self.val_set, "val", train=False)

    def test_dataloader(self) -> DataLoader:
        self._require_setup()
        return self._loader(self.test_set, "test", train=False)

    def summary(self) -> dict[str, Any]:
        """Sizes and statistics, for the data stage's metrics JSON."""
        self._require_setup()
        return {"name": self.name, "in_channels": self.in_channels,
                "input_size": self.input_size, "num_classes": self.num_classes,
                "augment": self.augment, "verify": self.verify,
                "sizes": {k: int(len(v)) for k, v in self.split_indices.items()},
                "mean": [round(float(m), 6) for m in self.mean],
                "std": [round(float(s), 6) for s in self.std]}


def channel_mean_std(images: torch.Tensor) -> tuple[list[float], list[float]]:
    """Exact per-channel mean and std (population) of uint8 ``[N, C, H, W]`` in [0, 1] units.

    Computed from a 256-bin histogram per channel: integer counts, so no summation-order error.
    """
    means, stds = [], []
    values = torch.arange(256, dtype=torch.float64) / 255.0
    for c in range(images.shape[1]):
        counts = torch.bincount(images[:, c].reshape(-1), minlength=256)
        counts = counts.to(torch.float64)
        total = counts.sum()
        mean = (counts * values).sum() / total
        var = (counts * (values - mean) ** 2).sum() / total
        means.append(float(mean))
        stds.append(max(float(var.sqrt()), 1e-6))
    return means, stds
