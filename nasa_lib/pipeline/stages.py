"""What each pipeline stage does, called from its notebook (the notebooks stay thin).

Every stage: validates its parameters first (:mod:`.config`), seeds everything, trains with
checkpoints in ``<checkpoint_root>/<stage>/<run>/<params hash>/`` (an interrupted stage resumes
from there on the next ``dvc repro``; a finished one deletes them), and writes its outputs
atomically at the very end, so a failed run never leaves files DVC could take as valid.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import CombinedLoader

from ..data import build_datamodule
from ..layerspec import save_specs
from ..nas import PGPPretrainModule, RetrainModule, SearchModule, build_trainer, fit_resumable
from ..nas.common import TIMING_KEYS
from ..space import FBNetLayout, baseline_arch, load_arch
from .config import config_hash
from .launch import launch, needs_script_launch

DATA_KEYS = ("data_dir", "batch_size", "eval_batch_size", "num_workers", "val_fraction", "test_fraction",
             "train_portion", "augment", "subset", "pad_to", "verify")


def write_json(path, obj) -> None:
    """Write JSON atomically (temporary file + rename)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(obj, indent=1, default=float))
    os.replace(tmp, path)


def without_timing(history: list[dict]) -> list[dict]:
    """Metrics files hold only what the same params reproduce exactly: no wall times."""
    return [{k: v for k, v in h.items() if k not in TIMING_KEYS} for h in history]


def save_torch(path, obj) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def setup_run(cfg: dict) -> None:
    pl.seed_everything(cfg["seed"], workers=True, verbose=False)
    torch.set_num_threads(cfg["num_threads"])


def make_datamodule(cfg: dict):
    params = {k: cfg[k] for k in DATA_KEYS if k in cfg}
    return build_datamodule(cfg["dataset"], seed=cfg["seed"], **params)


def make_layout(cfg: dict, datamodule) -> FBNetLayout:
    return FBNetLayout(width_mult=cfg["width_mult"], depth_mult=cfg["depth_mult"],
                       header_channels=cfg["header_channels"], stem_stride=cfg["stem_stride"],
                       in_channels=datamodule.in_channels,
                       input_size=datamodule.input_size, num_classes=datamodule.num_classes)


def _checkpoint_dir(cfg: dict, stage: str) -> Path:
    return Path(cfg["checkpoint_root"]) / stage / cfg["run_name"] / config_hash(cfg)


def _trainer(cfg: dict, out_dir: Path, stage: str, epochs: int, supernet: bool):
    return build_trainer(out_dir, stage, epochs, accelerator=cfg["accelerator"], devices=cfg["devices"],
                         precision=cfg["precision"], sync_batchnorm=cfg["sync_batchnorm"],
                         find_unused_parameters=supernet, limit_train_batches=cfg.get("limit_train_batches"))


def _finish(trainer, ckpt_dir: Path) -> None:
    if trainer.global_rank == 0:
        shutil.rmtree(ckpt_dir, ignore_errors=True)


def timing_path(metrics_out) -> Path:
    """``reports/metrics/x/y.json`` -> ``reports/timing/x/y.json``: wall times live beside the
    metrics, never in them (a path without a ``metrics`` folder: ``<its folder>/timing/y.json``)."""
    parts = Path(metrics_out).parts
    if "metrics" in parts:
        i = parts.index("metrics")
        return Path(*parts[:i], "timing", *parts[i + 1:])
    return Path(metrics_out).parent / "timing" / Path(metrics_out).name


def write_timing(metrics_out, wall_s: float, history: list[dict]) -> None:
    write_json(timing_path(metrics_out), {"wall_s": wall_s, **{k: [h.get(k) for h in history] for k in TIMING_KEYS}})


# ---- stages -------------------------------------------------------------------------------
def run_data(cfg: dict, splits_out, metrics_out) -> dict:
    setup_run(cfg)
    dm = make_datamodule(cfg)
    dm.setup()
    summary = dm.summary()
    write_json(splits_out, {k: [int(i) for i in v] for k, v in dm.split_indices.items()})
    write_json(metrics_out, summary)
    return {"datamodule": dm, "summary": summary}


def run_pretrain(cfg: dict, supernet_out, metrics_out) -> PGPPretrainModule:
    if needs_script_launch(cfg):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("pretrain", cfg, supernet_out, metrics_out)
    setup_run(cfg)
    dm = make_datamodule(cfg)
    layout = make_layout(cfg, dm)
    module = PGPPretrainModule(cfg["space"], layout.to_dict(), cfg["epochs"], cfg["mult_epochs"], cfg["adder_epochs"],
                               cfg["pgp"], cfg["full_width_fraction"], cfg["n_paths"], cfg["lr"],
                               weight_decay=cfg["weight_decay"], adder_free_ends=cfg["adder_free_ends"],
                               shift_mode=cfg["shift_mode"], seed=cfg["seed"])
    ckpt_dir = _checkpoint_dir(cfg, "pretrain")
    trainer = _trainer(cfg, ckpt_dir, "pretrain", cfg["epochs"], supernet=True)
    t0 = time.perf_counter()
    fit_resumable(trainer, module, ckpt_dir, datamodule=dm)
    wall = time.perf_counter() - t0
    if trainer.global_rank == 0:
        save_torch(supernet_out, {"state_dict": module.supernet.state_dict(), "space": module.supernet.space,
                                  "layout": layout.to_dict()})
        write_json(metrics_out, {"run": cfg["run_name"], "space": module.supernet.space, "pgp": cfg["pgp"],
                                 "epochs": cfg["epochs"], "final_val_acc": module.history[-1].get("val_acc"),
                                 "schedule": module.schedule_dict(), "history": without_timing(module.history)})
        write_timing(metrics_out, wall, module.history)
    _finish(trainer, ckpt_dir)
    return module


