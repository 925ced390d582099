"""Artifacts are data, not code: a pickle that would run code, planted where the suite reads a
supernet, an evaluator, a retrained model or a CIFAR batch, is refused with a one-line error and
runs nothing (its marker file is never written); the files the stages and the CIFAR writer
really write still load unchanged.

The planted payload calls :func:`leave_marker` (or ``os.system``) when unpickled by a loader
that trusts the file; with such a loader every refusal test here fails twice over: no error, and
the marker exists.
"""
from __future__ import annotations

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

import nasa_lib.data as data
import nasa_lib.report.report_figures as report_figures
from nasa_lib.dance import Evaluator, load_evaluator, save_evaluator
from nasa_lib.data import cifar_format
from nasa_lib.io import load_torch, save_torch
from nasa_lib.report import load_outputs
from nasa_lib.space import ChildNet, FBNetLayout, Supernet
from nasa_lib.stages.common import load_supernet
from test_data import random_cifar
from test_report import ARCHS, BASELINES, LAYOUT, SPACES, write_stage_outputs

TINY = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=8, num_classes=3)
REFUSED = "holds something other than tensors and plain data"


def leave_marker(path: str) -> torch.Tensor:
    """What the planted pickle calls: proof that loading ran code.  It returns a tensor, so a
    trusting loader goes on as if the file were fine."""
    Path(path).write_text("code from a data file ran")
    return torch.zeros(1)


class RunsCodeWhenUnpickled:
    """Pickles as a call of ``function(argument)``, made by whoever unpickles it."""

    def __init__(self, function, argument: str):
        self.function, self.argument = function, argument

    def __reduce__(self):
        return self.function, (self.argument,)


def assert_refused_and_nothing_ran(error: pytest.ExceptionInfo, path: Path, marker: Path, refusal: str) -> None:
    message = str(error.value)
    assert "\n" not in message, message
    assert str(path) in message and refusal in message, message
    assert not marker.exists(), "loading the planted file ran its code"


# --- .pt artifacts: supernet, evaluator, retrained model ----------------------------------------

def test_planted_supernet_is_refused_and_runs_nothing(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "pretrain/OnlyConv/supernet.pt"
    state = Supernet("OnlyConv", TINY, adder_free_ends=1).state_dict()
    state["stem.0.weight"] = RunsCodeWhenUnpickled(leave_marker, str(marker))
    save_torch(path, {"state_dict": state, "space": "OnlyConv", "layout": TINY.to_dict()})
    with pytest.raises(ValueError) as error:
        load_supernet(path, "OnlyConv", TINY, "elastic")
    assert_refused_and_nothing_ran(error, path, marker, REFUSED)
    assert "refused global test_safe_loading.leave_marker" in str(error.value)
    assert "rerun the stage that writes it" in str(error.value)


def test_planted_evaluator_is_refused_and_runs_nothing(tmp_path):
    marker, path = tmp_path / "pwned", tmp_path / "evaluator.pt"
    # the shell-command variant of the attack: os.system("touch <marker>")
    save_evaluator(path, Evaluator(5, 4, 8, 2), {"space": "OnlyConv"},
                   {"history": [RunsCodeWhenUnpickled(os.system, f"touch {marker}")]})
    with pytest.raises(ValueError) as error:
        load_evaluator(path)
    assert_refused_and_nothing_ran(error, path, marker, REFUSED)
    assert f"refused global {os.system.__module__}.system" in str(error.value)


@pytest.fixture()
def stage_outputs(tmp_path):
    """The report's inputs as the stages write them (tests/test_report.py's fixture)."""
    write_stage_outputs(tmp_path, dance=False)
    return tmp_path


def test_planted_retrained_model_is_refused_by_the_report_and_runs_nothing(stage_outputs):
    marker = stage_outputs / "pwned"
    out = load_outputs("t", list(SPACES), BASELINES, [], stage_outputs / "reports/metrics",
                       stage_outputs / "artifacts")
    net, _blocks, _twin = report_figures.pick_weight_pair(out)
    path = Path(out.checkpoints[net])
    blob = torch.load(path, weights_only=True)
    blob["state_dict"][next(iter(blob["state_dict"]))] = RunsCodeWhenUnpickled(leave_marker, str(marker))
    save_torch(path, blob)
    with pytest.raises(ValueError) as error:
        report_figures.fig_weight_distributions(out)
    assert_refused_and_nothing_ran(error, path, marker, REFUSED)


def test_truncated_weights_file_is_a_one_line_error(tmp_path):
    path = tmp_path / "supernet.pt"
    save_torch(path, {"state_dict": Supernet("OnlyConv", TINY, adder_free_ends=1).state_dict(),
                      "space": "OnlyConv", "layout": TINY.to_dict()})
    path.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError) as error:
        load_supernet(path, "OnlyConv", TINY, "elastic")
    message = str(error.value)
    assert "\n" not in message and str(path) in message and "is not a plain weights file" in message
    with pytest.raises(ValueError, match="is missing: run the stage that writes it first"):
        load_torch(tmp_path / "never_written.pt")


