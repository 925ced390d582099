"""A learnable synthetic data set of CIFAR's size, written in CIFAR's own format.

For GPU runs with no internet: the cifar10 / cifar100 DataModules read the result exactly as
they read the real archives (pass ``verify="folder"``, which checks the ``checksums.json`` that is
written beside the batch files).  Same seed, same bytes.  The command line is
``python -m nasa_lib.data.make_synthetic_cifar`` (a separate module, so that running it does not
re-import what the package already imported).
"""
from __future__ import annotations

from pathlib import Path

from .cifar_format import cifar_layout, write_cifar_archive
from .synthetic_images import HARD, hard_max_shift, synthetic_split_arrays


def make_synthetic_cifar(root: str | Path, kind: str = "cifar10", n_train: int = 50000,
                         n_test: int = 10000, seed: int = 0, tarball: bool = False) -> Path:
    """Write ``root/<cifar folder>`` (and ``checksums.json``; the .tar.gz with ``tarball``).

    Images are 32x32 RGB class patterns with shifts (up to 8 pixels) and noise, in the harder
    setting of :mod:`nasa_lib.data.synthetic_images` (``HARD``), classes balanced.  Returns the
    batches folder.
    """
    layout = cifar_layout(kind)
    train, test = synthetic_split_arrays(n_train, n_test, layout.num_classes, channels=3,
                                         image_size=32, seed=seed, **HARD,
                                         max_shift=hard_max_shift(32))
    return write_cifar_archive(root, train, test, kind=kind, tarball=tarball)
