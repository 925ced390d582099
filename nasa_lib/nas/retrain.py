"""Retraining a child network from scratch (the searched one or a baseline), as a LightningModule.

The papers' recipe knobs are parameters: SGD (momentum, Nesterov), cosine or step schedule,
weight decay, epochs, label smoothing, quantisation (conv 8-bit, adder 6-bit, shift weights as
powers of two) and optional knowledge distillation from the network's conv twin.
"""
from __future__ import annotations

import pytorch_lightning as pl
import torch
import torch.nn.functional as F
import torchmetrics

from .. import opkinds
from ..layerspec import total_op_counts
from ..ops.registry import get_op
from ..space import ChildNet, FBNetLayout
from .common import EpochHistory, EpochStats, check_finite, lr_schedule, sgd


def conv_twin(arch: list[str]) -> list[str]:
    """The same architecture with every shift / adder / shift-adder block made a conv block."""
    for op in arch:
        get_op(op)  # an unregistered op fails here, naming the valid ones
    return [opkinds.conv_twin(op) for op in arch]


class RetrainModule(EpochHistory, pl.LightningModule):
    stage_name = "retrain"

    def __init__(self, arch: list[str], layout: dict, epochs: int, lr: float = 0.1, momentum: float = 0.9,
                 nesterov: bool = False, weight_decay: float = 2e-4, schedule: str = "cosine",
                 milestones: tuple = (), gamma: float = 0.1, label_smoothing: float = 0.0,
                 quantize: bool = False, shift_mode: str = "q", grad_clip: float | None = None,
                 distill_weight: float = 0.0, distill_temperature: float = 4.0, seed: int = 0):
        super().__init__()
        self.save_hyperparameters()
        lr_schedule(torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr), schedule, epochs, milestones)
        self.net = ChildNet(list(arch), FBNetLayout.from_dict(layout), quantize=quantize, shift_mode=shift_mode)
        num_classes = self.net.layout.num_classes
        self.val_acc = torchmetrics.classification.MulticlassAccuracy(num_classes, average="micro")
        self.test_acc = torchmetrics.classification.MulticlassAccuracy(num_classes, average="micro")
        self.teacher: torch.nn.Module | None = None
        self.history: list[dict] = []

    def set_teacher(self, teacher: torch.nn.Module) -> None:
        """Distil from ``teacher`` (frozen, eval mode) with weight ``distill_weight``."""
        self.teacher = teacher.eval()
        for p in self.teacher.parameters():
            p.requires_grad_(False)

    def forward(self, x):
        return self.net(x)

    def on_train_epoch_start(self) -> None:
        self.epoch_stats = EpochStats()
        self.start_epoch_clock()

    def training_step(self, batch, batch_idx):
        x, y = batch
        hp = self.hparams
        logits = self.net(x)
        loss = F.cross_entropy(logits, y, label_smoothing=hp.label_smoothing)
        if self.teacher is not None and hp.distill_weight > 0:
            with torch.no_grad():
                t_logits = self.teacher(x)
            t = hp.distill_temperature
            kd = F.kl_div(F.log_softmax(logits / t, 1), F.softmax(t_logits / t, 1), reduction="batchmean") * t * t
            loss = (1 - hp.distill_weight) * loss + hp.distill_weight * kd
        check_finite(loss, "retrain", self.global_step, self.current_epoch)
        self.epoch_stats.add(loss, logits, y)
        return loss

    def on_train_epoch_end(self) -> None:
        self.record_epoch({"epoch": self.current_epoch, **self.epoch_stats.summary(self),
                           "lr": self.optimizers().param_groups[0]["lr"]})

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.val_acc(self.net(x), y)
        self.log("val_acc", self.val_acc, on_epoch=True, prog_bar=True, logger=False)    # via the history

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.test_acc(self.net(x), y)
        self.log("test_acc", self.test_acc, on_epoch=True)

    def configure_optimizers(self):
        hp = self.hparams
        opt = sgd(self.net.parameters(), hp.lr, hp.momentum, hp.weight_decay, hp.nesterov)
        return {"optimizer": opt, "lr_scheduler": lr_schedule(opt, hp.schedule, hp.epochs, hp.milestones, hp.gamma)}

    def configure_gradient_clipping(self, optimizer, gradient_clip_val=None, gradient_clip_algorithm=None):
        if self.hparams.grad_clip:
            self.clip_gradients(optimizer, gradient_clip_val=self.hparams.grad_clip, gradient_clip_algorithm="norm")

    def on_save_checkpoint(self, checkpoint):
        checkpoint["retrain_history"] = self.history

    def on_load_checkpoint(self, checkpoint):
        self.history = checkpoint.get("retrain_history", [])

    def network_summary(self) -> dict:
        """Parameter count and per-image operation counts of the network."""
        counts = total_op_counts(self.net.layer_specs(batch=1))
        return {"params": sum(p.numel() for p in self.net.parameters()),
                **{f"{k}_ops": v for k, v in counts.items()}}
