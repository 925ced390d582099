"""Write a learnable synthetic data set of CIFAR's size in CIFAR's own format.

For GPU runs with no internet: the cifar10 / cifar100 DataModules read the result exactly as
they read the real archives (pass ``verify="folder"``, which checks the ``checksums.json`` that is
written beside the batch files).  Same seed, same bytes.

    python -m nasa_lib.data.make_synthetic_cifar --root DIR --kind cifar10 [--tarball]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from .cifar_format import cifar_layout, write_cifar_archive
from .synthetic_images import synthetic_split_arrays


def make_synthetic_cifar(root: str | Path, kind: str = "cifar10", n_train: int = 50000,
                         n_test: int = 10000, seed: int = 0, tarball: bool = False) -> Path:
    """Write ``root/<cifar folder>`` (and ``checksums.json``; the .tar.gz with ``tarball``).

    Images are 32x32 RGB class patterns with shifts and noise (see
    :mod:`nasa_lib.data.synthetic_images`), classes balanced.  Returns the batches folder.
    """
    layout = cifar_layout(kind)
    train, test = synthetic_split_arrays(n_train, n_test, layout.num_classes, channels=3,
                                         image_size=32, seed=seed)
    return write_cifar_archive(root, train, test, kind=kind, tarball=tarball)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", required=True, help="folder to write the batches folder into")
    parser.add_argument("--kind", default="cifar10", choices=("cifar10", "cifar100"))
    parser.add_argument("--n-train", type=int, default=50000)
    parser.add_argument("--n-test", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tarball", action="store_true", help="also write the .tar.gz archive")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    folder = make_synthetic_cifar(args.root, args.kind, args.n_train, args.n_test, args.seed,
                                  args.tarball)
    seconds = time.perf_counter() - start
    checksums = json.loads((folder / "checksums.json").read_text())["files"]
    print(json.dumps({"folder": str(folder), "kind": args.kind, "n_train": args.n_train,
                      "n_test": args.n_test, "seed": args.seed, "seconds": round(seconds, 2),
                      "checksums": checksums}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
