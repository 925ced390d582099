"""Stages ``retrain@<run>`` (the searched network) and ``retrain_baseline@<name>`` (a fixed
baseline in the same layout): training from scratch with the retrain recipe, one test evaluation.
Writes the weights, the layer specs the hardware model costs, and the metrics (the per-epoch ones
also as a DVCLive folder: ``retrain/<run or baseline>/seed<k>``)."""
from __future__ import annotations


from ..artifacts import RetrainMetrics
from ..io import save_torch, without_timing, write_timing
from . import paths
from .common import checkpoint_dir, declare, finish, layout_of, setup_run
from .launch import launch, needs_script_launch
from .params import PARAMS_FILE, BaselineName, StageParams, baseline_key, stage_params
from .training import fit_retrain, retrain_datamodule

STAGE_PARAMS = ("common", "data", "network", "retrain", "runs.{run}")
BASELINE_STAGE_PARAMS = ("common", "data", "network", "retrain")


def declared(run: str, baseline: bool = False) -> tuple[str, ...]:
    return BASELINE_STAGE_PARAMS if baseline else declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE, baseline: bool | None = None) -> StageParams:
    """The params of ``retrain@<run>``, or of ``retrain_baseline@<run>`` when ``run`` is a
    baseline name (``baseline=None``: decided by the name)."""
    if baseline is None:
        baseline = _is_baseline(run)
    if baseline:
        BaselineName().check("baselines", run)
    p = stage_params(declared(run, baseline), params_file)
    if not baseline and run not in p.runs:
        raise ValueError(f"run {run!r} is not in params.yaml's runs ({', '.join(p.runs) or 'none'})")
    p.is_baseline = baseline
    return p


def _is_baseline(run: str) -> bool:
    try:
        baseline_key(run)
        return True
    except KeyError:
        return False


def resolve_arch(run: str, baseline: bool, layout, seed: int) -> list[str]:
    from ..space import baseline_arch, load_arch
    if baseline:
        return baseline_arch(baseline_key(run), layout)
    arch, arch_layout, _ = load_arch(paths.arch(run, seed))
    if arch_layout != layout:
        raise ValueError(f"{paths.arch(run, seed)} was searched with another layout; rerun the search stage")
    return arch


def run(p: StageParams, run: str, seed: int | None = None, params_file=PARAMS_FILE):
    """Retrain with ``seed`` (None: ``common.seed``; a search's network is the one its search of
    the same seed found); returns (the trained :class:`~nasa_lib.nas.RetrainModule`, its metrics)."""
    if needs_script_launch(p):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("retrain", run, params_file, seed)
    from ..layerspec import save_specs
    seed = setup_run(p, seed)
    dm = retrain_datamodule(p)
    layout = layout_of(p, dm)
    baseline = getattr(p, "is_baseline", False)
    arch = resolve_arch(run, baseline, layout, seed)
    ckpt_dir = checkpoint_dir(p, "retrain", run, declared(run, baseline), seed)
    label = f"{'retrain_baseline' if baseline else 'retrain'}@{run}-{seed}"
    tr, module, test_acc, wall = fit_retrain(p, arch, layout, dm, seed, ckpt_dir, label,
                                             paths.dvclive("retrain", run, seed))
    metrics = RetrainMetrics(run=run, seed=seed, arch_source="baseline" if baseline else "search", arch=arch,
                             test_acc=test_acc, final_val_acc=module.history[-1].get("val_acc"),
                             epochs=p.retrain.epochs, **module.network_summary(), history=without_timing(module.history))
    if tr.global_rank == 0:
        save_torch(paths.model(run, seed), {"state_dict": module.net.state_dict(), "arch": arch, "layout": layout.to_dict()})
        save_specs(module.net.layer_specs(batch=1), paths.layer_specs(run, seed))
        metrics.write(paths.retrain_metrics(run, seed))
        write_timing(paths.retrain_metrics(run, seed), wall, module.history)
    finish(tr, ckpt_dir, p.common.checkpoint_root)
    return module, metrics.to_dict()