def run_search(cfg: dict, supernet_in, arch_out, alpha_out, metrics_out) -> SearchModule:
    if needs_script_launch(cfg):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("search", cfg, supernet_in, arch_out, alpha_out, metrics_out)
    setup_run(cfg)
    dm = make_datamodule(cfg)
    layout = make_layout(cfg, dm)
    pretrained = torch.load(supernet_in, map_location="cpu", weights_only=False)
    if pretrained["layout"] != layout.to_dict() or pretrained["space"] != cfg["space"]:
        raise ValueError(f"{supernet_in} was pretrained for space {pretrained['space']} with another layout; "
                         f"rerun the pretrain stage")
    band = None if cfg["cost_band_lo"] is None else (cfg["cost_band_lo"], cfg["cost_band_hi"])
    module = SearchModule(cfg["space"], layout.to_dict(), cfg["epochs"], mode=cfg["mode"], act_num=cfg["act_num"],
                          lr=cfg["lr"], weight_decay=cfg["weight_decay"], arch_lr=cfg["arch_lr"], tau0=cfg["tau0"],
                          tau_decay=cfg["tau_decay"], tau_epoch_offset=cfg["pretrain_epochs"],
                          hw_weight=cfg["hw_weight"], cost_band=band, adder_free_ends=cfg["adder_free_ends"],
                          shift_mode=cfg["shift_mode"], seed=cfg["seed"])
    module.load_supernet(pretrained["state_dict"])
    ckpt_dir = _checkpoint_dir(cfg, "search")
    trainer = _trainer(cfg, ckpt_dir, "search", cfg["epochs"], supernet=True)
    loaders = CombinedLoader(dm.search_dataloaders(), "max_size_cycle")
    t0 = time.perf_counter()
    fit_resumable(trainer, module, ckpt_dir, train_dataloaders=loaders, val_dataloaders=dm.val_dataloader())
    wall = time.perf_counter() - t0
    if trainer.global_rank == 0:
        Path(arch_out).parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(str(arch_out) + ".tmp")
        arch = module.export(tmp, run=cfg["run_name"])
        os.replace(tmp, arch_out)
        write_json(alpha_out, {"candidates": module.candidates, "probabilities_per_epoch": module.alpha_history})
        write_json(metrics_out, {"run": cfg["run_name"], "space": cfg["space"], "mode": cfg["mode"], "arch": arch,
                                 "derived_cost": module.derived_cost(), "cost_unit": module.hparams.cost_unit,
                                 "final_val_acc": module.history[-1].get("val_acc"),
                                 "history": without_timing(module.history)})
        write_timing(metrics_out, wall, module.history)
    _finish(trainer, ckpt_dir)
    return module


def resolve_arch(cfg: dict, arch_in, layout: FBNetLayout) -> list[str]:
    if cfg["arch_source"] == "baseline":
        return baseline_arch(cfg["baseline"], layout)
    arch, arch_layout, _ = load_arch(arch_in)
    if arch_layout != layout:
        raise ValueError(f"{arch_in} was searched with another layout; rerun the search stage")
    return arch


def run_retrain(cfg: dict, arch_in, model_out, specs_out, metrics_out) -> tuple[RetrainModule, dict]:
    if needs_script_launch(cfg):      # GPU DDP from a notebook: Lightning's script launcher
        return launch("retrain", cfg, arch_in, model_out, specs_out, metrics_out)
    setup_run(cfg)
    dm = make_datamodule(cfg)
    layout = make_layout(cfg, dm)
    arch = resolve_arch(cfg, arch_in, layout)
    milestones = tuple(int(m) for m in (cfg["milestones"] or "").split(",") if m.strip())
    module = RetrainModule(arch, layout.to_dict(), cfg["epochs"], lr=cfg["lr"], weight_decay=cfg["weight_decay"],
                           schedule=cfg["schedule"], milestones=milestones, label_smoothing=cfg["label_smoothing"],
                           quantize=cfg["quantize"], shift_mode=cfg["shift_mode"], seed=cfg["seed"])
    ckpt_dir = _checkpoint_dir(cfg, "retrain")
    trainer = _trainer(cfg, ckpt_dir, "retrain", cfg["epochs"], supernet=False)
    t0 = time.perf_counter()
    fit_resumable(trainer, module, ckpt_dir, datamodule=dm)
    wall = time.perf_counter() - t0
    test = trainer.test(module, datamodule=dm, verbose=False)[0]
    result = {"run": cfg["run_name"], "arch_source": cfg["arch_source"], "arch": arch,
              "test_acc": float(test["test_acc"]), "final_val_acc": module.history[-1].get("val_acc"),
              "epochs": cfg["epochs"], **module.network_summary(), "history": without_timing(module.history)}
    if trainer.global_rank == 0:
        save_torch(model_out, {"state_dict": module.net.state_dict(), "arch": arch, "layout": layout.to_dict()})
        save_specs(module.net.layer_specs(batch=1), specs_out)
        write_json(metrics_out, result)
        write_timing(metrics_out, wall, module.history)
    _finish(trainer, ckpt_dir)
    return module, result
