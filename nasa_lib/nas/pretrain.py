"""Progressive pretraining (PGP) of the weight-sharing supernet, as a LightningModule.

Phases by epoch (PAPERS.md section 3; every count is a parameter):

=========  ============================  ===========================================
phase      epochs                        what trains
=========  ============================  ===========================================
``mult``   [0, mult_epochs)              multiplication-based ops (conv, shift) + skip
``adder``  [mult, mult + adder_epochs)   adder ops only (adder, shift-adder); all else frozen
``mixed``  [mult + adder, epochs)        every op
=========  ============================  ===========================================

The first ``full_width_fraction`` (half) of each phase runs every sampled candidate at its shared
block's full e6 width; afterwards e1/e3 candidates use their slices.  Each step samples
``n_paths`` active paths per layer uniformly among the phase's kinds (no architecture update).
``pgp=False`` is the ablation: every epoch is ``mixed`` at slice width.  A phase whose kinds the
space does not contain (the adder phase of OnlyConv) trains as ``mixed``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pytorch_lightning as pl
import torch
import torch.nn.functional as F

from ..opkinds import PGP_PHASES, kinds_in_phase
from ..space import FBNetLayout, Supernet
from .common import EpochHistory, EpochStats, batch_statistics_bn, check_finite, lr_schedule, sgd, step_generator

# Kinds each phase trains, from the op-kind table; the final "mixed" phase trains every kind (None).
PHASE_KINDS = {**{phase: kinds_in_phase(phase) for phase in PGP_PHASES}, "mixed": None}


@dataclass(frozen=True)
class PGPSchedule:
    epochs: int
    mult_epochs: int = 40
    adder_epochs: int = 40
    pgp: bool = True
    full_width_fraction: float = 0.5

    def __post_init__(self):
        if self.epochs < 1:
            raise ValueError(f"pretrain epochs={self.epochs} is not valid; it must be >= 1")
        if self.pgp and (self.mult_epochs < 0 or self.adder_epochs < 0 or self.mult_epochs + self.adder_epochs > self.epochs):
            raise ValueError(f"pretrain mult_epochs={self.mult_epochs} + adder_epochs={self.adder_epochs} must be "
                             f">= 0 and at most epochs={self.epochs}")
        if not 0.0 <= self.full_width_fraction <= 1.0:
            raise ValueError(f"full_width_fraction={self.full_width_fraction} must be in [0, 1]")

    def phase(self, epoch: int) -> tuple[str, bool]:
        """(phase name, full width?) of an epoch."""
        if not self.pgp:
            return "mixed", False
        bounds = [("mult", 0, self.mult_epochs), ("adder", self.mult_epochs, self.mult_epochs + self.adder_epochs),
                  ("mixed", self.mult_epochs + self.adder_epochs, self.epochs)]
        for name, start, end in bounds:
            if start <= epoch < end or (name == "mixed" and epoch >= end):
                return name, epoch - start < (end - start) * self.full_width_fraction
        raise AssertionError("unreachable")


class PGPPretrainModule(EpochHistory, pl.LightningModule):
    stage_name = "pretrain"

    def __init__(self, space: str, layout: dict, epochs: int, mult_epochs: int = 40, adder_epochs: int = 40,
                 pgp: bool = True, full_width_fraction: float = 0.5, n_paths: int = 1, lr: float = 0.1,
                 momentum: float = 0.9, weight_decay: float = 1e-4, adder_free_ends: int = 3,
                 shift_mode: str = "q", eval_paths: int = 4, seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        self.schedule = PGPSchedule(epochs, mult_epochs, adder_epochs, pgp, full_width_fraction)
        self.supernet = Supernet(space, FBNetLayout.from_dict(layout), adder_free_ends, shift_mode=shift_mode)
        self.kinds_present = {c.kind for layer in self.supernet.layers for c in layer.configs}
        self.phase_name, self.full_width = self.schedule.phase(0)
        # fixed random single-path architectures on which validation accuracy is measured
        self.eval_active = [self.supernet.sample_active(generator=step_generator(seed, i, salt=17))
                            for i in range(eval_paths)]
        self.history: list[dict] = []

    # ---- phases --------------------------------------------------------------------------
    def phase_kinds(self) -> tuple | None:
        kinds = PHASE_KINDS[self.phase_name]
        if kinds is not None and not (set(kinds) & self.kinds_present):
            return None  # e.g. the adder phase of a space without adders trains as mixed
        return kinds

    def set_phase(self, epoch: int) -> None:
        self.phase_name, self.full_width = self.schedule.phase(epoch)
        groups = self.supernet.parameters_by_kind()
        kinds = self.phase_kinds()
        freeze_others = self.phase_name == "adder" and kinds is not None
        for kind, params in groups.items():
            trainable = not freeze_others or kind in kinds
            for p in params:
                p.requires_grad_(trainable)

    def on_train_epoch_start(self) -> None:
        self.set_phase(self.current_epoch)
        self.epoch_stats = EpochStats()
        self.start_epoch_clock()

    # ---- steps ---------------------------------------------------------------------------
    def training_step(self, batch, batch_idx):
        x, y = batch
        active = self.supernet.sample_active(self.phase_kinds(), self.hparams.n_paths,
                                             step_generator(self.hparams.seed, self.global_step))
        logits = self.supernet(x, active=active, full_width=self.full_width)
        loss = F.cross_entropy(logits, y)
        check_finite(loss, "pretrain", self.global_step, self.current_epoch)
        self.epoch_stats.add(loss, logits, y)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        with batch_statistics_bn(self.supernet):
            accs = [(self.supernet(x, active=a).argmax(1) == y).float().mean() for a in self.eval_active]
        self.log("val_acc", torch.stack(accs).mean(), on_epoch=True, prog_bar=True, sync_dist=True)

    def on_train_epoch_end(self) -> None:
        self.record_epoch({"epoch": self.current_epoch, "phase": self.phase_name, "full_width": self.full_width,
                           **self.epoch_stats.summary(self)})

    def configure_optimizers(self):
        hp = self.hparams
        opt = sgd(self.parameters(), hp.lr, hp.momentum, hp.weight_decay)
        return {"optimizer": opt, "lr_scheduler": lr_schedule(opt, "cosine", hp.epochs)}

    def on_save_checkpoint(self, checkpoint):
        checkpoint["pgp_history"] = self.history

    def on_load_checkpoint(self, checkpoint):
        self.history = checkpoint.get("pgp_history", [])

    def schedule_dict(self) -> dict:
        return asdict(self.schedule)
