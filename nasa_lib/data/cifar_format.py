"""CIFAR-10 / CIFAR-100 in their own "python version" format: read, write, archive, download.

The format (https://www.cs.toronto.edu/~kriz/cifar.html): a folder (``cifar-10-batches-py`` or
``cifar-100-python``) of pickled dicts.  ``data`` is uint8 ``[N, 3072]``: per image the red, green
and blue 32x32 planes, each row-major; labels are a list of ints under ``labels`` (CIFAR-10) or
``fine_labels`` / ``coarse_labels`` (CIFAR-100).  The official files are Python 2 pickles, whose
keys load as bytes with ``encoding="bytes"``; the writer here uses bytes keys too, so every
reader that handles the official files (this one, Keras's) handles ours.

torchvision is not importable on the CPU machines, so nothing here imports it.
"""
from __future__ import annotations

import codecs
import gzip
import hashlib
import io
import pickle
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .checksums import ChecksumMismatchError, DataFolderError, write_checksums

CIFAR_IMAGE_SHAPE = (32, 32, 3)  # H, W, C of every CIFAR image
CIFAR10_LABEL_NAMES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                       "ship", "truck")


@dataclass(frozen=True)
class CifarLayout:
    """Where a CIFAR variant keeps what, and the official checksums that pin it."""

    kind: str
    folder: str
    train_files: tuple[str, ...]
    test_file: str
    meta_file: str
    label_key: str
    names_key: str
    num_classes: int
    archive: str
    url: str
    archive_md5: str  # published with the archive (cifar.html), and checked by torchvision
    archive_sha256: str  # as pinned by Keras / TFDS for the same archive
    file_md5: dict[str, str] = field(default_factory=dict)  # per extracted file, torchvision's

    @property
    def files(self) -> tuple[str, ...]:
        return (*self.train_files, self.test_file, self.meta_file)

    @property
    def pinned(self) -> dict[str, str]:
        return {name: f"md5:{value}" for name, value in self.file_md5.items()}


CIFAR_LAYOUTS = {
    "cifar10": CifarLayout(
        kind="cifar10", folder="cifar-10-batches-py",
        train_files=tuple(f"data_batch_{i}" for i in range(1, 6)), test_file="test_batch",
        meta_file="batches.meta", label_key="labels", names_key="label_names", num_classes=10,
        archive="cifar-10-python.tar.gz",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        archive_md5="c58f30108f718f92721af3b95e74349a",
        archive_sha256="6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
        file_md5={
            "data_batch_1": "c99cafc152244af753f735de768cd75f",
            "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
            "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
            "data_batch_4": "634d18415352ddfa80567beed471001a",
            "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
            "test_batch": "40351d587109b95175f43aff81a1287e",
            "batches.meta": "5ff9c542aee3614f3951f8cda6e48888",
        }),
    "cifar100": CifarLayout(
        kind="cifar100", folder="cifar-100-python", train_files=("train",), test_file="test",
        meta_file="meta", label_key="fine_labels", names_key="fine_label_names",
        num_classes=100, archive="cifar-100-python.tar.gz",
        url="https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        archive_md5="eb9058c3a382ffc7106e4002c42a8d85",
        archive_sha256="85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
        file_md5={
            "train": "16019d7e3df5f24257cddd939b257f8d",
            "test": "f0ef6b0ae62326f3e7ffdfab6717acfc",
            "meta": "7973b15100ade9c7d40fb424638fde48",
        }),
}


def cifar_layout(kind: str) -> CifarLayout:
    if kind not in CIFAR_LAYOUTS:
        raise ValueError(f"kind={kind!r} is not valid; valid values: {', '.join(CIFAR_LAYOUTS)}")
    return CIFAR_LAYOUTS[kind]


def find_cifar_folder(data_dir: str | Path, kind: str) -> Path:
    """The batches folder for ``data_dir``: ``data_dir/<folder>`` (torchvision's convention) or
    ``data_dir`` itself when it already is that folder.  Returns the former when neither exists,
    so that the error names the folder to provide."""
    layout = cifar_layout(kind)
    data_dir = Path(data_dir)
    if (data_dir / layout.test_file).is_file() or data_dir.name == layout.folder:
        return data_dir
    return data_dir / layout.folder


def _normalise_keys(obj):
    """Bytes keys (official Python 2 pickles read with encoding='bytes') -> str keys."""
    return {key.decode("ascii") if isinstance(key, bytes) else key: value
            for key, value in obj.items()}


try:                                    # numpy 2 (numpy 1 has only numpy.core)
    from numpy._core.multiarray import _reconstruct as _ndarray_reconstruct
except ImportError:
    from numpy.core.multiarray import _reconstruct as _ndarray_reconstruct

