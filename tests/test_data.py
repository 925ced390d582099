"""Tests of nasa_lib.data: CIFAR-format round trips, splits, seeding, checksums, errors."""
from __future__ import annotations

import dataclasses
import hashlib
import io
import pickle
import runpy
import sys
import urllib.error

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

import nasa_lib.data as data
from nasa_lib.data import cifar_format
from nasa_lib.data.base import balanced_order, channel_mean_std, stratified_split
from nasa_lib.data.checksums import ChecksumMismatchError, DataFolderError

N_TRAIN, N_TEST = 60, 20


def random_cifar(num_classes: int, seed: int):
    """Random uint8 NHWC images; every class present when num_classes <= N_TRAIN."""
    rng = np.random.default_rng(seed)
    x_train = rng.integers(0, 256, size=(N_TRAIN, 32, 32, 3), dtype=np.uint8)
    x_test = rng.integers(0, 256, size=(N_TEST, 32, 32, 3), dtype=np.uint8)
    y_train = rng.permutation(np.arange(N_TRAIN) % min(num_classes, N_TRAIN)).astype(np.int64)
    y_test = rng.integers(0, num_classes, size=N_TEST).astype(np.int64)
    return (x_train, y_train), (x_test, y_test)


def pixels_back(batch: torch.Tensor, mean, std) -> np.ndarray:
    """Undo the normalisation of an un-augmented batch -> uint8 NHWC."""
    mean = torch.tensor(mean).view(1, -1, 1, 1)
    std = torch.tensor(std).view(1, -1, 1, 1)
    x = ((batch * std + mean) * 255.0).round().clamp(0, 255).to(torch.uint8)
    return x.permute(0, 2, 3, 1).numpy()


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return data.materialize_mnist5k(tmp_path_factory.mktemp("mnist5k"))


# --- CIFAR format --------------------------------------------------------------------------

@pytest.mark.parametrize("kind,num_classes", [("cifar10", 10), ("cifar100", 100)])
def test_cifar_archive_written_by_the_test_loads_through_the_cifar_module(tmp_path, kind,
                                                                          num_classes):
    train, test = random_cifar(num_classes, seed=1)
    folder = data.write_cifar_archive(tmp_path, train, test, kind=kind)
    dm = data.build_datamodule(kind, data_dir=str(tmp_path), verify="folder", batch_size=16,
                               eval_batch_size=7)
    assert (dm.in_channels, dm.input_size, dm.num_classes) == (3, 32, num_classes)
    dm.setup()
    idx = dm.split_indices
    # test loader: official test split, in order, pixel-exact after undoing the normalisation
    xs, ys = zip(*dm.test_dataloader())
    assert torch.cat(xs).shape == (N_TEST, 3, 32, 32)
    np.testing.assert_array_equal(pixels_back(torch.cat(xs), dm.mean, dm.std), test[0])
    np.testing.assert_array_equal(torch.cat(ys).numpy(), test[1])
    # val loader: exactly the written training images at the val indices
    xv, yv = map(torch.cat, zip(*dm.val_dataloader()))
    np.testing.assert_array_equal(pixels_back(xv, dm.mean, dm.std), train[0][idx["val"]])
    np.testing.assert_array_equal(yv.numpy(), train[1][idx["val"]])
    # normalisation = per-channel mean / std of the training split, in [0, 1] units
    pixels = train[0][idx["train"]].reshape(-1, 3) / 255.0
    np.testing.assert_allclose(dm.mean, pixels.mean(0), atol=1e-12)
    np.testing.assert_allclose(dm.std, pixels.std(0), atol=1e-12)
    # the training loader (no augmentation) holds exactly the training split
    xt, yt = map(torch.cat, zip(*dm.train_dataloader()))
    got = sorted(map(bytes, pixels_back(xt, dm.mean, dm.std)))
    assert got == sorted(map(bytes, train[0][idx["train"]]))
    assert sorted(yt.tolist()) == sorted(train[1][idx["train"]].tolist())
    assert data.read_cifar_label_names(folder, kind)[:1] == (["airplane"] if kind == "cifar10"
                                                            else ["class_00"])


