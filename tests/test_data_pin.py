"""A tampered data set never becomes the pin.

``data.dvc`` is a DVC data source, and ``dvc repro`` re-saves a changed data source (new hash in
``data.dvc``, bytes in the cache) before any stage command runs.  The ``data`` stage
(``nasa_lib.stages.data.check``) checks the data against the pinned checksums first and, when they
differ, puts ``data.dvc`` back and fails with the file, both digests and the restore command.
This runs that sequence for real in a copy of the repository.
"""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from nasa_lib.data import MNIST5K_PINNED, file_digest
from nasa_lib.stages.profile import apply_profile
from nasa_lib.stages.workspace import copy_repository

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

needs_pipeline = pytest.mark.skipif(not (BIN / "dvc").exists() or not (BIN / "papermill").exists(),
                                    reason="the pipeline extras (dvc, papermill) are not installed")


def _run(root, *args, check=True):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "PYTHONPATH": str(root),
           "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    result = subprocess.run(list(args), cwd=root, env=env, capture_output=True, text=True)
    if check:
        assert result.returncode == 0, f"{args}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result


def _changed(root) -> set:
    status = _run(root, "git", "status", "--porcelain", "--", "data.dvc", "dvc.lock").stdout
    return {line[3:] for line in status.splitlines()}


@needs_pipeline
def test_tampered_data_fails_repro_and_leaves_the_pin_alone(tmp_path):
    from nasa_lib.data import materialize_mnist5k
    root = tmp_path / "repo"
    copy_repository(REPO, root)
    apply_profile("tiny", root)
    materialize_mnist5k(root / "data" / "mnist5k")
    _run(root, "git", "init", "-q")
    _run(root, str(BIN / "dvc"), "repro", "data")
    _run(root, "git", "add", "-A")
    _run(root, "git", "commit", "-qm", "tiny profile, data stage done")
    assert _changed(root) == set()
    pinned_dvc = (root / "data.dvc").read_text()

    images = root / "data" / "mnist5k" / "images.npy"
    raw = bytearray(images.read_bytes())
    for i in range(1000, 1004):
        raw[i] ^= 0xFF
    images.write_bytes(bytes(raw))
    found = file_digest(images)

    result = _run(root, str(BIN / "dvc"), "repro", check=False)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "data/mnist5k/images.npy" in output
    assert f"expected {MNIST5K_PINNED['images.npy']}" in output and f"found {found}" in output
    restore = ("rm -rf data/mnist5k && python -m nasa_lib.data.materialize --dataset mnist5k "
               "--out data/mnist5k")
    assert restore in output and "dvc checkout data.dvc" in output
    assert "verify='folder'" not in output
    assert "To track the changes with git" not in output   # DVC's "git add data.dvc" hint
    assert _changed(root) == set(), _run(root, "git", "diff", "--", "data.dvc").stdout
    assert (root / "data.dvc").read_text() == pinned_dvc

    _run(root, "sh", "-c", restore)
    assert file_digest(images) == MNIST5K_PINNED["images.npy"]
    status = _run(root, str(BIN / "dvc"), "status", "data.dvc").stdout
    assert "changed" not in status, status
    # the data stage's dependencies are as dvc.lock records them (DVC removed its outputs before
    # the failed command ran, so `dvc repro` reruns it to write them again)
    status = _run(root, str(BIN / "dvc"), "status", "data").stdout
    assert "changed deps" not in status, status
    assert _changed(root) == set()
