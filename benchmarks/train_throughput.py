"""Training throughput of the paper-size networks (images/s per stage), and what NASA's full recipe
would cost at those rates (GPU-hours).

Runs PGP pretraining, search and retraining steps of the paper-size (22-layer FBNet CIFAR layout)
Hybrid-All network through the same Lightning modules and trainers as the pipeline, on a
synthetic CIFAR-10-sized data set written in CIFAR's own format, at the paper's batch sizes
(128 for pretraining / search, 196 for retraining).  Writes JSON with the device, versions and every
figure.

    python benchmarks/train_throughput.py --steps 200 --out benchmarks/results/train_throughput_h100.json
    python benchmarks/train_throughput.py --steps 3 --device cpu --width 0.25   # a smoke run on a CPU
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback
from pytorch_lightning.utilities import CombinedLoader

from nasa_lib.data import build_datamodule, make_synthetic_cifar
from nasa_lib.nas import PGPPretrainModule, RetrainModule, SearchModule, build_trainer
from nasa_lib.space import FBNetLayout, Supernet

# NASA's recipe on CIFAR-10 (SOURCES.md [NASA-code] search.sh, train.sh): epochs and images per epoch
RECIPE = {"pretrain": {"epochs": 120, "images": 50_000},
          "search": {"epochs": 90, "images": 50_000},    # weight half + architecture half per epoch
          "retrain": {"epochs": 650, "images": 50_000}}


class StepTimer(Callback):
    """Times training steps after ``warmup`` steps (CUDA-synchronised)."""

    def __init__(self, warmup: int):
        self.warmup, self.times, self.images = warmup, [], 0

    def on_train_batch_start(self, trainer, module, batch, batch_idx):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        self.t0 = time.perf_counter()

    def on_train_batch_end(self, trainer, module, outputs, batch, batch_idx):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        if batch_idx >= self.warmup:
            self.times.append(time.perf_counter() - self.t0)
            first = batch["weight"] if isinstance(batch, dict) else batch
            n = first[0].shape[0] * (2 if isinstance(batch, dict) else 1)
            self.images += n * trainer.world_size


def run(stage, module, loaders, args, batch):
    timer = StepTimer(args.warmup)
    trainer = build_trainer(Path(args.workdir) / stage, stage, 1, accelerator="gpu" if args.device == "cuda" else "cpu",
                            devices=args.devices, precision=args.precision, limit_train_batches=args.steps + args.warmup,
                            limit_val_batches=0, find_unused_parameters=stage != "retrain",
                            sync_batchnorm=args.devices > 1 and not args.no_sync_bn)
    trainer.callbacks.append(timer)
    if torch.cuda.is_available():
        torch.cuda.reset_peak_memory_stats()
    trainer.fit(module, **loaders)
    seconds = sum(timer.times)
    ips = timer.images / seconds
    recipe = RECIPE[stage]
    hours = recipe["epochs"] * recipe["images"] / ips / 3600
    return {"steps_timed": len(timer.times), "batch_size_per_device": batch, "seconds": seconds,
            "images_per_s": ips, "ms_per_step": 1000 * seconds / max(1, len(timer.times)),
            "peak_memory_gb": torch.cuda.max_memory_allocated() / 1e9 if torch.cuda.is_available() else None,
            "recipe_epochs": recipe["epochs"], "recipe_gpu_hours": hours * args.devices,
            "recipe_wall_hours": hours}


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--device", choices=["cuda", "cpu"], default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--devices", type=int, default=1)
    p.add_argument("--precision", default="32-true")
    p.add_argument("--no-sync-bn", action="store_true", help="plain per-device BatchNorm under DDP")
    p.add_argument("--width", type=float, default=1.0)
    p.add_argument("--space", default="Hybrid-All")
    p.add_argument("--search-mode", default="soft", choices=["soft", "hard"])
    p.add_argument("--stages", default="pretrain,search,retrain")
    p.add_argument("--workdir", default=tempfile.mkdtemp(prefix="throughput_"))
    p.add_argument("--data-dir", default=None, help="a CIFAR-format folder; default: write a synthetic one")
    p.add_argument("--n-train", type=int, default=50_000, help="images of the synthetic training set")
    p.add_argument("--out", default="benchmarks/results/train_throughput.json")
    args = p.parse_args()
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    pl.seed_everything(0, verbose=False)
    data_dir = args.data_dir or str(Path(args.workdir) / "cifar10")
    if args.data_dir is None:
        make_synthetic_cifar(data_dir, "cifar10", n_train=args.n_train, n_test=max(100, args.n_train // 5), seed=0)
    dm_kw = dict(data_dir=data_dir, verify="folder", augment="crop_flip", num_workers=8 if args.device == "cuda" else 0,
                 pin_memory=args.device == "cuda")
    layout = FBNetLayout.cifar(width_mult=args.width).to_dict()
    result = {"device": torch.cuda.get_device_name(0) if args.device == "cuda" else platform.processor() or "cpu",
              "devices": args.devices, "torch": torch.__version__, "lightning": pl.__version__,
              "precision": args.precision, "tf32": False, "sync_batchnorm": args.devices > 1 and not args.no_sync_bn, "space": args.space, "width_mult": args.width,
              "search_mode": args.search_mode, "stages": {}}
    stages = args.stages.split(",")
    if "pretrain" in stages:
        dm = build_datamodule("cifar10", batch_size=128, **dm_kw)
        module = PGPPretrainModule(args.space, layout, epochs=120, mult_epochs=40, adder_epochs=40, n_paths=1)
        module.on_train_epoch_start = lambda: (module.set_phase(80), setattr(module, "epoch_stats",
                                              __import__("nasa_lib.nas.common", fromlist=["x"]).EpochStats()))
        result["stages"]["pretrain"] = run("pretrain", module, {"datamodule": dm}, args, 128)
    if "search" in stages:
        dm = build_datamodule("cifar10", batch_size=128, **dm_kw)
        dm.setup()
        module = SearchModule(args.space, layout, epochs=90, mode=args.search_mode, cost_band=(5e7, 1e8))
        loaders = {"train_dataloaders": CombinedLoader(dm.search_dataloaders(), "max_size_cycle")}
        result["stages"]["search"] = run("search", module, loaders, args, 128)
        arch = module.derived_arch()
    else:
        net = Supernet(args.space, FBNetLayout.from_dict(layout))
        g = torch.Generator().manual_seed(0)
        arch = [net.candidates[i][a[0]] for i, a in enumerate(net.sample_active(generator=g))]
    if "retrain" in stages:
        dm = build_datamodule("cifar10", batch_size=196, **dm_kw)
        module = RetrainModule(arch, layout, epochs=650, schedule="step", milestones=(200, 400))
        result["stages"]["retrain"] = run("retrain", module, {"datamodule": dm}, args, 196)
        result["retrain_arch"] = arch
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:  # under DDP every rank runs main(); one writes
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))
        print(json.dumps({k: v for k, v in result.items() if k != "retrain_arch"}, indent=1))


if __name__ == "__main__":
    main()
