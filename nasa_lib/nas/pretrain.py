"""Progressive pretraining (PGP) of the weight-sharing supernet, as a LightningModule.

Phases by epoch (SOURCES.md [NASA-code] search.py; every count is a parameter):

=========  ============================  ===========================================
phase      epochs                        what trains
=========  ============================  ===========================================
``mult``   [0, mult_epochs)              multiplication-based ops (conv, shift) + skip
``adder``  [mult, mult + adder_epochs)   adder ops (adder, shift-adder); all else frozen
``mixed``  [mult + adder, epochs)        every op
=========  ============================  ===========================================

The first ``full_width_fraction`` of each phase's training *steps* runs every sampled candidate at
its shared block's full width (e6); afterwards e1/e3 candidates use their slices.  (Counted in
steps, so a phase of one epoch still trains slices: counted in whole epochs, a 1-epoch phase was
full width throughout and the slices that search later picks were never trained, FINDINGS.md.)
Each step samples ``n_paths`` active paths per layer uniformly among the phase's kinds (no
architecture update); in the adder phase ``adder_phase_paths`` says among which candidates
(:data:`ADDER_PHASE_PATHS`: by default every candidate, the frozen ones included).  ``pgp=False``
is the ablation: every epoch is ``mixed`` at slice width.  A phase whose kinds the space does not
contain (the adder phase of OnlyConv) trains, and is recorded, as ``mixed``.  The learning rate follows a cosine per step.

Validation (every epoch) measures the supernet on ``eval_paths`` fixed random single paths drawn
from the kinds trained so far (paths through kinds not yet trained say nothing), plus the widest
path (every layer its largest multiplication-based candidate, a check that the shared weights
themselves learn); the history keeps the mean, min, max and spread over the paths.
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

# Which candidates the adder phase's paths run through (only the adder kinds' weights train in either):
#   all_kinds   every candidate of every kind, the frozen conv / shift / skip ones included (gradients
#               still flow through them), as the NASA code does (search.py / model_search_ws_mix_fix_conv.py:
#               the adder stage draws among all ops and runs the non-adder ones with grad=False).  The
#               adders learn inside the mixed networks the search later samples.  A draw with no adder
#               candidate in any layer (nothing would train) is redrawn.
#   adder_only  only adder-kind candidates wherever a layer has one: the adders learn to feed one another,
#               and mixed paths were near or below chance all phase long (Hybrid-All on the embedded default:
#               1-3 % for the paths that mix kinds, benchmarks/results/pgp_adder_phase.jsonl).
ADDER_PHASE_PATHS = ("all_kinds", "adder_only")
_MAX_REDRAWS = 1000


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

    def _bounds(self, epoch: int) -> tuple[str, int, int]:
        bounds = [("mult", 0, self.mult_epochs), ("adder", self.mult_epochs, self.mult_epochs + self.adder_epochs),
                  ("mixed", self.mult_epochs + self.adder_epochs, self.epochs)]
        for name, start, end in bounds:
            if start <= epoch < end or (name == "mixed" and epoch >= end):
                return name, start, max(end, epoch + 1)
        raise AssertionError("unreachable")

    def phase(self, epoch: int) -> str:
        """The phase an epoch belongs to."""
        return self._bounds(epoch)[0] if self.pgp else "mixed"

    def full_width(self, epoch: int, step: int, steps_per_epoch: int) -> bool:
        """Whether training step ``step`` (0-based, within ``epoch``) runs at full width: the first
        ``full_width_fraction`` of the phase's steps do."""
        if not self.pgp:
            return False
        _, start, end = self._bounds(epoch)
        position = (epoch - start) * steps_per_epoch + step
        return position < round(self.full_width_fraction * (end - start) * steps_per_epoch)


