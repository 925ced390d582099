"""Stage ``search@<run>``: differentiable search with the hardware-cost term, from the run's
pretrained supernet.  Writes the derived architecture, the candidate probabilities after every
epoch, and the metrics (history, derived cost; the per-epoch ones also as a DVCLive folder)."""
from __future__ import annotations


from ..artifacts import AlphaHistory, SearchMetrics
from ..io import without_timing, write_timing
from . import paths
from .common import checkpoint_dir, declare, finish, layout_of, load_for_run, make_datamodule, setup_run
from .launch import launch, needs_script_launch
from .params import PARAMS_FILE, StageParams
from .training import export_arch, fit_search, search_module

STAGE_PARAMS = ("common", "data", "network", "search", "pretrain.epochs", "runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "runs", params_file)


def run(p: StageParams, run: str, seed: int | None = None, params_file=PARAMS_FILE):
    """Search from the supernet pretrained with the same ``seed`` (None: ``common.seed``); returns
    the trained :class:`~nasa_lib.nas.SearchModule`."""
    if needs_script_launch(p):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("search", run, params_file, seed)
    seed = setup_run(p, seed)
    dm = make_datamodule(p)
    layout = layout_of(p, dm)
    space, s = p.runs[run].space, p.search
    module = search_module(p, run, seed, s.hw_weight, layout)
    ckpt_dir = checkpoint_dir(p, "search", run, declared(run), seed)
    tr, wall = fit_search(p, module, dm, ckpt_dir, f"search@{run}-{seed}", paths.dvclive("search", run, seed))
    if tr.global_rank == 0:
        arch = export_arch(module, paths.arch(run, seed), run=run, seed=seed)
        AlphaHistory(candidates=module.candidates,
                     probabilities_per_epoch=module.alpha_history).write(paths.alpha_history(run, seed))
        SearchMetrics(run=run, seed=seed, space=space, mode=s.mode, arch=arch, derived_cost=module.derived_cost(),
                      cost_unit=module.hparams.cost_unit, final_val_acc=module.history[-1].get("val_acc"),
                      history=without_timing(module.history)).write(paths.search_metrics(run, seed))
        write_timing(paths.search_metrics(run, seed), wall, module.history)
    finish(tr, ckpt_dir, p.common.checkpoint_root)
    return module