def assert_same_tensors(got: dict, expected: dict) -> None:
    assert list(got) == list(expected)
    for key, tensor in expected.items():
        assert got[key].dtype == tensor.dtype and torch.equal(got[key], tensor), key


def test_supernet_saved_as_the_pretrain_stage_saves_it_loads_unchanged(tmp_path):
    torch.manual_seed(3)
    supernet = Supernet("Hybrid-All", TINY, adder_free_ends=1)
    path = tmp_path / "supernet.pt"
    # nasa_lib/stages/pretrain.py's save
    save_torch(path, {"state_dict": supernet.state_dict(), "space": supernet.space, "layout": TINY.to_dict(),
                      "weight_sharing": "elastic"})
    assert_same_tensors(load_supernet(path, "Hybrid-All", TINY, "elastic"), supernet.state_dict())


def test_evaluator_saved_as_the_stage_saves_it_loads_unchanged(tmp_path):
    torch.manual_seed(4)
    evaluator = Evaluator(5, 4, 8, 2, target_mean=[1.0, 2.0, 3.0], target_std=[0.5, 0.25, 2.0])
    # what nasa_lib/stages/dance_evaluator.py saves: meta read back from the data set's JSON,
    # a report of ints, floats, None, strings, lists and dicts
    meta = {"space": "OnlyConv", "layout": TINY.to_dict(), "adder_free_ends": 1,
            "design_space": {"name": "tiny", "dimensions": {"pe_rows": [16, 4]}},
            "candidates": [["k3_e1", "skip"], ["k3_e3", "k5_e1"]]}
    report = {"mape_percent": {"test": {"latency_ms": 2.5}}, "rows": {"train": 8}, "epochs": 2,
              "best_epoch": None, "history": [{"epoch": 0, "train_mse": 1.5, "val_mse": float("inf")}],
              "config": evaluator.config()}
    path = tmp_path / "evaluator.pt"
    save_evaluator(path, evaluator, meta, report)
    back, meta_back, report_back = load_evaluator(path)
    assert_same_tensors(back.state_dict(), evaluator.state_dict())
    assert meta_back == meta and report_back == report and not back.training


def test_retrained_models_load_unchanged_and_feed_the_weight_figure(stage_outputs):
    out = load_outputs("t", list(SPACES), BASELINES, [], stage_outputs / "reports/metrics",
                       stage_outputs / "artifacts")
    net, blocks, twin = report_figures.pick_weight_pair(out)
    torch.manual_seed(5)
    model = ChildNet(ARCHS[net], LAYOUT)
    # nasa_lib/stages/retrain.py's save
    save_torch(out.checkpoints[net], {"state_dict": model.state_dict(), "arch": ARCHS[net], "layout": LAYOUT.to_dict()})
    assert_same_tensors(load_torch(out.checkpoints[net])["state_dict"], model.state_dict())
    assert twin is not None
    fig = report_figures.fig_weight_distributions(out)
    # the histogram of PW1 is drawn from exactly the adder weights of the saved model
    adder = report_figures._block_weights(model.state_dict(), ARCHS[net], blocks, "pw1",
                                          report_figures.ADDER_WEIGHT_KINDS)
    assert adder.size
    labels = fig.axes[0].get_legend_handles_labels()[1]
    assert any(f"(n={adder.size}, std {adder.std():.3g})" in label for label in labels), labels


# --- CIFAR batch files --------------------------------------------------------------------------

