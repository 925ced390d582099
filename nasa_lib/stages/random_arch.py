"""Stage ``random_arch@<run>-<draw>``: the standard sanity check of a NAS method.  A network drawn
uniformly from the run's space among those whose cost (the search's own cost: discounted MACs) is
within ``random.tolerance`` of the cost of the run's searched network (seed ``common.seed``), then
retrained with the retrain recipe and seed = draw.  The report sets the searched networks (one per
seed) against these draws."""
from __future__ import annotations

import numpy as np

from ..artifacts import RandomArchMetrics
from ..io import without_timing, write_timing
from . import paths
from .common import checkpoint_dir, declare, finish, layout_of, load_for_run, setup_run
from .params import PARAMS_FILE, Number, StageParams
from .training import fit_retrain, retrain_datamodule

STAGE_PARAMS = ("common", "data", "network", "retrain", "runs.{run}", "random.tolerance")
MAX_TRIES = 2_000_000   # uniform draws before giving up on the cost band


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "runs", params_file)


def draw_in_cost_band(candidates: list[list[str]], cost_table: list[dict[str, float]], fixed: float,
                      target: float, tolerance: float, seed: int, batch: int = 20_000) -> tuple[list[str], float, int]:
    """(architecture, its cost, draws tried): the first of uniform draws from the space (one
    candidate per layer, independently) whose cost lies within ``target * (1 +- tolerance)`` -- a
    uniform draw from the networks in that band.  Raises when none is found in MAX_TRIES draws."""
    rng = np.random.default_rng(seed)
    costs = [np.array([cost_table[i][op] for op in cands]) for i, cands in enumerate(candidates)]
    lo, hi = target * (1 - tolerance), target * (1 + tolerance)
    tried = 0
    while tried < MAX_TRIES:
        picks = np.stack([rng.integers(0, len(c), batch) for c in costs], axis=1)
        total = fixed + sum(c[picks[:, i]] for i, c in enumerate(costs))
        hits = np.flatnonzero((total >= lo) & (total <= hi))
        if hits.size:
            k = int(hits[0])
            tried += k + 1
            return [candidates[i][j] for i, j in enumerate(picks[k])], float(total[k]), tried
        tried += batch
    raise ValueError(f"no network of the space within +-{100 * tolerance:g} % of cost {target:.4g} in {MAX_TRIES} "
                     f"uniform draws; widen random.tolerance")


def run(p: StageParams, run: str, draw: int):
    """Draw and retrain; returns the metrics written."""
    from ..nas.common import FLOPS_COST_UNIT, fixed_cost, flops_cost_table
    from ..space import layer_candidates, load_arch
    Number(int, 0).check("random.draws[]", draw)
    seed = setup_run(p, int(draw))
    target_seed = p.common.seed
    dm = retrain_datamodule(p)
    layout = layout_of(p, dm)
    space, ends = p.runs[run].space, p.network.adder_free_ends
    searched, searched_layout, doc = load_arch(paths.arch(run, target_seed))
    if searched_layout != layout:
        raise ValueError(f"{paths.arch(run, target_seed)} was searched with another layout; rerun its search stage")
    table = flops_cost_table(space, layout, ends)
    fixed = fixed_cost(layout)
    target = fixed + sum(table[i][op] for i, op in enumerate(searched))
    tolerance = p.random.tolerance
    arch, cost, tried = draw_in_cost_band(layer_candidates(space, layout.num_layers, ends), table, fixed, target,
                                          tolerance, seed)
    print(f"[random_arch] draw {draw}: cost {cost:.4g} (target {target:.4g} +- {100 * tolerance:g} %) "
          f"after {tried} uniform draws", flush=True)
    ckpt = checkpoint_dir(p, "random_arch", run, declared(run), seed)
    tr, module, test_acc, wall = fit_retrain(p, arch, layout, dm, seed, ckpt, f"random_arch@{run}-{draw}",
                                             paths.random_dvclive(run, draw))
    metrics = RandomArchMetrics(run=run, draw=int(draw), seed=seed, target_seed=target_seed, space=space, arch=arch,
                                cost=cost, target_cost=target, tolerance=tolerance, cost_unit=FLOPS_COST_UNIT,
                                candidates_tried=tried, test_acc=test_acc, epochs=p.retrain.epochs,
                                history=without_timing(module.history))
    out = paths.random_metrics(run, draw)
    metrics.write(out)
    write_timing(out, wall, module.history)
    finish(tr, ckpt, p.common.checkpoint_root)
    return metrics.to_dict()