# Every global a CIFAR batch file may name, resolved here rather than imported by name from the
# file.  The official archives (Python 2 cPickle, numpy 1) and this module's writer (protocol 4,
# numpy 2) hold dicts, lists, ints and bytes, which need no global, and one uint8 array, pickled as
# ``_reconstruct(ndarray, ...)`` with a ``dtype``; a pickle of protocol 0-2 written by Python 3
# spells the array's bytes as ``_codecs.encode(str, "latin1")``.  Nothing else is ever needed.
_CIFAR_PICKLE_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): _ndarray_reconstruct,   # official files, numpy 1
    ("numpy._core.multiarray", "_reconstruct"): _ndarray_reconstruct,  # numpy 2 writers (ours)
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("_codecs", "encode"): codecs.encode,                               # bytes in protocols 0-2
}


class _CifarUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds only what CIFAR's format holds, so a batch file from elsewhere
    cannot run code: any other global is refused before anything is called."""

    def find_class(self, module: str, name: str):
        try:
            return _CIFAR_PICKLE_GLOBALS[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refused global {module}.{name}") from None


def _load_pickle(path: Path) -> dict:
    with open(path, "rb") as handle:
        try:
            entry = _CifarUnpickler(handle, encoding="bytes").load()
        except pickle.UnpicklingError as err:
            raise ValueError(f"{path} is not a CIFAR batch file in the python format ({err}); it "
                             f"was not loaded and nothing in it was run") from None
    if not isinstance(entry, dict):
        raise ValueError(f"{path} is not a CIFAR batch file in the python format (it holds a "
                         f"{type(entry).__name__}, not a dict)")
    return _normalise_keys(entry)


def read_cifar_file(path: str | Path, label_key: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch file -> (images uint8 ``[N, 32, 32, 3]`` NHWC, labels int64 ``[N]``)."""
    entry = _load_pickle(Path(path))
    data = np.asarray(entry["data"], dtype=np.uint8)
    labels = np.asarray(entry[label_key], dtype=np.int64)
    if data.ndim != 2 or data.shape[1] != 3072 or data.shape[0] != labels.shape[0]:
        raise ValueError(f"{path}: expected data [N, 3072] and N labels, found data "
                         f"{list(data.shape)} and {labels.shape[0]} labels")
    images = data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels


