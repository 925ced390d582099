"""Stage ``search@<run>``: differentiable search with the hardware-cost term, from the run's
pretrained supernet.  Writes the derived architecture, the candidate probabilities after every
epoch, and the metrics (history, derived cost)."""
from __future__ import annotations

import os
import time
from pathlib import Path

from ..artifacts import AlphaHistory, SearchMetrics
from ..io import without_timing, write_timing
from . import paths
from .common import (checkpoint_dir, declare, finish, layout_of, load_for_run, load_supernet, make_datamodule,
                     setup_run, trainer)
from .launch import launch, needs_script_launch
from .params import PARAMS_FILE, StageParams

STAGE_PARAMS = ("common", "data", "network", "search", "pretrain.epochs", "runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "runs", params_file)


def run(p: StageParams, run: str, params_file=PARAMS_FILE):
    """Search; returns the trained :class:`~nasa_lib.nas.SearchModule`."""
    if needs_script_launch(p):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("search", run, params_file)
    from pytorch_lightning.utilities import CombinedLoader

    from ..nas import SearchModule, fit_resumable
    setup_run(p)
    space, s, net = p.runs[run].space, p.search, p.network
    dm = make_datamodule(p)
    layout = layout_of(p, dm)
    state = load_supernet(paths.supernet(run), space, layout)
    band = None if s.cost_band_lo is None else (s.cost_band_lo, s.cost_band_hi)
    module = SearchModule(space, layout.to_dict(), s.epochs, mode=s.mode, act_num=s.act_num, lr=s.lr,
                          weight_decay=s.weight_decay, arch_lr=s.arch_lr, tau0=s.tau0, tau_decay=s.tau_decay,
                          tau_epoch_offset=p.pretrain.epochs, hw_weight=s.hw_weight, cost_band=band,
                          adder_free_ends=net.adder_free_ends, shift_mode=net.shift_mode, seed=p.common.seed)
    module.load_supernet(state)
    ckpt_dir = checkpoint_dir(p, "search", run, declared(run))
    tr = trainer(p, ckpt_dir, "search", s.epochs, supernet=True)
    loaders = CombinedLoader(dm.search_dataloaders(), "max_size_cycle")
    t0 = time.perf_counter()
    fit_resumable(tr, module, ckpt_dir, label=f"search@{run}", train_dataloaders=loaders, val_dataloaders=dm.val_dataloader())
    wall = time.perf_counter() - t0
    if tr.global_rank == 0:
        arch_out = Path(paths.arch(run))
        arch_out.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(arch_out) + ".tmp")
        arch = module.export(tmp, run=run)
        os.replace(tmp, arch_out)
        AlphaHistory(candidates=module.candidates,
                     probabilities_per_epoch=module.alpha_history).write(paths.alpha_history(run))
        SearchMetrics(run=run, space=space, mode=s.mode, arch=arch, derived_cost=module.derived_cost(),
                      cost_unit=module.hparams.cost_unit, final_val_acc=module.history[-1].get("val_acc"),
                      history=without_timing(module.history)).write(paths.search_metrics(run))
        write_timing(paths.search_metrics(run), wall, module.history)
    finish(tr, ckpt_dir, p.common.checkpoint_root)
    return module
