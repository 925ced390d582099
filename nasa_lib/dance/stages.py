"""What the DANCE stages do, called from their notebooks (60_dance_dataset, 61_dance_evaluator,
62_dance_coexplore).  Like :mod:`nasa_lib.pipeline.stages`: validate first (:mod:`.config`), seed
everything, write outputs atomically at the end; metrics files hold only what the same parameters
reproduce exactly, wall times go to ``reports/timing/...`` beside them.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import CombinedLoader

from ..nas import RetrainModule, build_trainer
from ..pipeline.stages import make_datamodule, make_layout, setup_run, timing_path, without_timing, write_json
from ..space import FBNetLayout, load_arch
from .baselines import (best_design, design_sensitivity, enumerate_architectures, joint_optimum,
                        matched_accuracy_comparison, space_size, supernet_accuracy)
from .coexplore import CoExploreModule
from .costtables import CostTables, cost_value
from .dataset import DanceDataset, check_same_problem, generate_dataset, problem_meta
from .evaluator import load_evaluator, save_evaluator, train_evaluator


def dance_layout(cfg: dict) -> FBNetLayout:
    """The layout of the pipeline's networks (the data set only gives channels, size and classes)."""
    return make_layout(cfg, make_datamodule(cfg))


def build_tables(cfg: dict, layout: FBNetLayout) -> CostTables:
    return CostTables(cfg["space"], layout, cfg["design_space"], cfg["adder_free_ends"], workers=cfg.get("workers"))


# ---- dance_dataset ----------------------------------------------------------------------------
def run_dance_dataset(cfg: dict, dataset_out, metrics_out) -> tuple:
    setup_run(cfg)
    tables = build_tables(cfg, dance_layout(cfg))
    data = generate_dataset(tables, cfg["n_archs"], cfg["designs_per_arch"], cfg["dataset_seed"],
                            cfg["dataset_val_fraction"], cfg["dataset_test_fraction"])
    data.save(dataset_out)
    sensitivity = design_sensitivity(tables, 100, cfg["dataset_seed"])
    summary = {"run": cfg.get("run_name"), **{k: data.meta[k] for k in ("space", "seed", "n_archs", "designs_per_arch",
                                                                          "rows", "dropped_infeasible",
                                                                          "distinct_designs")},
               "design_space": tables.ds.describe(), "layer_tables": tables.n_layer_tables,
               "rows_per_split": {s: int(len(data.rows(s))) for s in ("train", "val", "test")},
               "metric_ranges": {m: [float(data.metric(m).min()), float(data.metric(m).max())]
                                 for m in data.meta["metrics"]},
               "design_sensitivity": sensitivity}
    write_json(metrics_out, summary)
    write_json(timing_path(metrics_out), {**data.timing, "workers": tables.workers})
    data.sensitivity = sensitivity
    return data, tables


# ---- dance_evaluator --------------------------------------------------------------------------
def run_dance_evaluator(cfg: dict, dataset_in, evaluator_out, metrics_out) -> tuple:
    setup_run(cfg)
    data = DanceDataset.load(dataset_in)
    from .design_space import load_design_space
    ds = load_design_space(cfg["design_space"])
    if data.meta["design_space"]["name"] != ds.name or data.meta["space"] != cfg["space"]:
        raise ValueError(f"{dataset_in} was made for {data.meta['space']} x {data.meta['design_space']['name']}, "
                         f"not {cfg['space']} x {ds.name}; rerun the dance_dataset stage")
    with tempfile.TemporaryDirectory(prefix="dance_evaluator_") as tmp:
        evaluator, report = train_evaluator(data, ds, tmp, cfg["evaluator_hidden"], cfg["evaluator_depth"],
                                            cfg["evaluator_epochs"], cfg["evaluator_batch_size"], cfg["evaluator_lr"],
                                            cfg["evaluator_weight_decay"], cfg["seed"])
    meta = {k: data.meta[k] for k in ("space", "layout", "adder_free_ends", "design_space", "candidates")}
    # the saved report holds no wall times, so the same params give the same evaluator file
    save_evaluator(evaluator_out, evaluator, meta, {k: v for k, v in report.items() if k != "train_seconds"}
                   | {"history": without_timing(report["history"])})
    metrics = {"run": cfg.get("run_name"), "space": cfg["space"], "design_space": ds.name, "config": report["config"],
               "rows": report["rows"], "best_epoch": report["best_epoch"], "mape_percent": report["mape_percent"],
               "history": without_timing(report["history"])}
    write_json(metrics_out, metrics)
    write_json(timing_path(metrics_out), {"train_seconds": report["train_seconds"],
                                          "epoch_seconds": [h["epoch_seconds"] for h in report["history"]]})
    return evaluator, report, data, ds