@pytest.mark.parametrize("payload", ["function", "shell"])
def test_planted_cifar_batch_is_refused_and_runs_nothing(tmp_path, payload):
    marker = tmp_path / "pwned"
    folder = data.write_cifar_archive(tmp_path, *random_cifar(10, seed=11), kind="cifar10")
    attack = (RunsCodeWhenUnpickled(leave_marker, str(marker)) if payload == "function"
              else RunsCodeWhenUnpickled(os.system, f"touch {marker}"))
    refused = ("test_safe_loading.leave_marker" if payload == "function" else f"{os.system.__module__}.system")
    batch = folder / "data_batch_2"
    batch.write_bytes(pickle.dumps({b"data": attack, b"labels": [0] * 12}, protocol=2))
    with pytest.raises(ValueError) as error:
        cifar_format.read_cifar_file(batch, "labels")
    assert_refused_and_nothing_ran(error, batch, marker, f"refused global {refused}")
    # the same through the data module, with the checksums that would have caught it turned off
    with pytest.raises(ValueError) as error:
        data.build_datamodule("cifar10", data_dir=str(tmp_path), verify="off").setup()
    assert_refused_and_nothing_ran(error, batch, marker, f"refused global {refused}")


def test_cifar_meta_file_with_a_foreign_global_is_refused(tmp_path):
    folder = data.write_cifar_archive(tmp_path, *random_cifar(10, seed=12), kind="cifar10")
    # a harmless global, but not one CIFAR's format holds: refused all the same
    (folder / "batches.meta").write_bytes(pickle.dumps({b"label_names": [Path("x")]}, protocol=4))
    with pytest.raises(ValueError, match=r"batches.meta is not a CIFAR batch file .*refused global pathlib\."):
        data.read_cifar_label_names(folder, "cifar10")


@pytest.mark.parametrize("kind,num_classes", [("cifar10", 10), ("cifar100", 100)])
def test_archive_written_by_the_suite_reads_back_exactly(tmp_path, kind, num_classes):
    train, test = random_cifar(num_classes, seed=13)
    folder = data.write_cifar_archive(tmp_path, train, test, kind=kind)
    for split, (images, labels) in (("train", train), ("test", test)):
        x, y = data.read_cifar_split(folder, kind, split)
        np.testing.assert_array_equal(x, images)
        np.testing.assert_array_equal(y, labels)
    assert data.read_cifar_label_names(folder, kind)[-1] == ("truck" if kind == "cifar10" else "class_99")


def python2_cifar_batch(rows: np.ndarray, labels: list[int]) -> bytes:
    """A batch file as the official archives hold it: Python 2 cPickle protocol 2 of numpy 1
    objects (str as SHORT_BINSTRING / BINSTRING; the array as
    ``numpy.core.multiarray._reconstruct(numpy.ndarray, (0,), 'b')`` then its state with a
    ``numpy.dtype('u1')`` and the raw bytes)."""
    def short_string(b: bytes) -> bytes:
        return b"U" + bytes([len(b)]) + b

    def uint(n: int) -> bytes:
        return b"K" + bytes([n]) if n < 256 else b"M" + struct.pack("<H", n)

    dtype = (b"cnumpy\ndtype\n" + short_string(b"u1") + b"K\x00K\x01\x87R"
             + b"(K\x03" + short_string(b"|") + b"NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb")
    array = (b"cnumpy.core.multiarray\n_reconstruct\ncnumpy\nndarray\nK\x00\x85" + short_string(b"b") + b"\x87R"
             + b"(K\x01" + uint(rows.shape[0]) + uint(rows.shape[1]) + b"\x86" + dtype + b"\x89"
             + b"T" + struct.pack("<I", rows.nbytes) + rows.tobytes() + b"tb")
    label_list = b"](" + b"".join(uint(v) for v in labels) + b"e"
    return (b"\x80\x02}(" + short_string(b"data") + array + short_string(b"labels") + label_list + b"u.")


def test_batch_in_the_official_python2_spelling_reads_back_exactly(tmp_path):
    rng = np.random.default_rng(14)
    rows = rng.integers(0, 256, size=(3, 3072), dtype=np.uint8)
    path = tmp_path / "data_batch_1"
    path.write_bytes(python2_cifar_batch(rows, [3, 7, 9]))
    # the hand-built pickle is what it claims: the trusting unpickler reads the same batch
    plain = pickle.loads(path.read_bytes(), encoding="bytes")
    np.testing.assert_array_equal(plain[b"data"], rows)
    images, labels = cifar_format.read_cifar_file(path, "labels")
    np.testing.assert_array_equal(images, rows.reshape(3, 3, 32, 32).transpose(0, 2, 3, 1))
    assert labels.tolist() == [3, 7, 9]