def test_cifar_files_follow_the_official_byte_layout(tmp_path):
    """Row of ``data``: 1024 red, then green, then blue, each plane row-major; bytes keys."""
    train, test = random_cifar(10, seed=2)
    folder = data.write_cifar_archive(tmp_path, train, test, kind="cifar10")
    with open(folder / "data_batch_1", "rb") as handle:
        batch = pickle.load(handle, encoding="bytes")
    assert {b"data", b"labels", b"batch_label", b"filenames"} <= set(batch)
    # 60 images over 5 files: 12 each
    assert batch[b"data"].shape == (12, 3072) and batch[b"data"].dtype == np.uint8
    image = train[0][0]
    r, c = 5, 17
    assert batch[b"data"][0, 32 * r + c] == image[r, c, 0]
    assert batch[b"data"][0, 1024 + 32 * r + c] == image[r, c, 1]
    assert batch[b"data"][0, 2048 + 32 * r + c] == image[r, c, 2]
    assert batch[b"labels"] == train[1][:12].tolist()


def test_reader_accepts_str_keys_as_latin1_readers_see_them(tmp_path):
    x = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    with open(tmp_path / "batch", "wb") as handle:
        pickle.dump({"data": x, "labels": [3, 7]}, handle, protocol=2)
    images, labels = cifar_format.read_cifar_file(tmp_path / "batch", "labels")
    assert images.shape == (2, 32, 32, 3) and labels.tolist() == [3, 7]
    assert images[1, 0, 1, 2] == x[1, 2048 + 1]  # blue plane, row 0, column 1


def test_tarball_is_byte_deterministic_and_extracts_to_a_loadable_folder(tmp_path):
    train, test = random_cifar(10, seed=3)
    paths = []
    for name in ("a", "b"):
        data.write_cifar_archive(tmp_path / name, train, test, kind="cifar10", tarball=True)
        paths.append(tmp_path / name / "cifar-10-python.tar.gz")
    assert paths[0].read_bytes() == paths[1].read_bytes()
    folder = data.extract_cifar_tarball(paths[0], tmp_path / "extracted")
    assert folder.name == "cifar-10-batches-py"
    x, y = data.read_cifar_split(folder, "cifar10", "train")
    np.testing.assert_array_equal(x, train[0])
    np.testing.assert_array_equal(y, train[1])


def test_writer_rejects_bad_images(tmp_path):
    train, test = random_cifar(10, seed=4)
    with pytest.raises(ValueError, match=r"uint8 \[N, 32, 32, 3\]"):
        data.write_cifar_archive(tmp_path, (train[0][:, :28], train[1]), test)
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 10\)"):
        data.write_cifar_archive(tmp_path, (train[0], train[1] + 10), test)


# --- synthetic ------------------------------------------------------------------------------

def test_make_synthetic_cifar_is_deterministic_and_loads(tmp_path, capsys):
    folders = [data.make_synthetic_cifar(tmp_path / name, "cifar100", n_train=200, n_test=50,
                                         seed=5) for name in ("a", "b")]
    for name in ("train", "test", "meta", "checksums.json"):
        assert (folders[0] / name).read_bytes() == (folders[1] / name).read_bytes()
    dm = data.build_datamodule("cifar100", data_dir=str(tmp_path / "a"), verify="folder")
    dm.setup()
    assert dm.summary()["sizes"] == {"train": 180, "val": 20, "weight": 90, "arch": 90,
                                     "test": 50}
    other = data.make_synthetic_cifar(tmp_path / "c", "cifar100", n_train=200, n_test=50, seed=6)
    assert (other / "train").read_bytes() != (folders[0] / "train").read_bytes()
    # the command line writes the same bytes
    argv = sys.argv
    sys.argv = ["make_synthetic_cifar", "--root", str(tmp_path / "cli"), "--kind", "cifar100",
                "--n-train", "200", "--n-test", "50", "--seed", "5"]
    try:
        with pytest.raises(SystemExit) as done:
            runpy.run_module("nasa_lib.data.make_synthetic_cifar", run_name="__main__")
    finally:
        sys.argv = argv
    assert done.value.code == 0
    assert '"folder"' in capsys.readouterr().out
    assert ((tmp_path / "cli" / "cifar-100-python" / "train").read_bytes()
            == (folders[0] / "train").read_bytes())