# ---- dance_coexplore --------------------------------------------------------------------------
def _search_kwargs(cfg: dict) -> dict:
    return dict(mode=cfg["mode"], act_num=cfg["act_num"], lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                arch_lr=cfg["arch_lr"], tau0=cfg["tau0"], tau_decay=cfg["tau_decay"],
                tau_epoch_offset=cfg["pretrain_epochs"], adder_free_ends=cfg["adder_free_ends"],
                shift_mode=cfg["shift_mode"], seed=cfg["seed"])


def _fit_search(module, state_dict, dm, cfg, workdir: Path) -> float:
    """Train a search module from the pretrained supernet; returns the wall time in seconds."""
    pl.seed_everything(cfg["seed"], workers=True, verbose=False)
    module.load_supernet(state_dict)
    trainer = build_trainer(workdir, module.stage_name, cfg["epochs"], accelerator=cfg["accelerator"],
                            devices=1, precision=cfg["precision"], find_unused_parameters=True,
                            limit_train_batches=cfg.get("limit_train_batches"))
    t0 = time.perf_counter()
    trainer.fit(module, train_dataloaders=CombinedLoader(dm.search_dataloaders(), "max_size_cycle"),
                val_dataloaders=dm.val_dataloader())
    wall = time.perf_counter() - t0
    shutil.rmtree(workdir, ignore_errors=True)
    return wall


def _retrain_accuracy(arch, layout, dm, cfg, workdir: Path) -> dict:
    pl.seed_everything(cfg["seed"], workers=True, verbose=False)
    module = RetrainModule(arch, layout.to_dict(), cfg["retrain_epochs"], lr=cfg["retrain_lr"],
                           weight_decay=cfg["retrain_weight_decay"], shift_mode=cfg["shift_mode"], seed=cfg["seed"])
    trainer = build_trainer(workdir, "retrain", cfg["retrain_epochs"], accelerator=cfg["accelerator"],
                            precision=cfg["precision"], limit_train_batches=cfg.get("limit_train_batches"))
    t0 = time.perf_counter()
    trainer.fit(module, datamodule=dm)
    test = trainer.test(module, datamodule=dm, verbose=False)[0]
    shutil.rmtree(workdir, ignore_errors=True)
    return {"test_acc": float(test["test_acc"]), "seconds": time.perf_counter() - t0}


def _plain_search(cfg: dict, layout: FBNetLayout, arch_in, metrics_in) -> dict:
    """The pipeline's own plain search of this space (its ``search`` stage, from the same pretrained
    supernet): its network, history and wall time, read back instead of searched again."""
    arch, arch_layout, doc = load_arch(arch_in)
    if arch_layout.to_dict() != layout.to_dict() or doc.get("space") not in (None, cfg["space"]):
        raise ValueError(f"{arch_in} was searched in space {doc.get('space')} with another layout, not for "
                         f"{cfg['space']}; rerun the search stage")
    metrics = json.loads(Path(metrics_in).read_text())
    timing = timing_path(metrics_in)
    wall = json.loads(timing.read_text())["wall_s"] if timing.exists() else float("nan")
    return {"arch": arch, "history": metrics["history"], "wall_s": wall}


