"""What several training stages share beyond :mod:`.common`: building and fitting a search from a
pretrained supernet (``search``, ``sweep``), and retraining a network with the retrain recipe
(``retrain``, ``sweep``, ``random_arch``).  Stage modules import this; nothing imports them."""
from __future__ import annotations

import os
import time
from pathlib import Path

from . import paths
from .common import load_supernet, make_datamodule, trainer
from .params import StageParams


def search_module(p: StageParams, run: str, seed: int, hw_weight: float, layout):
    """The run's search module at ``hw_weight``, started from the supernet pretrained with ``seed``."""
    from ..nas import SearchModule
    space, s, net = p.runs[run].space, p.search, p.network
    state = load_supernet(paths.supernet(run, seed), space, layout, net.weight_sharing)
    band = None if s.cost_band_lo is None else (s.cost_band_lo, s.cost_band_hi)
    module = SearchModule(space, layout.to_dict(), s.epochs, mode=s.mode, act_num=s.act_num, lr=s.lr,
                          weight_decay=s.weight_decay, arch_lr=s.arch_lr, tau0=s.tau0, tau_decay=s.tau_decay,
                          tau_epoch_offset=p.pretrain.epochs, hw_weight=hw_weight, cost_band=band,
                          adder_free_ends=net.adder_free_ends, shift_mode=net.shift_mode, seed=seed,
                          weight_sharing=net.weight_sharing)
    module.load_supernet(state)
    return module


def fit_search(p: StageParams, module, dm, ckpt_dir: Path, label: str, live_dir):
    """Fit a search module (resuming from ``ckpt_dir``; per-epoch metrics to the DVCLive folder
    ``live_dir``); returns (trainer, wall seconds)."""
    from pytorch_lightning.utilities import CombinedLoader

    from ..nas import fit_resumable
    tr = trainer(p, ckpt_dir, "search", p.search.epochs, supernet=True, live_dir=live_dir)
    loaders = CombinedLoader(dm.search_dataloaders(), "max_size_cycle")
    t0 = time.perf_counter()
    fit_resumable(tr, module, ckpt_dir, label=label, train_dataloaders=loaders, val_dataloaders=dm.val_dataloader())
    return tr, time.perf_counter() - t0


def export_arch(module, out, **meta) -> list[str]:
    """Write the derived architecture atomically; returns it."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(out) + ".tmp")
    arch = module.export(tmp, **meta)
    os.replace(tmp, out)
    return arch


def retrain_datamodule(p: StageParams):
    """The data with retraining's own batch size and augmentation."""
    return make_datamodule(p, batch_size=p.retrain.batch_size, augment=p.retrain.augment)


def fit_retrain(p: StageParams, arch: list[str], layout, dm, seed: int, ckpt_dir, label: str, live_dir):
    """Retrain ``arch`` with the retrain recipe (resuming from ``ckpt_dir``; per-epoch metrics, and
    the test accuracy in the summary, to the DVCLive folder ``live_dir``) and test it once;
    returns (trainer, module, test accuracy 0-1, wall seconds of the fit)."""
    from ..nas import RetrainModule, fit_resumable
    r = p.retrain
    milestones = tuple(int(m) for m in (r.milestones or "").split(",") if m.strip())
    module = RetrainModule(arch, layout.to_dict(), r.epochs, lr=r.lr, weight_decay=r.weight_decay,
                           schedule=r.schedule, milestones=milestones, label_smoothing=r.label_smoothing,
                           quantize=r.quantize, shift_mode=p.network.shift_mode, seed=seed)
    tr = trainer(p, ckpt_dir, "retrain", r.epochs, supernet=False, live_dir=live_dir)
    t0 = time.perf_counter()
    fit_resumable(tr, module, ckpt_dir, label=label, datamodule=dm)
    wall = time.perf_counter() - t0
    test = tr.test(module, datamodule=dm, verbose=False)[0]
    return tr, module, float(test["test_acc"]), wall