def test_synthetic_set_is_learnable_by_nearest_class_mean():
    dm = data.build_datamodule("synthetic", n_train=1000, n_test=500, image_size=16)
    dm.setup()
    xt, yt = map(torch.cat, zip(*dm.train_dataloader()))
    xe, ye = map(torch.cat, zip(*dm.test_dataloader()))
    means = torch.stack([xt[yt == c].mean(0) for c in range(10)]).flatten(1)
    pred = torch.cdist(xe.flatten(1), means).argmin(1)
    assert (pred == ye).float().mean() > 0.8  # chance is 0.1


# --- splits and loaders ---------------------------------------------------------------------

def test_mnist5k_splits_are_stratified_disjoint_and_cover(mnist_dir):
    dm = data.build_datamodule("mnist5k", data_dir=str(mnist_dir))
    dm.setup()
    idx = {k: set(v.tolist()) for k, v in dm.split_indices.items()}
    assert not idx["train"] & idx["val"] and not idx["train"] & idx["test"]
    assert not idx["val"] & idx["test"]
    assert idx["weight"] | idx["arch"] == idx["train"] and not idx["weight"] & idx["arch"]
    assert len(idx["train"] | idx["val"] | idx["test"]) == 5000
    # 500 images per digit: test 20% -> 100, val 10% -> 50, train 350, halves 175 each
    labels = np.load(mnist_dir / "labels.npy")
    for split, per_class in (("test", 100), ("val", 50), ("train", 350), ("weight", 175),
                             ("arch", 175)):
        counts = np.bincount(labels[dm.split_indices[split]], minlength=10)
        assert counts.tolist() == [per_class] * 10, split
    # every prefix of the training order is balanced: the first 10 hold each digit once
    assert sorted(labels[dm.split_indices["train"][:10]].tolist()) == list(range(10))
    loaders = dm.search_dataloaders()
    assert len(loaders["weight"].dataset) == len(loaders["arch"].dataset) == 1750
    assert dm.summary()["mean"][0] == pytest.approx(0.1310, abs=1e-4)  # MNIST's known 0.13


def test_same_seed_same_batches_other_seed_other_batches():
    def first(seed, **kw):
        dm = data.build_datamodule("synthetic", n_train=256, n_test=64, batch_size=32,
                                   augment="crop_flip", seed=seed, **kw)
        loaders = dm.search_dataloaders()
        return (next(iter(dm.train_dataloader())), next(iter(loaders["weight"])),
                next(iter(loaders["arch"])), next(iter(dm.test_dataloader())))

    a, b, c = first(0), first(0), first(1)
    for x, y in zip(a, b):
        assert torch.equal(x[0], y[0]) and torch.equal(x[1], y[1])
    for i in range(3):  # shuffled loaders differ with the seed
        assert not torch.equal(a[i][0], c[i][0])
    assert torch.equal(a[3][0], c[3][0])  # the test set does not move with the seed
    # the same holds with worker processes (each worker reseeds its augmentation stream)
    w1, w2 = first(0, num_workers=2), first(0, num_workers=2)
    assert torch.equal(w1[0][0], w2[0][0]) and torch.equal(w1[1][0], w2[1][0])