def run_dance_coexplore(cfg: dict, supernet_in, evaluator_in, results_out, metrics_out, plain_arch_in,
                        plain_metrics_in) -> dict:
    """Co-exploration and the baselines at every lambda, the plain search (the search stage's, read
    from ``plain_arch_in`` / ``plain_metrics_in``) and, where the space is small enough, the
    exhaustive joint optimum (see :mod:`.baselines`)."""
    setup_run(cfg)
    dm = make_datamodule(cfg)
    layout = make_layout(cfg, dm)
    plain_search = _plain_search(cfg, layout, plain_arch_in, plain_metrics_in)
    dm.setup()
    tables = build_tables(cfg, layout)
    evaluator, ev_meta, ev_report = load_evaluator(evaluator_in)
    check_same_problem(ev_meta, tables, f"evaluator {evaluator_in}")
    pretrained = torch.load(supernet_in, map_location="cpu", weights_only=False)
    if pretrained["layout"] != layout.to_dict() or pretrained["space"] != cfg["space"]:
        raise ValueError(f"{supernet_in} was pretrained for space {pretrained['space']} with another layout; "
                         f"rerun the pretrain stage")
    state = pretrained["state_dict"]
    kw = _search_kwargs(cfg)
    cost, ds = cfg["cost"], tables.ds
    root = Path(cfg["checkpoint_root"]) / "dance_coexplore" / str(cfg.get("run_name", "default"))
    runs, timing = [], {"tables_seconds": tables.build_seconds, "runs": []}

    def record(method, lam, history, wall, pair, hw_seconds=0.0):
        entry = {"method": method, "lam": lam, "arch": pair["arch"], "design": pair["design"],
                 "exact": pair["exact"], "cost": cost, "cost_value": pair["cost_value"],
                 "edap": pair["exact"]["edap"], "supernet_val_acc": history[-1].get("val_acc"),
                 "history": without_timing(history)}
        runs.append(entry)
        timing["runs"].append({"method": method, "lam": lam, "search_seconds": wall, "hw_search_seconds": hw_seconds,
                               "total_seconds": wall + hw_seconds})
        print(f"[dance] {method} lam={lam}: {cost}={pair['cost_value']:.4g}, EDAP={pair['exact']['edap']:.4g}, "
              f"design={pair['design']}  ({wall + hw_seconds:.1f} s)", flush=True)

    for lam in cfg["lambdas"]:
        common = dict(tables=tables, evaluator=evaluator, evaluator_meta=ev_meta, cost=cost, lam=lam,
                      generator_hidden=cfg["generator_hidden"], generator_lr=cfg["generator_lr"], hw_tau=cfg["hw_tau"],
                      straight_through=cfg["straight_through"], cost_form=cfg["cost_form"],
                      arch_input=cfg["arch_input"], **kw)
        pl.seed_everything(cfg["seed"], workers=True, verbose=False)    # every module starts from the same state
        co = CoExploreModule(cfg["space"], layout.to_dict(), cfg["epochs"], **common)
        wall = _fit_search(co, state, dm, cfg, root / f"co_{lam}")
        record("coexplore", lam, co.history, wall, co.derived_pair())
        # diagnostic: how far the generated accelerator is from the best one for the same network
        best = best_design(tables, co.derived_arch(), cost)
        timing["runs"][-1]["best_design_seconds"] = best.pop("seconds")    # wall time: timing, not metrics
        runs[-1]["best_design_for_network"] = best
        runs[-1]["generator_gap"] = runs[-1]["cost_value"] / runs[-1]["best_design_for_network"]["cost_value"]
        pl.seed_everything(cfg["seed"], workers=True, verbose=False)
        seq = CoExploreModule(cfg["space"], layout.to_dict(), cfg["epochs"], fixed_design=ds.reference_index, **common)
        wall = _fit_search(seq, state, dm, cfg, root / f"seq_{lam}")
        pair = best_design(tables, seq.derived_arch(), cost)
        record("sequential", lam, seq.history, wall, pair, pair["seconds"])
    # the plain search is the search stage's: the same supernet, data, seed and search settings
    # (on one CPU process it finds the very network a search here would), so it is not run again
    pair = best_design(tables, plain_search["arch"], cost)
    record("plain+hw", cfg["plain_hw_weight"], plain_search["history"], plain_search["wall_s"], pair, pair["seconds"])
    timing["runs"][-1]["search_source"] = str(plain_metrics_in)
    # accuracy of every network found: retrained from scratch, or the supernet's estimate
    cache = {}
    for entry, t in zip(runs, timing["runs"]):
        key = tuple(entry["arch"])
        if cfg["retrain_epochs"] > 0:
            if key not in cache:
                cache[key] = _retrain_accuracy(entry["arch"], layout, dm, cfg, root / "retrain")
            entry["accuracy"] = 100 * cache[key]["test_acc"]
            entry["accuracy_source"] = f"test accuracy after {cfg['retrain_epochs']} retraining epochs"
            t["retrain_seconds"] = cache[key]["seconds"]
        else:
            entry["accuracy"] = 100 * (entry["supernet_val_acc"] or 0.0)
            entry["accuracy_source"] = "validation accuracy with the supernet's weights"

    n_archs = space_size(tables.candidates)
    if 0 < n_archs <= cfg["joint_max_archs"]:
        from ..space import Supernet
        net = Supernet(cfg["space"], layout, cfg["adder_free_ends"], shift_mode=cfg["shift_mode"])
        net.load_state_dict(state)
        t0 = time.perf_counter()
        archs = enumerate_architectures(tables.candidates, cfg["joint_max_archs"])
        acc = supernet_accuracy(net, tables.candidates, archs, dm.val_dataloader())
        joint = joint_optimum(tables, archs, acc, cost)
        timing["joint_seconds"] = time.perf_counter() - t0
    else:
        joint = {"skipped": f"{n_archs} architectures in the space, more than joint_max_archs="
                            f"{cfg['joint_max_archs']}"}

    co_pts = [r for r in runs if r["method"] == "coexplore"]
    seq_pts = [r for r in runs if r["method"] == "sequential"]
    results = {"run": cfg.get("run_name"), "space": cfg["space"], "design_space": ds.describe(), "cost": cost,
               "lambdas": cfg["lambdas"], "evaluator_mape_percent": ev_report.get("mape_percent", {}).get("test"),
               "runs": runs, "joint": joint,
               "matched": matched_accuracy_comparison(co_pts, seq_pts, cfg["matched_tolerance"], "edap"),
               "reference_design": ds.point(ds.reference_index)}
    write_json(results_out, results)
    write_json(metrics_out, {k: v for k, v in results.items() if k != "runs"} |
               {"runs": [{k: v for k, v in r.items() if k != "history"} for r in runs]})
    write_json(timing_path(metrics_out), timing)
    results["timing"] = timing
    return results


def load_results(results_in, metrics_in=None) -> dict:
    """A co-exploration results file, with its timing file attached when it exists."""
    results = json.loads(Path(results_in).read_text())
    if metrics_in is not None and timing_path(metrics_in).exists():
        results["timing"] = json.loads(timing_path(metrics_in).read_text())
    return results


def predictions(evaluator, data: DanceDataset, ds, split: str = "test") -> tuple:
    """(true metrics, predicted metrics) of a split, arrays (rows, 3) in ms / uJ / mm^2."""
    from .evaluator import dataset_tensors
    rows = data.rows(split)
    a, d, _ = dataset_tensors(data, ds, rows)
    with torch.no_grad():
        pred = torch.exp(evaluator.log_metrics(a, d)).numpy().astype(np.float64)
    return data.metrics[rows], pred


__all__ = ["run_dance_dataset", "run_dance_evaluator", "run_dance_coexplore", "load_results", "predictions",
           "timing_path", "dance_layout", "build_tables", "cost_value", "problem_meta"]
