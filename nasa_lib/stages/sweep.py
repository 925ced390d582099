"""Stage ``sweep@<run>-<hw_weight>-<seed>``: the run's search repeated at another weight of the
hardware-cost term, from the supernet of ``seed``, and the network it derives retrained with the
retrain recipe and the same seed (both in one process: one stage start-up instead of two).

The weight comes from the stage's matrix entry (``params.yaml``: ``sweep.hw_weights``), like the seed,
so adding a weight adds stages without touching the others."""
from __future__ import annotations

from ..artifacts import SweepMetrics
from ..io import without_timing, write_timing
from . import paths
from .common import checkpoint_dir, declare, finish, layout_of, load_for_run, make_datamodule, setup_run
from .params import PARAMS_FILE, Number, StageParams
from .training import export_arch, fit_retrain, fit_search, retrain_datamodule, search_module

STAGE_PARAMS = ("common", "data", "network", "search", "pretrain.epochs", "retrain", "runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "runs", params_file)


def run(p: StageParams, run: str, hw_weight, seed: int):
    """Search at ``hw_weight`` and retrain; returns the metrics written."""
    Number(float, 0).check("sweep.hw_weights[]", hw_weight)
    seed = setup_run(p, seed)
    label = f"sweep@{run}-{hw_weight}-{seed}"
    dm = make_datamodule(p)
    layout = layout_of(p, dm)
    module = search_module(p, run, seed, float(hw_weight), layout)
    root = checkpoint_dir(p, "sweep", f"{run}/hw{hw_weight}", declared(run), seed)
    tr, search_wall = fit_search(p, module, dm, root / "search", label + " (search)",
                                 paths.sweep_dvclive(run, hw_weight, seed, "search"))
    arch = export_arch(module, paths.sweep_arch(run, hw_weight, seed), run=run, seed=seed, hw_weight=float(hw_weight))
    tr_r, retrained, test_acc, retrain_wall = fit_retrain(p, arch, layout, retrain_datamodule(p), seed, root / "retrain",
                                                          label + " (retrain)",
                                                          paths.sweep_dvclive(run, hw_weight, seed, "retrain"))
    metrics = SweepMetrics(run=run, seed=seed, hw_weight=float(hw_weight), space=p.runs[run].space, arch=arch,
                           derived_cost=module.derived_cost(), cost_unit=module.hparams.cost_unit,
                           search_val_acc=module.history[-1].get("val_acc"), test_acc=test_acc,
                           epochs=p.retrain.epochs, search_history=without_timing(module.history),
                           retrain_history=without_timing(retrained.history))
    out = paths.sweep_metrics(run, hw_weight, seed)
    metrics.write(out)
    write_timing(out, search_wall + retrain_wall, module.history + retrained.history)
    finish(tr_r, root / "retrain", p.common.checkpoint_root)
    finish(tr, root / "search", p.common.checkpoint_root)
    return metrics.to_dict()