class PGPPretrainModule(EpochHistory, pl.LightningModule):
    stage_name = "pretrain"

    def __init__(self, space: str, layout: dict, epochs: int, mult_epochs: int = 40, adder_epochs: int = 40,
                 pgp: bool = True, full_width_fraction: float = 0.5, n_paths: int = 1, lr: float = 0.1,
                 momentum: float = 0.9, weight_decay: float = 1e-4, adder_free_ends: int = 3,
                 shift_mode: str = "q", eval_paths: int = 8, seed: int = 0, weight_sharing: str = "elastic",
                 adder_phase_paths: str = "all_kinds"):
        super().__init__()
        self.save_hyperparameters()
        if eval_paths < 1:
            raise ValueError(f"eval_paths={eval_paths} is not valid; it must be >= 1")
        if adder_phase_paths not in ADDER_PHASE_PATHS:
            raise ValueError(f"adder_phase_paths={adder_phase_paths!r} is not valid; valid values: "
                             f"{', '.join(ADDER_PHASE_PATHS)}")
        self.schedule = PGPSchedule(epochs, mult_epochs, adder_epochs, pgp, full_width_fraction)
        self.supernet = Supernet(space, FBNetLayout.from_dict(layout), adder_free_ends, shift_mode=shift_mode,
                                 weight_sharing=weight_sharing)
        self.kinds_present = {c.kind for layer in self.supernet.layers for c in layer.configs}
        self.phase_name = self.schedule.phase(0)
        self.trained_kinds: set[str] = set()
        self.widest_active = self.supernet.widest_active()
        self.history: list[dict] = []

    # ---- phases --------------------------------------------------------------------------
    def phase_kinds(self) -> tuple | None:
        kinds = PHASE_KINDS[self.phase_name]
        if kinds is not None and not (set(kinds) & self.kinds_present):
            return None  # e.g. the adder phase of a space without adders trains as mixed
        return kinds

    def set_phase(self, epoch: int) -> None:
        self.phase_name = self.schedule.phase(epoch)
        kinds = self.phase_kinds()
        if kinds is None:
            self.phase_name = "mixed"   # the phase's kinds are absent: it trains, and is recorded, as mixed
        groups = self.supernet.parameters_by_kind()
        freeze_others = self.phase_name == "adder" and kinds is not None
        for kind, params in groups.items():
            trainable = not freeze_others or kind in kinds
            for p in params:
                p.requires_grad_(trainable)

    def on_train_epoch_start(self) -> None:
        self.set_phase(self.current_epoch)
        kinds = self.phase_kinds()
        self.trained_kinds |= set(self.kinds_present if kinds is None else kinds) & self.kinds_present
        self.epoch_stats = EpochStats()
        self.full_width_steps = 0
        self.start_epoch_clock()

    def steps_per_epoch(self) -> int:
        trainer = self._trainer
        n = getattr(trainer, "num_training_batches", None) if trainer is not None else None
        return int(n) if isinstance(n, (int, float)) and 0 < n < float("inf") else 1

    # ---- steps ---------------------------------------------------------------------------
    def sample_training_paths(self, generator: torch.Generator) -> list[list[int]]:
        """The step's active candidates per layer: among the phase's kinds, except in the adder phase
        with ``adder_phase_paths="all_kinds"`` (among every candidate, redrawn until one is an adder)."""
        kinds = self.phase_kinds()
        if not (self.phase_name == "adder" and kinds is not None and self.hparams.adder_phase_paths == "all_kinds"):
            return self.supernet.sample_active(kinds, self.hparams.n_paths, generator)
        for _ in range(_MAX_REDRAWS):
            active = self.supernet.sample_active(None, self.hparams.n_paths, generator)
            if any(layer.configs[i].kind in kinds for layer, act in zip(self.supernet.layers, active) for i in act):
                return active
        raise RuntimeError(f"pretrain: no draw of {_MAX_REDRAWS} put an adder candidate on the path")

    def training_step(self, batch, batch_idx):
        x, y = batch
        active = self.sample_training_paths(step_generator(self.hparams.seed, self.global_step))
        full_width = self.schedule.full_width(self.current_epoch, batch_idx, self.steps_per_epoch())
        self.full_width_steps = getattr(self, "full_width_steps", 0) + int(full_width)
        logits = self.supernet(x, active=active, full_width=full_width)
        loss = F.cross_entropy(logits, y)
        check_finite(loss, "pretrain", self.global_step, self.current_epoch)
        self.epoch_stats.add(loss, logits, y)
        return loss

    # ---- validation ------------------------------------------------------------------------
    def eval_active(self) -> list[list[list[int]]]:
        """The fixed evaluation paths of the kinds trained so far (the same paths whenever the
        same kinds have been trained: they depend only on the seed and the kinds)."""
        kinds = tuple(sorted(self.trained_kinds or self.kinds_present))
        return [self.supernet.sample_active(kinds, 1, step_generator(self.hparams.seed, i, salt=17))
                for i in range(self.hparams.eval_paths)]

    def validation_step(self, batch, batch_idx):
        x, y = batch
        with batch_statistics_bn(self.supernet):
            accs = [(self.supernet(x, active=a).argmax(1) == y).float().mean() for a in self.eval_active()]
            widest = (self.supernet(x, active=self.widest_active).argmax(1) == y).float().mean()
        n = y.numel()
        self.log("val_acc", torch.stack(accs).mean(), on_epoch=True, prog_bar=True, sync_dist=True, batch_size=n,
                 logger=False)    # the history carries them to the logger (nasa_lib.nas.live)
        for i, acc in enumerate(accs):
            self.log(f"val_acc_path{i}", acc, on_epoch=True, sync_dist=True, batch_size=n, logger=False)
        self.log("val_acc_widest", widest, on_epoch=True, sync_dist=True, batch_size=n, logger=False)

    def validation_record(self) -> dict:
        """Per-path spread of the epoch's validation (from the logged metrics)."""
        metrics = self.trainer.callback_metrics
        paths = [float(metrics[f"val_acc_path{i}"]) for i in range(self.hparams.eval_paths)
                 if f"val_acc_path{i}" in metrics]
        if not paths:
            return {}
        return {"val_acc_paths_min": min(paths), "val_acc_paths_max": max(paths),
                "val_acc_paths_std": float(torch.tensor(paths).std()) if len(paths) > 1 else 0.0,
                "val_acc_widest": float(metrics["val_acc_widest"]),
                "eval_kinds": sorted(self.trained_kinds or self.kinds_present)}

    def on_train_epoch_end(self) -> None:
        steps = max(self.epoch_stats.batches, 1)
        self.record_epoch({"epoch": self.current_epoch, "phase": self.phase_name,
                           "full_width_fraction": self.full_width_steps / steps,
                           **self.epoch_stats.summary(self), **self.validation_record()})

    def configure_optimizers(self):
        hp = self.hparams
        opt = sgd(self.parameters(), hp.lr, hp.momentum, hp.weight_decay)
        # cosine over every training step (per epoch, a 3-epoch run would step 0.1/0.075/0.025)
        trainer = self._trainer
        total = int(trainer.estimated_stepping_batches) if trainer is not None else hp.epochs
        return {"optimizer": opt, "lr_scheduler": {"scheduler": lr_schedule(opt, "cosine", max(total, 1)),
                                                   "interval": "step"}}

    def on_save_checkpoint(self, checkpoint):
        checkpoint["pgp_history"] = self.history

    def on_load_checkpoint(self, checkpoint):
        self.history = checkpoint.get("pgp_history", [])
        for record in self.history:     # the kinds trained before the interruption
            self.trained_kinds |= set(record.get("eval_kinds", []))

    def schedule_dict(self) -> dict:
        return asdict(self.schedule)