def read_cifar_split(folder: str | Path, kind: str, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``split`` "train" (all training batches, in order) or "test" of a batches folder."""
    layout = cifar_layout(kind)
    if split not in ("train", "test"):
        raise ValueError(f"split={split!r} is not valid; valid values: train, test")
    names = layout.train_files if split == "train" else (layout.test_file,)
    parts = [read_cifar_file(Path(folder) / name, layout.label_key) for name in names]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))


def read_cifar_label_names(folder: str | Path, kind: str) -> list[str]:
    layout = cifar_layout(kind)
    names = _load_pickle(Path(folder) / layout.meta_file)[layout.names_key]
    return [n.decode("utf-8") if isinstance(n, bytes) else str(n) for n in names]


def _check_images(x: np.ndarray, y: np.ndarray, num_classes: int, what: str) -> None:
    x, y = np.asarray(x), np.asarray(y)
    if x.dtype != np.uint8 or x.ndim != 4 or tuple(x.shape[1:]) != CIFAR_IMAGE_SHAPE:
        raise ValueError(f"{what} images must be uint8 [N, 32, 32, 3] (NHWC), got "
                         f"{x.dtype} {list(x.shape)}")
    if y.shape != (x.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError(f"{what} labels must be {x.shape[0]} integers, got {y.dtype} "
                         f"{list(y.shape)}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(f"{what} labels must lie in [0, {num_classes}), got "
                         f"[{y.min()}, {y.max()}]")


def _dump(path: Path, entry: dict) -> None:
    with open(path, "wb") as handle:
        pickle.dump(entry, handle, protocol=4)


def write_cifar_archive(root: str | Path, train: tuple[np.ndarray, np.ndarray],
                        test: tuple[np.ndarray, np.ndarray], kind: str = "cifar10",
                        label_names: list[str] | None = None, tarball: bool = False) -> Path:
    """Write ``root/<cifar folder>`` in CIFAR's own format, plus ``checksums.json`` (sha256).

    ``train`` / ``test`` are (uint8 NHWC ``[N, 32, 32, 3]``, integer labels).  CIFAR-10's
    training images are spread over five batch files as evenly as possible (10,000 each for the
    real size).  CIFAR-100's coarse labels are set to ``fine // 5`` (20 super-classes), a
    convention for written data sets only.  With ``tarball=True`` the official archive
    ``root/<kind archive>.tar.gz`` is written too, byte-deterministic (fixed mtimes, owners and
    gzip header).  Returns the batches folder.
    """
    layout = cifar_layout(kind)
    _check_images(*train, layout.num_classes, "train")
    _check_images(*test, layout.num_classes, "test")
    if label_names is None:
        label_names = (list(CIFAR10_LABEL_NAMES) if kind == "cifar10"
                       else [f"class_{i:02d}" for i in range(layout.num_classes)])
    if len(label_names) != layout.num_classes:
        raise ValueError(f"label_names must hold {layout.num_classes} names for {kind}, got "
                         f"{len(label_names)}")
    folder = Path(root) / layout.folder
    folder.mkdir(parents=True, exist_ok=True)

    def entry(x, y, batch_label: str, first_index: int) -> dict:
        data = np.ascontiguousarray(np.asarray(x).transpose(0, 3, 1, 2).reshape(len(x), 3072))
        labels = [int(v) for v in y]
        out = {b"batch_label": batch_label.encode()}
        if kind == "cifar10":
            out[b"labels"] = labels
        else:
            out[b"fine_labels"] = labels
            out[b"coarse_labels"] = [v // 5 for v in labels]
        out[b"data"] = data
        out[b"filenames"] = [f"image_{first_index + i:06d}.png".encode() for i in range(len(x))]
        return out

    x_train, y_train = train
    bounds = np.linspace(0, len(x_train), len(layout.train_files) + 1).round().astype(int)
    n_files = len(layout.train_files)
    for i, name in enumerate(layout.train_files):
        lo, hi = bounds[i], bounds[i + 1]
        label = f"training batch {i + 1} of {n_files}" if n_files > 1 else "training"
        _dump(folder / name, entry(x_train[lo:hi], y_train[lo:hi], label, lo))
    _dump(folder / layout.test_file, entry(test[0], test[1], "testing batch 1 of 1"
                                           if kind == "cifar10" else "testing", len(x_train)))
    names = [n.encode() for n in label_names]
    if kind == "cifar10":
        meta = {b"num_cases_per_batch": int(bounds[1] - bounds[0]), b"label_names": names,
                b"num_vis": 3072}
    else:
        meta = {b"fine_label_names": names,
                b"coarse_label_names": [f"superclass_{i:02d}".encode() for i in range(20)]}
    _dump(folder / layout.meta_file, meta)
    write_checksums(folder, layout.files)
    if tarball:
        write_cifar_tarball(root, kind)
    return folder


def write_cifar_tarball(root: str | Path, kind: str) -> Path:
    """Pack ``root/<folder>`` into ``root/<archive>`` (tar.gz) with deterministic bytes."""
    layout = cifar_layout(kind)
    root = Path(root)
    folder = root / layout.folder
    names = [*layout.files] + (["checksums.json"] if (folder / "checksums.json").is_file() else [])
    tar_path = root / layout.archive
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in names:
            payload = (folder / name).read_bytes()
            info = tarfile.TarInfo(f"{layout.folder}/{name}")
            info.size, info.mtime, info.mode = len(payload), 0, 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(payload))
    with open(tar_path, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw,
                                                    mtime=0) as gz:
        gz.write(buffer.getvalue())
    return tar_path


def extract_cifar_tarball(tar_path: str | Path, root: str | Path) -> Path:
    """Extract an official-layout archive under ``root`` (no path escapes); return the folder."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tar_path, "r:gz") as tar:
        tar.extractall(root, filter="data")
        top = {Path(m.name).parts[0] for m in tar.getmembers() if m.name}
    if len(top) != 1:
        raise ValueError(f"{tar_path}: expected one top folder, found {sorted(top)}")
    return root / top.pop()


def download_cifar(root: str | Path, kind: str, timeout_s: float = 60.0) -> Path:
    """Fetch the official archive into ``root``, check its published md5, extract it.

    For online machines only (never called by the tests).  An offline machine gets a one-line
    :class:`DataFolderError` naming the folder to provide instead.
    """
    layout = cifar_layout(kind)
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    tar_path = root / layout.archive
    partial = tar_path.with_suffix(".part")
    md5 = hashlib.md5()
    try:
        with urllib.request.urlopen(layout.url, timeout=timeout_s) as response, \
                open(partial, "wb") as out:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                md5.update(chunk)
                out.write(chunk)
    except (urllib.error.URLError, OSError) as error:
        partial.unlink(missing_ok=True)
        reason = getattr(error, "reason", error)
        raise DataFolderError(
            f"{kind}: cannot download {layout.url} ({reason}); on an offline machine provide the "
            f"extracted folder {root / layout.folder} in CIFAR's python format") from error
    if md5.hexdigest() != layout.archive_md5:
        partial.unlink(missing_ok=True)
        raise ChecksumMismatchError(f"{kind}: checksum mismatch for downloaded {layout.url}: "
                                    f"expected md5:{layout.archive_md5}, found md5:{md5.hexdigest()}")
    partial.replace(tar_path)
    return extract_cifar_tarball(tar_path, root)
