"""Stage ``pretrain@<run>``: progressive pretraining (PGP) of the run's supernet.

Writes the supernet's weights, its metrics (per-epoch history with the PGP phase and the
supernet's validation accuracy on its fixed evaluation paths), the same per-epoch metrics as a
DVCLive folder (``dvc plots show``) and, beside them, the wall times.
"""
from __future__ import annotations

import time

from ..artifacts import PretrainMetrics
from ..io import save_torch, without_timing, write_timing
from . import paths
from .common import checkpoint_dir, declare, finish, layout_of, load_for_run, make_datamodule, setup_run, trainer
from .launch import launch, needs_script_launch
from .params import PARAMS_FILE, StageParams

STAGE_PARAMS = ("common", "data", "network", "pretrain", "runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "runs", params_file)


def run(p: StageParams, run: str, seed: int | None = None, params_file=PARAMS_FILE):
    """Pretrain with ``seed`` (None: ``common.seed``); returns the trained
    :class:`~nasa_lib.nas.PGPPretrainModule`."""
    if needs_script_launch(p):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("pretrain", run, params_file, seed)
    from ..nas import PGPPretrainModule, fit_resumable
    seed = setup_run(p, seed)
    spec, pre, net = p.runs[run], p.pretrain, p.network
    dm = make_datamodule(p)
    layout = layout_of(p, dm)
    module = PGPPretrainModule(spec.space, layout.to_dict(), pre.epochs, pre.mult_epochs, pre.adder_epochs,
                               spec.pgp, pre.full_width_fraction, pre.n_paths, pre.lr,
                               weight_decay=pre.weight_decay, adder_free_ends=net.adder_free_ends,
                               shift_mode=net.shift_mode, eval_paths=pre.eval_paths, seed=seed,
                               weight_sharing=net.weight_sharing, adder_phase_paths=pre.adder_phase_paths)
    ckpt_dir = checkpoint_dir(p, "pretrain", run, declared(run), seed)
    tr = trainer(p, ckpt_dir, "pretrain", pre.epochs, supernet=True, live_dir=paths.dvclive("pretrain", run, seed))
    t0 = time.perf_counter()
    fit_resumable(tr, module, ckpt_dir, label=f"pretrain@{run}-{seed}", datamodule=dm)
    wall = time.perf_counter() - t0
    if tr.global_rank == 0:
        save_torch(paths.supernet(run, seed), {"state_dict": module.supernet.state_dict(), "space": module.supernet.space,
                                         "layout": layout.to_dict(), "weight_sharing": net.weight_sharing})
        PretrainMetrics(run=run, seed=seed, space=module.supernet.space, pgp=spec.pgp, epochs=pre.epochs,
                        final_val_acc=module.history[-1].get("val_acc"), schedule=module.schedule_dict(),
                        history=without_timing(module.history)).write(paths.pretrain_metrics(run, seed))
        write_timing(paths.pretrain_metrics(run, seed), wall, module.history)
    finish(tr, ckpt_dir, p.common.checkpoint_root)
    return module
