"""Building Lightning trainers the same way for every stage: checkpoints, resume, devices, and
no progress bars (each module prints one line per epoch, so executed notebooks and
CI logs stay small).

Metrics: with ``live_dir``, DVCLive's files through a Lightning logger (:mod:`.live`).

Checkpoints: ``out_dir/checkpoints/last.ckpt`` after every epoch (:class:`EpochCheckpoint`, written
atomically), so a stage killed in any way -- Ctrl-C, SIGTERM, SIGKILL, a crash -- resumes from its
last finished epoch with the result an uninterrupted run gives.  Nothing is saved mid-epoch: the
data order inside an epoch is not part of a checkpoint, so a mid-epoch state could not be resumed
exactly.  Lightning's ``ModelCheckpoint(save_last=True, save_top_k=0)`` wrote nothing before the end
of ``fit`` (Lightning 2.6), which is why the suite has its own callback."""
from __future__ import annotations

import logging
import os
import sys
import warnings
from pathlib import Path

import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import Callback, Checkpoint
from pytorch_lightning.strategies import DDPStrategy

ACCELERATORS = ("cpu", "gpu", "auto")
MEMORY_FORMATS = ("channels_last", "contiguous")


class EpochCheckpoint(Checkpoint):
    """``<dirpath>/last.ckpt`` after every training epoch (after its validation), written to a
    temporary file and renamed, so a kill during the write leaves the previous epoch's intact.

    A ``Checkpoint`` subclass so that Lightning calls it after the module's own
    ``on_train_epoch_end`` (which records the epoch's history) and adds no ModelCheckpoint of its own."""

    def __init__(self, dirpath):
        self.dirpath = Path(dirpath)

    def on_train_epoch_end(self, trainer, module):
        final = self.dirpath / "last.ckpt"
        tmp = self.dirpath / "last.ckpt.tmp"
        if trainer.is_global_zero:
            self.dirpath.mkdir(parents=True, exist_ok=True)
        trainer.strategy.barrier()
        trainer.save_checkpoint(tmp)          # every rank takes part; rank 0 writes
        if trainer.is_global_zero:
            os.replace(tmp, final)
        trainer.strategy.barrier()


class MemoryFormat(Callback):
    """Trains the module with its 4-D weights (and so its convolutions' activations) in
    ``memory_format``, and hands it back contiguous: checkpoints written during the fit hold
    that layout (loading copies values, any layout), saved artifacts the usual one.

    Why: oneDNN's CPU convolutions run these small MBConv networks 1.4-1.6x faster per training
    step in channels_last (``benchmarks/memory_format_cpu.py``); the values differ only by
    floating-point rounding, the results are reproducible either way."""

    def __init__(self, memory_format: str):
        if memory_format not in MEMORY_FORMATS:
            raise ValueError(f"memory_format={memory_format!r} is not valid; valid values: {', '.join(MEMORY_FORMATS)}")
        self.format = torch.channels_last if memory_format == "channels_last" else torch.contiguous_format

    def setup(self, trainer, module, stage) -> None:   # before the optimizers exist
        module.to(memory_format=self.format)

    def teardown(self, trainer, module, stage) -> None:
        module.to(memory_format=torch.contiguous_format)


