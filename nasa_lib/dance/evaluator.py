"""The evaluator: a network that learns what the hardware cost tool computes (DANCE's core idea).

``Evaluator`` maps (architecture encoding, accelerator encoding) to the natural logs of latency
(ms), energy (uJ) and area (mm^2) per image.  Its input encodings are linear in soft one-hot
vectors (per searchable layer the op weights, per design dimension the value weights; see
:meth:`DesignSpace.feature_matrices`), so during co-exploration the predicted cost is
differentiable in the architecture parameters alpha and in the hardware generator's output.

Architecture (ASSUMPTIONS ``evaluator_network``): an MLP with SiLU activations (smooth, so the
gradients the search takes through it are smooth too), trained with Lightning on standardised
log targets with a mean-squared error; the epoch with the lowest validation loss is kept (never
the test split).  Errors are reported per metric as the mean absolute percentage error
``mean(|pred / true - 1|) * 100`` on each split.

Inference on one-hot inputs (:meth:`Evaluator.predict_indices`) computes the first layer as a sum
of weight rows (the same numbers as the dense product, without multiplying zeros); the
benchmark ``benchmarks/dance_evaluator.py`` measures designs evaluated per second.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from ..io import load_torch
from .costtables import METRICS
from .dataset import DanceDataset, arch_encoding
from .design_space import DesignSpace


class DesignEncoder(nn.Module):
    """Soft one-hot vectors per design dimension -> the design encoding (``w @ M`` per dimension)."""

    def __init__(self, ds: DesignSpace):
        super().__init__()
        self.cards = list(ds.cardinalities)
        mats = ds.feature_matrices()
        for j, m in enumerate(mats):
            self.register_buffer(f"m{j}", torch.tensor(m, dtype=torch.float32), persistent=False)
        self.size = sum(m.shape[1] for m in mats)

    def forward(self, weights: list) -> torch.Tensor:
        return torch.cat([w @ getattr(self, f"m{j}") for j, w in enumerate(weights)], dim=-1)


class Evaluator(nn.Module):
    """MLP from (architecture encoding, design encoding) to standardised log metrics."""

    def __init__(self, arch_dim: int, design_dim: int, hidden: int = 128, depth: int = 3,
                 target_mean=None, target_std=None):
        super().__init__()
        if depth < 1 or hidden < 1:
            raise ValueError(f"evaluator hidden={hidden} and depth={depth} must be positive integers")
        self.arch_dim, self.design_dim, self.hidden, self.depth = arch_dim, design_dim, hidden, depth
        layers, width = [], arch_dim + design_dim
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, len(METRICS)))
        self.net = nn.Sequential(*layers)
        self.register_buffer("target_mean", torch.zeros(len(METRICS)) if target_mean is None
                             else torch.as_tensor(target_mean, dtype=torch.float32))
        self.register_buffer("target_std", torch.ones(len(METRICS)) if target_std is None
                             else torch.as_tensor(target_std, dtype=torch.float32))

    def forward(self, arch_enc: torch.Tensor, design_enc: torch.Tensor) -> torch.Tensor:
        """Standardised log metrics (the training target)."""
        return self.net(torch.cat([arch_enc, design_enc], dim=-1))

    def log_metrics(self, arch_enc: torch.Tensor, design_enc: torch.Tensor) -> torch.Tensor:
        """Natural logs of latency (ms), energy (uJ) and area (mm^2), shape (..., 3)."""
        return self(arch_enc, design_enc) * self.target_std + self.target_mean

    @torch.inference_mode()
    def predict_indices(self, arch_idx: np.ndarray, arch_offsets: np.ndarray, design_enc: torch.Tensor) -> torch.Tensor:
        """Log metrics for one-hot architectures given as op indices: the first layer's product with
        a one-hot vector is a sum of its weight rows (``arch_offsets`` places layer i's ops)."""
        first = self.net[0]
        w_arch = first.weight[:, : self.arch_dim].t()                        # (arch_dim, hidden)
        rows = torch.as_tensor(np.asarray(arch_idx) + arch_offsets, dtype=torch.long)
        h = F.embedding_bag(rows, w_arch, mode="sum") if rows.dim() == 2 else w_arch[rows].sum(0, keepdim=True)
        h = h + F.linear(design_enc, first.weight[:, self.arch_dim:], first.bias)
        for layer in list(self.net)[1:]:
            h = layer(h)
        return h * self.target_std + self.target_mean

    def config(self) -> dict:
        return {"arch_dim": self.arch_dim, "design_dim": self.design_dim, "hidden": self.hidden, "depth": self.depth}


def mape(pred_log: np.ndarray, true: np.ndarray) -> dict:
    """Mean absolute percentage error (%) per metric, from predicted logs and true values."""
    err = np.abs(np.exp(np.asarray(pred_log, dtype=np.float64)) / true - 1.0).mean(0) * 100
    return {m: float(e) for m, e in zip(METRICS, err)}


class EvaluatorModule(pl.LightningModule):
    """Trains an :class:`Evaluator` (Adam, one-cycle learning rate, MSE on standardised log targets)."""

    def __init__(self, arch_dim: int, design_dim: int, hidden: int, depth: int, target_mean, target_std,
                 lr: float = 2e-3, weight_decay: float = 1e-5, epochs: int = 40, steps_per_epoch: int = 1):
        super().__init__()
        self.save_hyperparameters()
        self.evaluator = Evaluator(arch_dim, design_dim, hidden, depth, target_mean, target_std)
        self.history: list[dict] = []
        self.best_state, self.best_val = None, float("inf")

    def training_step(self, batch, batch_idx):
        x_a, x_d, y = batch
        loss = F.mse_loss(self.evaluator(x_a, x_d), y)
        self._train_sum = getattr(self, "_train_sum", 0.0) + float(loss.detach()) * len(y)
        self._train_n = getattr(self, "_train_n", 0) + len(y)
        return loss

    def validation_step(self, batch, batch_idx):
        x_a, x_d, y = batch
        self._val_sum = getattr(self, "_val_sum", 0.0) + float(F.mse_loss(self.evaluator(x_a, x_d), y)) * len(y)
        self._val_n = getattr(self, "_val_n", 0) + len(y)

    def on_train_epoch_start(self) -> None:
        self._t0 = time.perf_counter()

    def on_validation_epoch_end(self) -> None:
        if self.trainer.sanity_checking or not getattr(self, "_val_n", 0):
            return
        val = self._val_sum / self._val_n
        train = getattr(self, "_train_sum", float("nan")) / max(getattr(self, "_train_n", 0), 1)
        self._val_sum, self._val_n, self._train_sum, self._train_n = 0.0, 0, 0.0, 0
        if val < self.best_val:
            self.best_val = val
            self.best_state = copy.deepcopy(self.evaluator.state_dict())
        seconds = time.perf_counter() - getattr(self, "_t0", time.perf_counter())
        self.history.append({"epoch": self.current_epoch, "train_mse": train, "val_mse": val, "epoch_seconds": seconds})
        if (self.current_epoch + 1) % 10 == 0 or self.current_epoch + 1 == self.trainer.max_epochs:
            print(f"[evaluator] epoch {self.current_epoch + 1}/{self.trainer.max_epochs}  train_mse={train:.4g}  "
                  f"val_mse={val:.4g}  ({seconds:.1f} s)", flush=True)
        self.log("val_mse", val, logger=False)       # the history carries it to the logger

    def configure_optimizers(self):
        hp = self.hparams
        opt = torch.optim.AdamW(self.evaluator.parameters(), lr=hp.lr, weight_decay=hp.weight_decay)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, hp.lr, total_steps=max(1, hp.epochs * hp.steps_per_epoch))
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def dataset_tensors(dataset: DanceDataset, ds: DesignSpace, rows: np.ndarray) -> tuple:
    """(architecture encodings, design encodings, log metrics) of some rows, float32 tensors."""
    candidates = dataset.meta["candidates"]
    a = torch.from_numpy(arch_encoding(candidates, dataset.archs[rows]))
    d = torch.from_numpy(ds.encode(dataset.designs[rows]))
    y = torch.from_numpy(np.log(dataset.metrics[rows]).astype(np.float32))
    return a, d, y