def test_loaders_work_under_a_distributed_sampler():
    dm = data.build_datamodule("synthetic", n_train=100, n_test=20, batch_size=8)
    dm.setup()
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(dm.train_set, num_replicas=2, rank=rank, shuffle=True,
                                     seed=0)
        loader = DataLoader(dm.train_set, batch_size=8, sampler=sampler)
        seen.append([i for i in sampler])
        assert sum(len(y) for _, y in loader) == len(sampler) == 45
    assert sorted(seen[0] + seen[1]) == list(range(90))


def test_subset_and_pad_to(mnist_dir):
    dm = data.build_datamodule("mnist5k", data_dir=str(mnist_dir), subset=40, pad_to=32,
                               batch_size=40)
    assert dm.input_size == 32
    dm.setup()
    assert len(dm.split_indices["train"]) == 40 and len(dm.split_indices["weight"]) == 20
    x, _ = next(iter(dm.train_dataloader()))
    assert x.shape == (40, 1, 32, 32)
    black = (0.0 - dm.mean[0]) / dm.std[0]
    border = torch.cat([x[..., :2, :].flatten(), x[..., -2:, :].flatten()])  # 28 -> 32: 2 rows
    assert torch.allclose(border, torch.full_like(border, black))
    with pytest.raises(ValueError, match="subset=4000 exceeds the 3500 training images"):
        data.build_datamodule("mnist5k", data_dir=str(mnist_dir), subset=4000).setup()
    with pytest.raises(ValueError, match="pad_to=20 is smaller"):
        data.build_datamodule("mnist5k", data_dir=str(mnist_dir), pad_to=20)


def test_datamodule_runs_under_a_lightning_trainer():
    import pytorch_lightning as pl

    class Tiny(pl.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(3 * 8 * 8, 4))
            self.seen = {"train": 0, "val": 0, "test": 0}

        def _step(self, batch, split):
            x, y = batch
            self.seen[split] += len(y)
            return torch.nn.functional.cross_entropy(self.net(x), y)

        def training_step(self, batch, _):
            return self._step(batch, "train")

        def validation_step(self, batch, _):
            self._step(batch, "val")

        def test_step(self, batch, _):
            self._step(batch, "test")

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    dm = data.build_datamodule("synthetic", n_train=40, n_test=12, num_classes=4, image_size=8,
                               batch_size=36, augment="crop_flip")
    model = Tiny()
    trainer = pl.Trainer(max_epochs=1, accelerator="cpu", logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, num_sanity_val_steps=0)
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm, verbose=False)
    assert model.seen == {"train": 36, "val": 4, "test": 12}


# --- checksums and errors -------------------------------------------------------------------

def test_mnist5k_and_digits_materialisations_reproduce_the_pinned_hashes(mnist_dir, tmp_path):
    for name, pinned, folder, shape in (
            ("mnist5k", data.MNIST5K_PINNED, mnist_dir, (5000, 28, 28)),
            ("digits", data.DIGITS_PINNED, data.materialize_digits(tmp_path), (1797, 8, 8))):
        for file, want in pinned.items():
            got = "sha256:" + hashlib.sha256((folder / file).read_bytes()).hexdigest()
            assert got == want, (name, file)
        images = np.load(folder / "images.npy")
        assert images.shape == shape and images.dtype == np.uint8
        assert np.load(folder / "labels.npy").dtype == np.int64
    digits = np.load(tmp_path / "images.npy")
    assert digits.max() == 255 and set(np.unique(digits)) <= {round(v * 255 / 16)
                                                              for v in range(17)}


