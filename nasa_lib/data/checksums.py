"""Per-file checksums of the data folders the DataModules read.

A digest is written ``"<algorithm>:<hex>"`` (``"sha256:..."`` or ``"md5:..."``): the suite
computes sha256 for everything it writes itself, but the only per-file values that CIFAR's authors
publish (and torchvision checks) are md5, so a pinned table may hold either kind.

``verify`` chooses what a folder is checked against:

* ``"pinned"``: the values pinned in the code (the official files, or the suite's own
  deterministic materialisations of the bundled data sets);
* ``"folder"``: the ``checksums.json`` written beside the files by the suite's own writers
  (synthetic CIFAR archives, for instance);
* ``"off"``: no check (the files must still exist).

A mismatch against the pinned values means the bytes are corrupted or changed: the error names the
file and both digests and says how to restore the pinned bytes (``how_to_restore``).  It suggests
``verify="folder"`` only where the caller allows it (the suite's synthetic CIFAR archives) and the
file still agrees with the ``checksums.json`` beside it, i.e. the folder is intact but is not the
pinned data set; corruption is never answered with "check against something else".
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Iterable, Mapping

CHECKSUMS_FILE = "checksums.json"
VERIFY_MODES = ("pinned", "folder", "off")
_ALGORITHMS = ("sha256", "md5")
_CHUNK_BYTES = 1 << 20


class DataFolderError(FileNotFoundError):
    """A data folder (or a file in it) that a DataModule needs is missing."""


class ChecksumMismatchError(ValueError):
    """A data file's bytes differ from the digest it was checked against (``filename``: its name
    in the folder)."""

    def __init__(self, message: str, filename: str | None = None):
        super().__init__(message)
        self.filename = filename


def validate_verify(verify: str) -> str:
    if verify not in VERIFY_MODES:
        raise ValueError(f"verify={verify!r} is not valid; valid values: {', '.join(VERIFY_MODES)}")
    return verify


def file_digest(path: str | Path, algorithm: str = "sha256") -> str:
    """``"<algorithm>:<hex digest>"`` of the file's bytes, read in 1 MiB chunks."""
    if algorithm not in _ALGORITHMS:
        raise ValueError(f"algorithm={algorithm!r} is not valid; valid values: {', '.join(_ALGORITHMS)}")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(_CHUNK_BYTES), b""):
            digest.update(chunk)
    return f"{algorithm}:{digest.hexdigest()}"


def compute_checksums(folder: str | Path, filenames: Iterable[str],
                      algorithm: str = "sha256") -> dict[str, str]:
    folder = Path(folder)
    return {name: file_digest(folder / name, algorithm) for name in sorted(filenames)}


def write_checksums(folder: str | Path, filenames: Iterable[str]) -> Path:
    """Write ``checksums.json`` (sha256 of each named file) into ``folder``; return its path.

    The JSON is key-sorted with a fixed layout, so the same files give the same bytes.
    """
    folder = Path(folder)
    payload = {"files": compute_checksums(folder, filenames, "sha256")}
    path = folder / CHECKSUMS_FILE
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def read_checksums(folder: str | Path, *, dataset: str) -> dict[str, str]:
    path = Path(folder) / CHECKSUMS_FILE
    if not path.is_file():
        raise DataFolderError(
            f"{dataset}: verify='folder' needs {path}, which does not exist "
            f"(the suite's writers put it beside the files; use verify='pinned' or 'off' otherwise)")
    try:
        files = json.loads(path.read_text(encoding="utf-8"))["files"]
    except (json.JSONDecodeError, KeyError, TypeError) as error:
        raise ValueError(f"{dataset}: {path} is not a checksums file ({error})") from error
    return dict(files)


def require_files(folder: str | Path, filenames: Iterable[str], *, dataset: str,
                  how_to_get: str) -> Path:
    """Raise :class:`DataFolderError` (one line) unless ``folder`` holds every named file."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataFolderError(f"{dataset}: data folder {folder} does not exist; {how_to_get}")
    missing = [name for name in filenames if not (folder / name).is_file()]
    if missing:
        raise DataFolderError(
            f"{dataset}: data folder {folder} lacks {', '.join(missing)}; {how_to_get}")
    return folder


def verify_checksums(folder: str | Path, expected: Mapping[str, str], *, dataset: str,
                     hint: str = "") -> None:
    """Check each file named in ``expected`` against its ``"<algorithm>:<hex>"`` digest."""
    folder = Path(folder)
    for name in sorted(expected):
        want = expected[name]
        algorithm = want.split(":", 1)[0]
        path = folder / name
        if not path.is_file():
            raise DataFolderError(f"{dataset}: {path} is missing (its checksum is pinned as {want})")
        found = file_digest(path, algorithm)
        if found != want:
            suffix = f" ({hint})" if hint else ""
            raise ChecksumMismatchError(
                f"{dataset}: checksum mismatch for {path}: expected {want}, found {found}{suffix}",
                filename=name)


def _agrees_with_folder_record(folder: Path, name: str) -> bool:
    """Whether ``folder/name`` matches its entry in the ``checksums.json`` beside it."""
    try:
        recorded = read_checksums(folder, dataset="")
    except (DataFolderError, ValueError):
        return False
    want = recorded.get(name)
    return isinstance(want, str) and file_digest(folder / name, want.split(":", 1)[0]) == want


def check_folder(folder: str | Path, filenames: Iterable[str], *, dataset: str, verify: str,
                 pinned: Mapping[str, str], how_to_get: str, how_to_restore: str = "",
                 folder_mode_hint: bool = False) -> Path:
    """Existence check, then the checksum check chosen by ``verify``; returns the folder.

    ``how_to_restore`` ends a pinned mismatch's message.  With ``folder_mode_hint`` (data sets the
    suite can also write itself), a file that fails its pin but matches the folder's own
    ``checksums.json`` gets the ``verify='folder'`` hint instead.
    """
    validate_verify(verify)
    filenames = list(filenames)
    folder = require_files(folder, filenames, dataset=dataset, how_to_get=how_to_get)
    if verify == "off":
        return folder
    if verify == "pinned":
        try:
            verify_checksums(folder, {name: pinned[name] for name in filenames}, dataset=dataset)
        except ChecksumMismatchError as error:
            name = error.filename
            if folder_mode_hint and name and _agrees_with_folder_record(folder, name):
                hint = ("this folder is intact by its own checksums.json, as the suite's writers "
                        "make it, but it is not the pinned data set: pass verify='folder' to "
                        "check against that")
            else:
                hint = how_to_restore or how_to_get
            raise ChecksumMismatchError(f"{error} ({hint})", filename=name) from None
    else:
        recorded = read_checksums(folder, dataset=dataset)
        absent = [name for name in filenames if name not in recorded]
        if absent:
            raise ValueError(f"{dataset}: {folder / CHECKSUMS_FILE} has no checksum for "
                             f"{', '.join(absent)}")
        verify_checksums(folder, {name: recorded[name] for name in filenames}, dataset=dataset)
    return folder
