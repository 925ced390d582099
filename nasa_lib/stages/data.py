"""Stage ``data``: load and verify the data set, fix the splits every later stage uses.

The first stage of the pipeline, so it checks every value of ``params.yaml`` (it declares every
section): a bad value anywhere fails ``dvc repro`` here, in seconds, before any training.  Its
outputs depend only on ``common`` and ``data``, so a change elsewhere reruns it (seconds) without
changing its files, and nothing downstream reruns on its account.

A data set whose bytes differ from their pinned checksums never becomes the new pin.  ``data.dvc``
is a DVC data source, and ``dvc repro`` "verifies" a changed data source before any stage command
runs: it re-hashes the folder, caches it and rewrites ``data.dvc`` with the new hash (``dvc freeze``
does not stop this; measured with DVC 3.67).  So when the check fails inside ``dvc repro``
(``DVC_STAGE`` is set), this stage puts ``data.dvc`` back to its git-index version and fails with
the file, both digests and the command that restores the pinned bytes.  To change the data on
purpose, re-pin it yourself (``dvc commit data.dvc`` or ``dvc add data``, then ``git add
data.dvc``) with data that passes the check of its ``data.verify``.  ``make repro`` also runs the
check (``python -m nasa_lib.stages.data --check``) before DVC touches anything.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from ..artifacts import DataSplits, DataSummary
from . import paths
from .common import make_datamodule, setup_run
from .params import PARAMS_FILE, SECTIONS, ParamsError, StageParams, load_params, stage_params

STAGE_PARAMS = SECTIONS
PIN_FILE = "data.dvc"


class DataCheckError(ValueError):
    """The data set failed its existence or checksum check (one line)."""


def load(params_file=PARAMS_FILE) -> StageParams:
    return stage_params(STAGE_PARAMS, params_file)


def undo_repin(pin=PIN_FILE) -> bool:
    """Put ``pin`` back to its git-index version if it differs from it; whether it did (outside a
    git work tree nothing is done)."""
    pin = Path(pin)
    if not pin.is_file():
        return False
    diff = subprocess.run(["git", "diff", "--quiet", "--", str(pin)], capture_output=True)
    if diff.returncode != 1:           # 0: unchanged; other: not a git work tree / no git
        return False
    return subprocess.run(["git", "checkout", "--", str(pin)], capture_output=True).returncode == 0


def check(p: StageParams) -> None:
    """The existence and checksum checks of ``data.verify``, without loading the data; on failure
    (inside ``dvc repro``) the pin is put back first.  Raises :class:`DataCheckError`."""
    from ..data.checksums import ChecksumMismatchError, DataFolderError
    datamodule = make_datamodule(p)
    try:
        if hasattr(datamodule, "check_files"):
            datamodule.check_files()
        else:
            datamodule.setup()
    except (ChecksumMismatchError, DataFolderError) as error:
        message = f"data check failed: {error}"
        if os.environ.get("DVC_STAGE") and undo_repin():
            message += (f"; {PIN_FILE} was put back to its git version (dvc repro had re-saved it with "
                        f"the hash of the data that failed this check)")
        raise DataCheckError(message) from None


def run(p: StageParams) -> dict:
    setup_run(p)
    check(p)
    dm = make_datamodule(p)
    dm.setup()
    summary = DataSummary(**dm.summary())
    DataSplits(**{k: [int(i) for i in v] for k, v in dm.split_indices.items()}).write(paths.SPLITS)
    summary.write(paths.DATA_METRICS)
    return {"datamodule": dm, "summary": summary.to_dict()}


if __name__ == "__main__":      # python -m nasa_lib.stages.data --check: the data check alone
    if sys.argv[1:] != ["--check"]:
        sys.exit("usage: python -m nasa_lib.stages.data --check")
    try:
        check(StageParams(load_params(PARAMS_FILE, check=["common", "data"]), ["common", "data"]))
    except (ParamsError, DataCheckError) as err:
        sys.exit(str(err))
