"""What every training stage shares: seeding, the data module and layout from params, trainers
that checkpoint in ``<checkpoint_root>/<stage>/<run>/<params hash>/`` (an interrupted stage
resumes from there on the next ``dvc repro``; a finished one deletes them), and the GPU DDP
hand-over from a notebook kernel (:mod:`.launch`)."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import shutil
from pathlib import Path

from ..io import load_torch
from .params import PARAMS_FILE, StageParams, stage_params

DATA_KEYS = ("data_dir", "batch_size", "eval_batch_size", "num_workers", "val_fraction", "test_fraction",
             "train_portion", "augment", "subset", "pad_to", "verify")


def declare(template: tuple[str, ...], run: str) -> tuple[str, ...]:
    """A stage's declared params for one run: ``runs.{run}`` -> ``runs.Hybrid-All``."""
    return tuple(s.format(run=run) for s in template)


def load_for_run(template: tuple[str, ...], run: str, table: str, params_file=PARAMS_FILE) -> StageParams:
    """The params of a ``foreach`` stage's run, which must be listed in params.yaml's ``table``."""
    p = stage_params(declare(template, run), params_file)
    if run not in getattr(p, table):
        raise ValueError(f"run {run!r} is not in params.yaml's {table} ({', '.join(getattr(p, table)) or 'none'})")
    return p


def training_seed(p: StageParams, seed: int | None) -> int:
    """The seed a training stage runs with: its matrix seed (``dvc.yaml``: one stage per entry of
    ``params.yaml``'s ``seeds``), or ``common.seed`` when called without one."""
    if seed is None:
        return p.common.seed
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed={seed!r} is not valid; it must be an integer >= 0 (an entry of params.yaml's seeds)")
    return seed


def setup_run(p: StageParams, seed: int | None = None) -> int:
    """Seed everything and set the threads; returns the seed.  The data split always comes from
    ``common.seed``, so seeds vary the training (initialisation, sampled paths, batches), not the
    images a network is tested on."""
    import pytorch_lightning as pl
    import torch
    seed = training_seed(p, seed)
    pl.seed_everything(seed, workers=True, verbose=False)
    torch.set_num_threads(p.common.num_threads)
    return seed


def make_datamodule(p: StageParams, **overrides):
    """The data module of ``data`` (``overrides``: the retrain stage's own batch size and augmentation)."""
    from ..data import build_datamodule
    values = {k: getattr(p.data, k) for k in DATA_KEYS} | overrides
    return build_datamodule(p.data.dataset, seed=p.common.seed, **values)


def make_layout(p: StageParams, in_channels: int, input_size: int, num_classes: int):
    from ..space import FBNetLayout
    net = p.network
    return FBNetLayout(width_mult=net.width_mult, depth_mult=net.depth_mult, header_channels=net.header_channels,
                       stem_stride=net.stem_stride, in_channels=in_channels, input_size=input_size,
                       num_classes=num_classes)


def layout_of(p: StageParams, datamodule):
    return make_layout(p, datamodule.in_channels, datamodule.input_size, datamodule.num_classes)


def params_hash(p: StageParams, sections: tuple[str, ...]) -> str:
    """A short stable hash of the stage's params (names its checkpoint folder)."""
    doc = {}
    for entry in sections:
        top, _, key = entry.partition(".")
        value = _plain(getattr(p, top))
        doc[entry] = value.get(key) if key and isinstance(value, dict) else value
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:12]


def _plain(value):
    if dataclasses.is_dataclass(value):
        return dataclasses.asdict(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "_obj"):                       # a view of some keys of a section
        return {k: getattr(value, k) for k in sorted(value._keys)}
    return value


def checkpoint_dir(p: StageParams, stage: str, run: str, sections: tuple[str, ...], seed: int | None = None) -> Path:
    folder = Path(p.common.checkpoint_root) / stage / run
    return (folder if seed is None else folder / f"seed{seed}") / params_hash(p, sections)


def trainer(p: StageParams, out_dir: Path, stage: str, epochs: int, supernet: bool, devices: int | None = None,
            live_dir=None):
    """The stage's Lightning trainer from ``common`` (``devices``: a stage's own override), logging
    its per-epoch metrics to the DVCLive folder ``live_dir`` (:mod:`.paths`)."""
    from ..nas import build_trainer
    c = p.common
    return build_trainer(out_dir, stage, epochs, accelerator=c.accelerator, devices=devices or c.devices,
                         precision=c.precision, sync_batchnorm=c.sync_batchnorm,
                         find_unused_parameters=supernet, limit_train_batches=c.limit_train_batches,
                         live_dir=live_dir, memory_format=c.memory_format)


def finish(trainer, ckpt_dir: Path, root) -> None:
    """The one rule for checkpoints: a stage that finished deletes its checkpoint folder, and every
    folder up to ``root`` (``common.checkpoint_root``, itself included) that this leaves empty; an
    interrupted stage keeps its folder, and the next ``dvc repro`` resumes from it (rank 0)."""
    if trainer.global_rank != 0:
        return
    remove_checkpoints(ckpt_dir, root)


def remove_checkpoints(ckpt_dir: Path, root) -> None:
    """Delete ``ckpt_dir`` and every folder up to ``root`` (itself included) that this leaves empty."""
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    root, folder = Path(root).resolve(), Path(ckpt_dir).resolve().parent
    while True:
        try:
            folder.rmdir()              # only when empty
        except OSError:
            break
        if folder == root or root not in folder.parents:
            break
        folder = folder.parent


def load_supernet(path, space: str, layout, weight_sharing: str) -> dict:
    """The pretrained supernet's state dict, checked against the space, layout and weight sharing
    it must match."""
    pretrained = load_torch(path)   # data only: a supernet from a shared remote cannot run code
    if pretrained["layout"] != layout.to_dict() or pretrained["space"] != space:
        raise ValueError(f"{path} was pretrained for space {pretrained['space']} with another layout; "
                         f"rerun the pretrain stage")
    if pretrained.get("weight_sharing", "channels") != weight_sharing:
        raise ValueError(f"{path} was pretrained with network.weight_sharing="
                         f"{pretrained.get('weight_sharing', 'channels')}, not {weight_sharing}; rerun the pretrain stage")
    return pretrained["state_dict"]
