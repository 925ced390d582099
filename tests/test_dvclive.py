"""The training stages' DVCLive logs (:mod:`nasa_lib.nas.live`), written through the stages' own
trainer (:func:`nasa_lib.stages.common.trainer`) on a tiny synthetic retraining (seconds): DVCLive's
layout with one row per epoch and no wall-clock column, nothing else in the folder (no dvc.yaml,
report, parameters or images), the same bytes on a second run, a resumed run ending with the
uninterrupted run's files whatever the interrupted one left, and only global rank 0 writing."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

pytest.importorskip("dvclive", reason="dvclive (the pipeline extra) is not installed")

from nasa_lib.io import TIMING_KEYS  # noqa: E402
from nasa_lib.nas import RetrainModule, fit_resumable  # noqa: E402
from nasa_lib.space import FBNetLayout  # noqa: E402
from nasa_lib.stages import common, paths  # noqa: E402
from nasa_lib.stages.params import stage_params  # noqa: E402
from interrupts import InterruptDuringEpoch

REPO = Path(__file__).resolve().parents[1]
LAYOUT = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=8, num_classes=3)
ARCH = ["shift_k3_e3", "add_k3_e1", "k5_e1", "skip", "add_k3_e3", "shift_k5_e1", "k3_e6"][: LAYOUT.num_layers]
EPOCHS = 3


def loader(seed, n=24, batch=8):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=g)
    y = (x.mean((1, 2, 3)) > 0).long() + (x[:, 0, 0, 0] > 1).long()
    return DataLoader(TensorDataset(x, y), batch_size=batch)


def retrain(ckpt_dir, live_dir, callbacks=()):
    """The retrain stage's trainer (params.yaml's ``common``), fit (resuming from ``ckpt_dir``) and
    tested once, as :func:`nasa_lib.stages.training.fit_retrain` does."""
    pl.seed_everything(0, verbose=False)
    p = stage_params(("common",), REPO / "params.yaml")
    module = RetrainModule(ARCH, LAYOUT.to_dict(), epochs=EPOCHS, lr=0.05)
    trainer = common.trainer(p, ckpt_dir, "retrain", EPOCHS, supernet=False, live_dir=live_dir)
    trainer.callbacks.extend(callbacks)
    fit_resumable(trainer, module, ckpt_dir, train_dataloaders=loader(1), val_dataloaders=loader(2))
    test_acc = trainer.test(module, dataloaders=loader(3), verbose=False)[0]["test_acc"]
    return module, test_acc


def files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_one_row_per_epoch_in_dvclives_layout_without_timestamps_and_the_same_bytes_twice(tmp_path, capsys):
    module, test_acc = retrain(tmp_path / "ckpt1", tmp_path / "live1")
    out = capsys.readouterr().out
    assert [line for line in out.splitlines() if not line.startswith("[retrain] epoch ")] == []  # DVCLive prints nothing
    logged = [k for k, v in module.history[0].items()
              if k != "epoch" and k not in TIMING_KEYS and isinstance(v, (int, float))]
    assert {"train_loss", "train_acc", "val_acc"} <= set(logged)
    first = files(tmp_path / "live1")
    # DVCLive's layout and nothing else: no dvc.yaml, report, params.yaml or images
    assert set(first) == {paths.DVCLIVE_SUMMARY} | {f"{paths.DVCLIVE_PLOTS}/{k}.tsv" for k in logged}
    for key in logged:
        rows = first[f"{paths.DVCLIVE_PLOTS}/{key}.tsv"].decode().splitlines()
        assert rows[0].split("\t") == ["step", key]                         # no timestamp column
        assert [r.split("\t")[0] for r in rows[1:]] == [str(e) for e in range(1, EPOCHS + 1)]
        assert [float(r.split("\t")[1]) for r in rows[1:]] == [h[key] for h in module.history]
    summary = json.loads(first[paths.DVCLIVE_SUMMARY])
    assert summary["step"] == EPOCHS and summary["test_acc"] == pytest.approx(test_acc)
    assert all(summary[k] == module.history[-1][k] for k in logged)
    assert not any(b"timestamp" in data for data in first.values())
    assert not list(tmp_path.rglob("dvc.yaml")) and not list(tmp_path.rglob("report.*"))
    # the same run again: the same bytes
    retrain(tmp_path / "ckpt2", tmp_path / "live2")
    assert files(tmp_path / "live2") == first


def test_a_resumed_run_ends_with_the_files_of_an_uninterrupted_one(tmp_path):
    """Ctrl-C in epoch 3 leaves epoch 2's checkpoint; rows of later epochs and stray files (what a
    process killed after writing them would leave) are replaced by the restored history's."""
    retrain(tmp_path / "full", tmp_path / "live_full")
    reference = files(tmp_path / "live_full")
    live = tmp_path / "live_cut"
    with pytest.raises((KeyboardInterrupt, SystemExit)):
        retrain(tmp_path / "cut", live, callbacks=[InterruptDuringEpoch(2)])
    cut = files(live)
    assert cut[f"{paths.DVCLIVE_PLOTS}/train_loss.tsv"].decode().splitlines()[1:] \
        == reference[f"{paths.DVCLIVE_PLOTS}/train_loss.tsv"].decode().splitlines()[1:3]      # epochs 1 and 2
    shutil.rmtree(live)
    shutil.copytree(tmp_path / "live_full", live)                  # rows past the checkpoint ...
    (live / paths.DVCLIVE_PLOTS / "stray.tsv").write_text("step\tstray\n7\t0.5\n")     # ... and a stray file
    retrain(tmp_path / "cut", live)
    assert files(live) == reference


def test_only_global_rank_zero_writes(tmp_path, monkeypatch):
    from pytorch_lightning.utilities import rank_zero_only

    from nasa_lib.nas.live import HistoryLogger
    monkeypatch.setattr(rank_zero_only, "rank", 1)
    logger = HistoryLogger(tmp_path / "live")
    logger.start()
    logger.log_epoch({"epoch": 0, "train_loss": 1.0})
    logger.log_metrics({"test_acc": 0.5})
    logger.finalize("success")
    assert not (tmp_path / "live").exists()