def train_evaluator(dataset: DanceDataset, ds: DesignSpace, out_dir, hidden: int = 128, depth: int = 3,
                    epochs: int = 40, batch_size: int = 256, lr: float = 2e-3, weight_decay: float = 1e-5,
                    seed: int = 0, live_dir=None) -> tuple:
    """Train an evaluator on the train rows, keep the epoch with the best validation loss, and
    report per-metric MAPE on every split.  Returns ``(Evaluator, report)``.  ``live_dir``: where
    DVCLive writes the per-epoch losses (:mod:`nasa_lib.nas.live`); None: nowhere."""
    from ..nas import build_trainer
    for name, value in (("hidden", hidden), ("depth", depth), ("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"evaluator {name}={value!r} must be a positive integer")
    pl.seed_everything(seed, workers=True, verbose=False)
    t0 = time.perf_counter()
    rows = {s: dataset.rows(s) for s in ("train", "val", "test")}
    if any(len(r) == 0 for r in rows.values()):
        raise ValueError(f"the data set needs rows in every split, got {({k: len(v) for k, v in rows.items()})}")
    tensors = {s: dataset_tensors(dataset, ds, r) for s, r in rows.items()}
    y_train = tensors["train"][2]
    mean, std = y_train.mean(0), y_train.std(0).clamp_min(1e-6)

    def loader(split, shuffle):
        a, d, y = tensors[split]
        gen = torch.Generator().manual_seed(seed)
        return DataLoader(TensorDataset(a, d, (y - mean) / std), batch_size=batch_size, shuffle=shuffle,
                          generator=gen if shuffle else None, drop_last=shuffle and len(y) > batch_size)

    train_loader = loader("train", True)
    module = EvaluatorModule(tensors["train"][0].shape[1], tensors["train"][1].shape[1], hidden, depth,
                             mean, std, lr, weight_decay, epochs, len(train_loader))
    trainer = build_trainer(out_dir, "evaluator", epochs, live_dir=live_dir)
    # One-hot inputs leave most first-layer weights without gradient for many steps, so Adam's
    # second moments decay into denormal floats, which x86 CPUs process ~100x slower (Adam's sqrt
    # took 10 ms per call on 34k floats).  Flush-to-zero fixes it, but it is a per-thread CPU flag
    # that torch sets on the calling thread only, so train on that one thread (the MLP is too small
    # to gain from more): 1.2 s instead of 65 s per epoch of 38,000 rows, the same numbers.
    threads = torch.get_num_threads()
    flushed = torch.set_flush_denormal(True)
    torch.set_num_threads(1)
    try:
        trainer.fit(module, train_dataloaders=train_loader, val_dataloaders=loader("val", False))
    finally:
        torch.set_num_threads(threads)
        if flushed:
            torch.set_flush_denormal(False)
    evaluator = module.evaluator
    if module.best_state is not None:
        evaluator.load_state_dict(module.best_state)
    evaluator.eval()
    report = {"mape_percent": {}, "rows": {s: int(len(r)) for s, r in rows.items()}, "epochs": epochs,
              "best_epoch": int(np.argmin([h["val_mse"] for h in module.history])) if module.history else None,
              "history": module.history, "config": evaluator.config(), "train_seconds": time.perf_counter() - t0}
    with torch.no_grad():
        for split, (a, d, _y) in tensors.items():
            pred = evaluator.log_metrics(a, d).numpy()
            report["mape_percent"][split] = mape(pred, dataset.metrics[rows[split]])
    return evaluator, report


def save_evaluator(path, evaluator: Evaluator, meta: dict, report: dict | None = None) -> None:
    import os
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save({"config": evaluator.config(), "state_dict": evaluator.state_dict(), "meta": meta,
                "report": report or {}}, tmp)
    os.replace(tmp, path)


def load_evaluator(path) -> tuple:
    """(Evaluator in eval mode, the problem meta it was trained for, its training report)."""
    if not Path(path).exists():
        raise ValueError(f"evaluator {str(path)!r} does not exist; run the dance_evaluator stage first")
    blob = load_torch(path)     # data only: an evaluator from a shared remote cannot run code
    ev = Evaluator(**blob["config"])
    ev.load_state_dict(blob["state_dict"])
    return ev.eval(), blob["meta"], blob.get("report", {})


def predictions(evaluator, data, ds, split: str = "test") -> tuple:
    """(true metrics, predicted metrics) of a split of a :class:`~nasa_lib.dance.DanceDataset`,
    arrays (rows, 3) in ms / uJ / mm^2."""
    rows = data.rows(split)
    a, d, _ = dataset_tensors(data, ds, rows)
    with torch.no_grad():
        pred = torch.exp(evaluator.log_metrics(a, d)).numpy().astype(np.float64)
    return data.metrics[rows], pred