def test_missing_folder_and_corrupted_file_give_one_line_errors(tmp_path, mnist_dir):
    with pytest.raises(DataFolderError) as missing:
        data.build_datamodule("cifar10", data_dir=str(tmp_path / "nowhere")).setup()
    message = str(missing.value)
    assert "\n" not in message and "nowhere/cifar-10-batches-py does not exist" in message
    assert "make_synthetic_cifar" in message

    train, test = random_cifar(10, seed=7)
    folder = data.write_cifar_archive(tmp_path, train, test)
    # the official checksums reject a folder that is not the official data set
    with pytest.raises(ChecksumMismatchError, match="expected md5:"):
        data.build_datamodule("cifar10", data_dir=str(tmp_path)).setup()
    raw = bytearray((folder / "data_batch_3").read_bytes())
    raw[-100] ^= 0xFF
    (folder / "data_batch_3").write_bytes(bytes(raw))
    with pytest.raises(ChecksumMismatchError) as corrupted:
        data.build_datamodule("cifar10", data_dir=str(tmp_path), verify="folder").setup()
    message = str(corrupted.value)
    expected = data.file_digest(folder / "data_batch_3")
    assert "\n" not in message and "data_batch_3" in message
    assert "expected sha256:" in message and f"found {expected}" in message
    data.build_datamodule("cifar10", data_dir=str(tmp_path), verify="off").setup()  # no check

    (folder / "test_batch").unlink()
    with pytest.raises(DataFolderError, match="lacks test_batch"):
        data.build_datamodule("cifar10", data_dir=str(tmp_path), verify="off").setup()

    bad = tmp_path / "mnist_bad"
    data.materialize_mnist5k(bad)
    np.save(bad / "labels.npy", np.zeros(5000, dtype=np.int64))
    with pytest.raises(ChecksumMismatchError, match="labels.npy: expected sha256:8d6ffbd4"):
        data.build_datamodule("mnist5k", data_dir=str(bad)).setup()


def test_offline_download_names_the_folder_and_md5_is_checked(tmp_path, monkeypatch):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no route to host")

    monkeypatch.setattr(cifar_format.urllib.request, "urlopen", offline)
    with pytest.raises(DataFolderError) as error:
        data.build_datamodule("cifar10", data_dir=str(tmp_path), download=True).setup()
    assert "provide the extracted folder" in str(error.value)
    assert str(tmp_path / "cifar-10-batches-py") in str(error.value)

    # a served archive: the published md5 decides; with a matching md5 it is extracted and read
    train, test = random_cifar(10, seed=8)
    data.write_cifar_archive(tmp_path / "src", train, test, tarball=True)
    archive = (tmp_path / "src" / "cifar-10-python.tar.gz").read_bytes()
    monkeypatch.setattr(cifar_format.urllib.request, "urlopen",
                        lambda *a, **k: io.BytesIO(archive))
    with pytest.raises(ChecksumMismatchError, match="expected md5:c58f3010"):
        cifar_format.download_cifar(tmp_path / "dl", "cifar10")
    layout = dataclasses.replace(cifar_format.CIFAR_LAYOUTS["cifar10"],
                                 archive_md5=hashlib.md5(archive).hexdigest())
    monkeypatch.setitem(cifar_format.CIFAR_LAYOUTS, "cifar10", layout)
    dm = data.build_datamodule("cifar10", data_dir=str(tmp_path / "dl"), download=True,
                               verify="folder")
    dm.setup()
    assert len(dm.test_set) == N_TEST


def test_invalid_names_and_values_list_the_valid_ones(mnist_dir):
    with pytest.raises(ValueError, match="valid names: mnist5k, digits, synthetic, cifar10, "
                                         "cifar100"):
        data.build_datamodule("imagenet")
    with pytest.raises(ValueError, match="valid values: none, crop_flip, autoaugment"):
        data.build_datamodule("synthetic", augment="mixup")
    with pytest.raises(ValueError, match="valid values: pinned, folder, off"):
        data.build_datamodule("mnist5k", data_dir=str(mnist_dir), verify="sometimes")
    with pytest.raises(ValueError, match="unknown parameter.* lr; valid parameters: .*augment"):
        data.build_datamodule("mnist5k", lr=0.1)
    with pytest.raises(ValueError, match="test_fraction does not apply to cifar10"):
        data.build_datamodule("cifar10", data_dir="x", test_fraction=0.2)
    with pytest.raises(ValueError, match="train_portion must be a number strictly between"):
        data.build_datamodule("synthetic", train_portion=1.0)
    with pytest.raises(ValueError, match="data_dir is required for mnist5k"):
        data.build_datamodule("mnist5k").setup()


