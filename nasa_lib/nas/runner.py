"""Building Lightning trainers the same way for every stage: checkpoints, resume, devices, and
no progress bars (each module prints one line per epoch, so executed notebooks and
CI logs stay small)."""
from __future__ import annotations

import logging
import sys
import warnings
from pathlib import Path

import pytorch_lightning as pl
from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.strategies import DDPStrategy

ACCELERATORS = ("cpu", "gpu", "auto")


def build_trainer(out_dir, stage: str, max_epochs: int, accelerator: str = "cpu", devices: int = 1,
                  precision: str = "32-true", deterministic: bool = True, gradient_clip_val: float | None = None,
                  limit_train_batches=None, limit_val_batches=None, sync_batchnorm: bool = False,
                  find_unused_parameters: bool = False) -> pl.Trainer:
    """A Trainer that checkpoints ``last.ckpt`` into ``out_dir/checkpoints`` after every epoch.

    ``devices > 1`` selects DDP (``find_unused_parameters`` for supernets, whose unsampled paths
    get no gradient); ``sync_batchnorm`` converts BatchNorm to SyncBatchNorm (GPUs only: PyTorch's
    SyncBatchNorm has no CPU implementation, so CPU processes keep per-process BN).
    """
    if accelerator not in ACCELERATORS:
        raise ValueError(f"accelerator={accelerator!r} is not valid; valid values: {', '.join(ACCELERATORS)}")
    if not isinstance(devices, int) or devices < 1:
        raise ValueError(f"devices={devices!r} is not valid; it must be an integer >= 1")
    logging.getLogger("pytorch_lightning").setLevel(logging.WARNING)
    logging.getLogger("lightning.pytorch").setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", ".*does not have many workers.*")
    warnings.filterwarnings("ignore", ".*GPU available but not used.*")
    warnings.filterwarnings("ignore", ".*treespec.*")  # a Lightning-internal deprecation, not ours
    warnings.filterwarnings("ignore", ".*module\\(s\\) in eval mode.*")  # a frozen distillation teacher
    if devices > 1:
        # A script re-launches itself once per device ("popen"); a notebook kernel (papermill)
        # cannot, so there the processes are forked (Lightning's ddp_notebook).
        from lightning_fabric.utilities.imports import _IS_INTERACTIVE
        strategy = DDPStrategy(find_unused_parameters=find_unused_parameters,
                               start_method="fork" if _IS_INTERACTIVE or "ipykernel" in sys.modules else "popen")
    else:
        strategy = "auto"
    ckpt = ModelCheckpoint(dirpath=Path(out_dir) / "checkpoints", save_last=True, save_top_k=0, every_n_epochs=1)
    return pl.Trainer(
        default_root_dir=str(out_dir), max_epochs=max_epochs, accelerator=accelerator, devices=devices,
        strategy=strategy, precision=precision, deterministic=deterministic, sync_batchnorm=sync_batchnorm and devices > 1 and accelerator != "cpu",
        gradient_clip_val=gradient_clip_val, limit_train_batches=limit_train_batches,
        limit_val_batches=limit_val_batches, callbacks=[ckpt], logger=False,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        use_distributed_sampler=True)


def last_checkpoint(out_dir) -> str | None:
    path = Path(out_dir) / "checkpoints" / "last.ckpt"
    return str(path) if path.exists() else None


def fit_resumable(trainer: pl.Trainer, module: pl.LightningModule, out_dir, **fit_kwargs) -> None:
    """``trainer.fit`` that resumes from ``out_dir/checkpoints/last.ckpt`` when one exists."""
    ckpt = last_checkpoint(out_dir)
    if ckpt and trainer.global_rank == 0:
        print(f"resuming from {ckpt}", flush=True)
    trainer.fit(module, ckpt_path=ckpt, **fit_kwargs)
    # Forked or spawned DDP workers hand back only the weights; the histories a module keeps
    # beside them (saved in every checkpoint) come back from the last checkpoint.
    final = last_checkpoint(out_dir)
    if final and getattr(trainer.strategy, "_start_method", "popen") in ("fork", "spawn", "forkserver"):
        import torch
        module.on_load_checkpoint(torch.load(final, map_location="cpu", weights_only=False))