def build_trainer(out_dir, stage: str, max_epochs: int, accelerator: str = "cpu", devices: int = 1,
                  precision: str = "32-true", deterministic: bool = True, gradient_clip_val: float | None = None,
                  limit_train_batches=None, limit_val_batches=None, sync_batchnorm: bool = False,
                  find_unused_parameters: bool = False, live_dir=None, memory_format: str = "contiguous") -> pl.Trainer:
    """A Trainer that checkpoints ``last.ckpt`` into ``out_dir/checkpoints`` after every epoch.

    ``live_dir``: the DVCLive folder its logger writes (:mod:`.live`: one row per epoch of the
    module's history, rank 0); None: no logger.  ``memory_format``: see :class:`MemoryFormat`.

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
    warnings.filterwarnings("ignore", ".*smaller than the logging interval.*")  # no per-step logging
    if devices > 1:
        # A script re-launches itself once per device ("popen"); a notebook kernel (papermill)
        # cannot, so there the processes are forked (Lightning's ddp_notebook).
        from lightning_fabric.utilities.imports import _IS_INTERACTIVE
        strategy = DDPStrategy(find_unused_parameters=find_unused_parameters,
                               start_method="fork" if _IS_INTERACTIVE or "ipykernel" in sys.modules else "popen")
    else:
        strategy = "auto"
    callbacks, logger = [EpochCheckpoint(Path(out_dir) / "checkpoints")], False
    if memory_format != "contiguous":
        callbacks.append(MemoryFormat(memory_format))
    if live_dir is not None:
        from .live import EpochLog, HistoryLogger      # dvclive (the pipeline extra): only when asked for
        logger = HistoryLogger(live_dir)
        callbacks.append(EpochLog(logger))
    trainer = pl.Trainer(
        default_root_dir=str(out_dir), max_epochs=max_epochs, accelerator=accelerator, devices=devices,
        strategy=strategy, precision=precision, deterministic=deterministic, sync_batchnorm=sync_batchnorm and devices > 1 and accelerator != "cpu",
        gradient_clip_val=gradient_clip_val, limit_train_batches=limit_train_batches,
        limit_val_batches=limit_val_batches, callbacks=callbacks, logger=logger,
        enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0,
        use_distributed_sampler=True)
    # deterministic=True turns on PyTorch's deterministic algorithms, and with them, by default, a
    # debugging aid: every new tensor is first filled with NaN, so that a kernel reading memory it
    # never wrote reads the same thing every run.  None here does (a training run gives the same
    # bytes with and without the fill: tests/test_nas.py), and the fill is one more pass over every
    # allocation: ~15 % of a search step's CPU time on the 2-core machine (benchmarks/stage_overhead.py).
    torch.utils.deterministic.fill_uninitialized_memory = False
    return trainer


def last_checkpoint(out_dir) -> str | None:
    path = Path(out_dir) / "checkpoints" / "last.ckpt"
    return str(path) if path.exists() else None


def resume_line(ckpt: str, stage: str, max_epochs: int) -> str:
    """``resuming <stage> after epoch 2 of 5 (from <checkpoint>)``: the one line a resumed stage says."""
    import torch
    # the suite's own checkpoint of this very stage, written by this process's predecessor
    done = int(torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"]) + 1
    return f"resuming {stage} after epoch {done} of {max_epochs} (from {ckpt})"


def fit_resumable(trainer: pl.Trainer, module: pl.LightningModule, out_dir, label: str | None = None,
                  **fit_kwargs) -> None:
    """``trainer.fit`` that resumes from ``out_dir/checkpoints/last.ckpt`` when one exists, saying so
    in one line (in the notebook, and on the terminal that runs ``dvc repro``)."""
    ckpt = last_checkpoint(out_dir)
    if ckpt and trainer.global_rank == 0:
        line = resume_line(ckpt, label or getattr(module, "stage_name", "training"), trainer.max_epochs)
        print(line, flush=True)
        if sys.__stderr__ is not None and sys.__stderr__ is not sys.stderr:     # inside a notebook kernel
            print(line, file=sys.__stderr__, flush=True)
    trainer.fit(module, ckpt_path=ckpt, **fit_kwargs)
    # Forked or spawned DDP workers hand back only the weights; the histories a module keeps
    # beside them (saved in every checkpoint) come back from the last checkpoint.
    final = last_checkpoint(out_dir)
    if final and getattr(trainer.strategy, "_start_method", "popen") in ("fork", "spawn", "forkserver"):
        import torch
        module.on_load_checkpoint(torch.load(final, map_location="cpu", weights_only=False))