def test_autoaugment_needs_torchvision():
    try:
        import torchvision  # noqa: F401
    except Exception:
        with pytest.raises(ValueError, match="augment='autoaugment' needs torchvision"):
            data.build_datamodule("synthetic", augment="autoaugment").setup()
    else:
        dm = data.build_datamodule("synthetic", augment="autoaugment", batch_size=16)
        assert next(iter(dm.train_dataloader()))[0].shape == (16, 3, 16, 16)


# --- small pieces ---------------------------------------------------------------------------

def test_crop_flip_keeps_shape_is_seeded_and_is_a_shifted_window():
    image = torch.arange(3 * 8 * 8, dtype=torch.int64).remainder(251).to(torch.uint8)
    image = image.view(3, 8, 8) + 1  # no zeros inside, so padding is recognisable
    padded = torch.nn.functional.pad(image, (1, 1, 1, 1))
    windows = {(dy, dx, flip): (padded[:, dy:dy + 8, dx:dx + 8].flip(-1) if flip
                                else padded[:, dy:dy + 8, dx:dx + 8])
               for dy in range(3) for dx in range(3) for flip in (0, 1)}
    seen = set()
    for seed in range(60):
        out = data.random_crop_flip(image, 1, torch.Generator().manual_seed(seed))
        again = data.random_crop_flip(image, 1, torch.Generator().manual_seed(seed))
        assert out.shape == image.shape and out.dtype == image.dtype
        assert torch.equal(out, again)
        match = [key for key, w in windows.items() if torch.equal(out, w)]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) >= 12  # offsets and flips both vary (18 possible)


def test_stratified_split_and_balanced_order_by_hand():
    labels = np.array([0] * 6 + [1] * 4)
    rng = np.random.default_rng(0)
    # 30% of 10 = 3: exact quotas 1.8 and 1.2 -> floors 1 + 1, the larger remainder (class 0)
    # gets the last one: 2 of class 0, 1 of class 1
    taken, rest = stratified_split(np.arange(10), labels, 0.3, rng)
    assert np.bincount(labels[taken]).tolist() == [2, 1] and len(rest) == 7
    assert sorted(taken.tolist() + rest.tolist()) == list(range(10))
    order = balanced_order(np.arange(10), labels, rng)
    assert sorted(labels[order[:2]].tolist()) == [0, 1]
    assert sorted(labels[order[:8]].tolist()) == [0] * 4 + [1] * 4


def test_channel_mean_std_by_hand():
    # channel 0: half 0, half 255 -> mean 0.5, std 0.5; channel 1: all 51 -> mean 0.2, std 0
    images = torch.zeros(2, 2, 2, 2, dtype=torch.uint8)
    images[0, 0] = 255
    images[:, 1] = 51
    mean, std = channel_mean_std(images)
    assert mean == pytest.approx([0.5, 0.2]) and std[0] == pytest.approx(0.5)
    assert std[1] == pytest.approx(1e-6)  # floored, so normalisation never divides by zero


def test_data_package_does_not_import_the_network_or_hardware_side():
    """Static check of every import in nasa_lib/data (absolute and relative)."""
    import ast
    from pathlib import Path

    forbidden = ("nasa_lib.space", "nasa_lib.nas", "nasa_lib.hw", "nasa_lib.ops")
    files = sorted(Path(data.__file__).parent.glob("*.py"))
    assert len(files) >= 10
    for path in files:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                names = [("nasa_lib." + base) if node.level == 2 else
                         ("nasa_lib.data." + base) if node.level == 1 else base]
            else:
                continue
            for name in names:
                assert not name.startswith(forbidden), f"{path.name} imports {name}"
