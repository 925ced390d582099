"""Write a learnable synthetic data set of CIFAR's size in CIFAR's own format.

    python -m nasa_lib.data.make_synthetic_cifar --root DIR --kind cifar10 [--tarball]

Prints the folder, the time taken (s) and the sha256 of each file as JSON.
"""
from __future__ import annotations

import argparse
import json
import sys
import time

from nasa_lib.data.synthetic_cifar import make_synthetic_cifar


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
