"""Stage ``dance_coexplore@<run>``: DANCE's co-exploration of network and accelerator at every
lambda, beside its baselines -- the sequential search (fixed reference accelerator, then the
exhaustive best accelerator), the evolutionary co-exploration (non-differentiable: aging evolution
over (network, accelerator) pairs scored by the supernet and the exact cost, with as many pair
evaluations as co-exploration costs pairs unless ``dance.evolution_evaluations`` says otherwise),
the plain search (the ``search`` stage's network of the same space, read back, then the best
accelerator) and, where the space is small enough, the exhaustive joint
optimum.  Every network found is retrained for its accuracy."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

from ..artifacts import DanceCoexploreResults, SearchMetrics
from ..io import read_json, timing_path, without_timing, write_json
from . import paths
from .common import declare, layout_of, load_for_run, load_supernet, make_datamodule, remove_checkpoints, setup_run
from .common import trainer as stage_trainer      # 'trainer' names the local Lightning trainers here
from .params import PARAMS_FILE, StageParams

STAGE_PARAMS = ("common", "data", "network", "search", "pretrain.epochs", "retrain.lr", "retrain.weight_decay",
                "dance", "dance_runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "dance_runs", params_file)


def _search_kwargs(p: StageParams) -> dict:
    s = p.search
    return dict(mode=s.mode, act_num=s.act_num, lr=s.lr, weight_decay=s.weight_decay, arch_lr=s.arch_lr, tau0=s.tau0,
                tau_decay=s.tau_decay, tau_epoch_offset=p.pretrain.epochs, adder_free_ends=p.network.adder_free_ends,
                shift_mode=p.network.shift_mode, seed=p.common.seed, weight_sharing=p.network.weight_sharing)


def _fit_search(module, state_dict, dm, p: StageParams, workdir: Path) -> float:
    """Train a search module from the pretrained supernet; returns the wall time in seconds."""
    import pytorch_lightning as pl
    from pytorch_lightning.utilities import CombinedLoader
    pl.seed_everything(p.common.seed, workers=True, verbose=False)
    module.load_supernet(state_dict)
    # co-exploration and its baselines run on one device (the evaluator and generator are tiny)
    trainer = stage_trainer(p, workdir, module.stage_name, p.search.epochs, supernet=True, devices=1)
    t0 = time.perf_counter()
    trainer.fit(module, train_dataloaders=CombinedLoader(dm.search_dataloaders(), "max_size_cycle"),
                val_dataloaders=dm.val_dataloader())
    wall = time.perf_counter() - t0
    shutil.rmtree(workdir, ignore_errors=True)
    return wall


def _retrain_accuracy(arch, layout, dm, p: StageParams, workdir: Path) -> dict:
    import pytorch_lightning as pl

    from ..nas import RetrainModule
    pl.seed_everything(p.common.seed, workers=True, verbose=False)
    epochs = p.dance.retrain_epochs
    module = RetrainModule(arch, layout.to_dict(), epochs, lr=p.retrain.lr, weight_decay=p.retrain.weight_decay,
                           shift_mode=p.network.shift_mode, seed=p.common.seed)
    trainer = stage_trainer(p, workdir, "retrain", epochs, supernet=False, devices=1)
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    test = trainer.test(module, datamodule=dm, verbose=False)[0]
    shutil.rmtree(workdir, ignore_errors=True)
    return {"test_acc": float(test["test_acc"]), "seconds": time.perf_counter() - t0}


def _plain_search(space: str, layout, pretrain_run: str, seed: int) -> dict:
    """The pipeline's own plain search of this space (its ``search`` stage, from the same pretrained
    supernet): its network, history and wall time, read back instead of searched again."""
    from ..space import load_arch
    arch_in, metrics_in = paths.arch(pretrain_run, seed), paths.search_metrics(pretrain_run, seed)
    arch, arch_layout, doc = load_arch(arch_in)
    if arch_layout.to_dict() != layout.to_dict() or doc.get("space") not in (None, space):
        raise ValueError(f"{arch_in} was searched in space {doc.get('space')} with another layout, not for "
                         f"{space}; rerun the search stage")
    metrics = SearchMetrics.read(metrics_in)
    timing = timing_path(metrics_in)
    wall = read_json(timing)["wall_s"] if timing.exists() else float("nan")
    return {"arch": arch, "history": metrics.history, "wall_s": wall, "metrics_in": metrics_in}


def run(p: StageParams, run: str) -> dict:
    """Co-exploration and the baselines at every lambda; returns the results with their timing."""
    import pytorch_lightning as pl

    import torch

    from ..dance import (CoExploreModule, CostTables, EvolutionarySearch, best_design, enumerate_architectures,
                         joint_optimum, load_evaluator, matched_accuracy_comparison, supernet_accuracy)
    from ..dance.baselines import space_size
    from ..dance.dataset import check_same_problem
    setup_run(p)
    spec, d = p.dance_runs[run], p.dance
    space = spec.space
    dm = make_datamodule(p)
    layout = layout_of(p, dm)
    plain_search = _plain_search(space, layout, spec.pretrain_run, p.common.seed)
    dm.setup()
    tables = CostTables(space, layout, spec.design_space, p.network.adder_free_ends, workers=d.workers)
    evaluator_in = paths.dance_evaluator(run)
    evaluator, ev_meta, ev_report = load_evaluator(evaluator_in)
    check_same_problem(ev_meta, tables, f"evaluator {evaluator_in}")
    state = load_supernet(paths.supernet(spec.pretrain_run, p.common.seed), space, layout, p.network.weight_sharing)
    kw = _search_kwargs(p)
    cost, ds = d.cost, tables.ds
    root = Path(p.common.checkpoint_root) / "dance_coexplore" / run
    runs, timing = [], {"tables_seconds": tables.build_seconds, "runs": []}
    from ..space import Supernet
    net = Supernet(space, layout, p.network.adder_free_ends, shift_mode=p.network.shift_mode,
                   weight_sharing=p.network.weight_sharing)
    net.load_state_dict(state)
    val_batches = list(dm.val_dataloader())      # the supernet's scorer: the joint optimum's and the evolution's

    def score(archs):
        with torch.no_grad():
            return supernet_accuracy(net, tables.candidates, archs, val_batches)

    def record(method, lam, history, wall, pair, hw_seconds=0.0, supernet_val_acc=None):
        entry = {"method": method, "lam": lam, "arch": pair["arch"], "design": pair["design"],
                 "exact": pair["exact"], "cost": cost, "cost_value": pair["cost_value"],
                 "edap": pair["exact"]["edap"],
                 "supernet_val_acc": history[-1].get("val_acc") if supernet_val_acc is None else supernet_val_acc,
                 "history": without_timing(history)}
        runs.append(entry)
        timing["runs"].append({"method": method, "lam": lam, "search_seconds": wall, "hw_search_seconds": hw_seconds,
                               "total_seconds": wall + hw_seconds})
        print(f"[dance] {method} lam={lam}: {cost}={pair['cost_value']:.4g}, EDAP={pair['exact']['edap']:.4g}, "
              f"design={pair['design']}  ({wall + hw_seconds:.1f} s)", flush=True)

    for lam in d.lambdas:
        common = dict(tables=tables, evaluator=evaluator, evaluator_meta=ev_meta, cost=cost, lam=lam,
                      generator_hidden=d.generator_hidden, generator_lr=d.generator_lr, hw_tau=d.hw_tau,
                      straight_through=d.straight_through, cost_form=d.cost_form, arch_input=d.arch_input, **kw)
        pl.seed_everything(p.common.seed, workers=True, verbose=False)    # every module starts from the same state
        co = CoExploreModule(space, layout.to_dict(), p.search.epochs, **common)
        wall = _fit_search(co, state, dm, p, root / f"co_{lam}")
        record("coexplore", lam, co.history, wall, co.derived_pair())
        runs[-1]["cost_evaluations"] = co.cost_evaluations       # pairs its architecture steps costed
        timing["runs"][-1]["cost_evaluations"] = co.cost_evaluations
        # diagnostic: how far the generated accelerator is from the best one for the same network
        best = best_design(tables, co.derived_arch(), cost)
        timing["runs"][-1]["best_design_seconds"] = best.pop("seconds")    # wall time: timing, not metrics
        runs[-1]["best_design_for_network"] = best
        runs[-1]["generator_gap"] = runs[-1]["cost_value"] / runs[-1]["best_design_for_network"]["cost_value"]
        pl.seed_everything(p.common.seed, workers=True, verbose=False)
        seq = CoExploreModule(space, layout.to_dict(), p.search.epochs, fixed_design=ds.reference_index, **common)
        wall = _fit_search(seq, state, dm, p, root / f"seq_{lam}")
        pair = best_design(tables, seq.derived_arch(), cost)
        record("sequential", lam, seq.history, wall, pair, pair["seconds"])
        # non-differentiable co-exploration: aging evolution over pairs, same lambda, cost form and reference
        budget = d.evolution_evaluations or co.cost_evaluations
        evo = EvolutionarySearch(tables, score, lam=lam, ref=float(torch.exp(co.log_ref)), cost=cost,
                                 cost_form=d.cost_form, evaluations=budget, population=d.evolution_population,
                                 sample_size=d.evolution_sample, seed=p.common.seed)
        pair = evo.run()
        record("evolutionary", lam, evo.trace(), pair.pop("seconds"), pair, supernet_val_acc=pair["accuracy"])
        runs[-1]["evolution"] = {
            "evaluations": pair["evaluations"], "budget": "dance.evolution_evaluations" if d.evolution_evaluations
            else "co-exploration's cost evaluations at this lambda", "population": d.evolution_population,
            "sample_size": d.evolution_sample, "seed": p.common.seed, "fitness": pair["fitness"],
            "found_at_evaluation": pair["found_at_evaluation"], "distinct_archs_scored": pair["distinct_archs_scored"],
            "distinct_pairs": pair["distinct_pairs"]}
        timing["runs"][-1]["evaluations"] = pair["evaluations"]
    # the plain search is the search stage's: the same supernet, data, seed and search settings
    # (on one CPU process it finds the very network a search here would), so it is not run again
    pair = best_design(tables, plain_search["arch"], cost)
    record("plain+hw", p.search.hw_weight, plain_search["history"], plain_search["wall_s"], pair, pair["seconds"])
    timing["runs"][-1]["search_source"] = plain_search["metrics_in"]
    # accuracy of every network found: retrained from scratch, or the supernet's estimate
    cache = {}
    for entry, t in zip(runs, timing["runs"]):
        key = tuple(entry["arch"])
        if d.retrain_epochs > 0:
            if key not in cache:
                cache[key] = _retrain_accuracy(entry["arch"], layout, dm, p, root / "retrain")
            entry["accuracy"] = 100 * cache[key]["test_acc"]
            entry["accuracy_source"] = f"test accuracy after {d.retrain_epochs} retraining epochs"
            t["retrain_seconds"] = cache[key]["seconds"]
        else:
            entry["accuracy"] = 100 * (entry["supernet_val_acc"] or 0.0)
            entry["accuracy_source"] = "validation accuracy with the supernet's weights"

    n_archs = space_size(tables.candidates)
    if 0 < n_archs <= d.joint_max_archs:
        t0 = time.perf_counter()
        archs = enumerate_architectures(tables.candidates, d.joint_max_archs)
        acc = score(archs)
        joint = joint_optimum(tables, archs, acc, cost)
        timing["joint_seconds"] = time.perf_counter() - t0
    else:
        joint = {"skipped": f"{n_archs} architectures in the space, more than joint_max_archs="
                            f"{d.joint_max_archs}"}

    co_pts = [r for r in runs if r["method"] == "coexplore"]
    seq_pts = [r for r in runs if r["method"] == "sequential"]
    evo_pts = [r for r in runs if r["method"] == "evolutionary"]
    # co-exploration against the evolutionary baseline at matched accuracy, kept with each evolutionary run
    matched_evo = matched_accuracy_comparison(co_pts, evo_pts, d.matched_tolerance, "edap", baseline="evolutionary")
    for r, m in zip(evo_pts, matched_evo):
        r["matched"] = m | {"tolerance_points": d.matched_tolerance}
    results = DanceCoexploreResults(
        run=run, space=space, design_space=ds.describe(), cost=cost, lambdas=d.lambdas,
        evaluator_mape_percent=ev_report.get("mape_percent", {}).get("test"), runs=runs, joint=joint,
        matched=matched_accuracy_comparison(co_pts, seq_pts, d.matched_tolerance, "edap"),
        reference_design=ds.point(ds.reference_index))
    results.write(paths.dance_results(run))
    results.metrics().write(paths.dance_metrics("coexplore", run))
    write_json(timing_path(paths.dance_metrics("coexplore", run)), timing)
    remove_checkpoints(root, p.common.checkpoint_root)   # each run's folder went when it finished; now theirs
    return results.to_dict() | {"timing": timing, "matched_evolutionary": matched_evo}


def one_time_costs(run: str) -> dict:
    """Wall times of the one-time costs of co-exploration (data set, evaluator), where recorded."""
    one_time = {}
    for name, kind in (("data set", "dataset"), ("evaluator", "evaluator")):
        timing = timing_path(paths.dance_metrics(kind, run))
        if timing.exists():
            t = read_json(timing)
            one_time[name] = t["train_seconds"] if kind == "evaluator" else t["generate_seconds"] + t["tables_seconds"]
    return one_time
