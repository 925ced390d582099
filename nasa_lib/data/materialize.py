"""Write a bundled data set (mnist5k, digits) as pinned ``.npy`` files, for the DVC data stage.

    python -m nasa_lib.data.materialize --dataset mnist5k --out data/mnist5k

Fails (non-zero exit, one line) if the bytes differ from the sha256 pinned in the code.
"""
from __future__ import annotations

import argparse
import json
import sys

from .embedded import materialize_digits, materialize_mnist5k

MATERIALIZERS = {"mnist5k": materialize_mnist5k, "digits": materialize_digits}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", required=True, choices=sorted(MATERIALIZERS))
    parser.add_argument("--out", required=True, help="folder to write images.npy, labels.npy into")
    args = parser.parse_args(argv)
    folder = MATERIALIZERS[args.dataset](args.out)
    checksums = json.loads((folder / "checksums.json").read_text())["files"]
    print(json.dumps({"dataset": args.dataset, "folder": str(folder), "checksums": checksums},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
