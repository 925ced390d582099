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
from torch.utils.data import DataLoader, Dataset, get_worker_info

from .checksums import validate_verify
from .transforms import ImageTransform, pad_images, validate_augment

try:  # the unified package first; the standalone one is the same API
    import lightning.pytorch as pl
except ImportError:  # pragma: no cover - depends on what is installed
    import pytorch_lightning as pl


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
    """Images ``[N, C, H, W]`` uint8 shared by reference, viewed through an index array."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, indices: np.ndarray,
                 transform: ImageTransform, augment_seed: int | None):
        self.images, self.labels = images, labels
        self.indices = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        self.transform = transform
        self.augment_seed = augment_seed
        self.generator: torch.Generator | None = None
        self.reseed(augment_seed)

    def reseed(self, seed: int | None) -> None:
        """Restart the augmentation stream (``None``: evaluation, no augmentation)."""
        if seed is None:
            self.generator = None
        else:
            self.generator = torch.Generator()
            self.generator.manual_seed(int(seed))

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        j = self.indices[i]
        return self.transform(self.images[j], self.generator), self.labels[j]


def reseed_worker_augmentation(worker_id: int) -> None:
    """DataLoader ``worker_init_fn``: each worker's copy of the dataset gets its own stream.

    The loader seeds worker w with ``base_seed + w``, base_seed drawn from the loader's seeded
    generator, so the streams are reproducible and differ between workers and epochs.
    """
    info = get_worker_info()
    dataset = info.dataset
    if getattr(dataset, "augment_seed", None) is not None:
        dataset.reseed(info.seed)


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

    def setup(self, stage: str | None = None) -> None:
        """Load, verify and split once; later calls (any stage) reuse the result."""
        if self._ready:
            return
        arrays = self.load_arrays()
        images, labels = arrays.train_images, arrays.train_labels
        labels_np = labels.numpy()
        rng = np.random.default_rng(derive_seed(self.split_seed, "splits"))
        pool = np.arange(len(labels_np))
        if arrays.test_images is None:
            test_idx, pool = stratified_split(pool, labels_np, self.test_fraction, rng)
        val_idx, train_idx = stratified_split(pool, labels_np,
                                              self.val_fraction / (1.0 if arrays.test_images
                                                                   is not None else
                                                                   1.0 - self.test_fraction),
                                              rng)
        train_idx = balanced_order(train_idx, labels_np, rng)
        if self.subset is not None:
            if self.subset > len(train_idx):
                raise ValueError(f"subset={self.subset} exceeds the {len(train_idx)} training "
                                 f"images of {self.name}; valid values: None or 2..{len(train_idx)}")
            train_idx = train_idx[:self.subset]
        weight_idx, arch_idx = stratified_split(train_idx, labels_np, self.train_portion, rng)

        self.mean, self.std = channel_mean_std(images[torch.as_tensor(train_idx)])
        if self.pad_to is not None:
            images = pad_images(images, self.pad_to)
        if arrays.test_images is not None:
            test_images, test_labels = arrays.test_images, arrays.test_labels
            if self.pad_to is not None:
                test_images = pad_images(test_images, self.pad_to)
            test_idx = np.arange(len(test_labels))
        else:
            test_images, test_labels = images, labels

        train_tf = ImageTransform(self.augment, self.mean, self.std, self.input_size)
        eval_tf = ImageTransform("none", self.mean, self.std, self.input_size)
        self.split_indices = {"train": train_idx, "val": val_idx, "weight": weight_idx,
                              "arch": arch_idx, "test": test_idx}
        self.train_set = ImageTensorDataset(images, labels, train_idx, train_tf,
                                            derive_seed(self.seed, "augment:train"))
        self.weight_set = ImageTensorDataset(images, labels, weight_idx, train_tf,
                                             derive_seed(self.seed, "augment:weight"))
        self.arch_set = ImageTensorDataset(images, labels, arch_idx, train_tf,
                                           derive_seed(self.seed, "augment:arch"))
        self.val_set = ImageTensorDataset(images, labels, val_idx, eval_tf, None)
        self.test_set = ImageTensorDataset(test_images, test_labels, test_idx, eval_tf, None)
        self._ready = True

    def _loader(self, dataset: ImageTensorDataset, purpose: str, train: bool) -> DataLoader:
        generator = None
        if train:
            # A fresh seeded stream per call: two runs (or two calls) give identical batches.
            dataset.reseed(dataset.augment_seed)
            generator = torch.Generator()
            generator.manual_seed(derive_seed(self.seed, f"loader:{purpose}"))
        return DataLoader(dataset, batch_size=self.batch_size if train else self.eval_batch_size,
                          shuffle=train, generator=generator, num_workers=self.num_workers,
                          worker_init_fn=reseed_worker_augmentation if self.num_workers else None,
                          pin_memory=self.pin_memory)

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
