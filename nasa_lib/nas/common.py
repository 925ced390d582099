"""Pieces every training module shares: step-seeded randomness, the non-finite loss guard,
optimisers and schedules, and the hardware-cost tables of the search."""
from __future__ import annotations

import contextlib
import math
import time

import torch

from ..layerspec import LayerSpec
from ..opkinds import layer_op_kinds
from ..space import FBNetLayout, candidate_layer_specs

SCHEDULES = ("cosine", "step", "constant")

# The NASA code's FLOPs discount per layer op, from the op-kind table: a shift layer costs 1/8 and
# an adder layer 1/5 of the multiplication layer of the same shape (SOURCES.md [NASA-code]
# operations_ws.py); residual adds are not counted.
FLOPS_DISCOUNT = {**{k.name: k.flops_discount for k in layer_op_kinds()}, "eltwise": 0.0}
# The unit of that cost, as the search records it: "MACs (shift x1/8, adder x1/5)".
FLOPS_COST_UNIT = "MACs ({})".format(", ".join(f"{k.name} x1/{round(1 / k.flops_discount)}"
                                               for k in layer_op_kinds() if k.flops_discount < 1))


def step_generator(seed: int, step: int, salt: int = 0) -> torch.Generator:
    """A generator that depends only on (seed, step, salt): identical on every DDP rank and
    after a resume, so sampled paths and Gumbel noise never depend on history."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7_919 + salt) % (2 ** 63 - 1))


def check_finite(loss: torch.Tensor, stage: str, step: int, epoch: int) -> None:
    if not torch.isfinite(loss).all():
        raise FloatingPointError(f"{stage}: non-finite loss ({loss.item()}) at step {step} (epoch {epoch}); "
                                 f"lower the learning rate or check the data")


def sgd(params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, nesterov: bool = False):
    return torch.optim.SGD(params, lr=lr,
                           momentum=momentum, weight_decay=weight_decay, nesterov=nesterov and momentum > 0)


def lr_schedule(optimizer, schedule: str, epochs: int, milestones=(), gamma: float = 0.1):
    """Learning-rate schedule over ``epochs`` scheduler steps (epochs, or training steps for a
    scheduler stepped per step): cosine to zero, steps at ``milestones``, or constant."""
    if schedule not in SCHEDULES:
        raise ValueError(f"schedule={schedule!r} is not valid; valid values: {', '.join(SCHEDULES)}")
    if schedule == "cosine":
        return torch.optim.lr_scheduler.LambdaLR(
            optimizer, lambda e: 0.5 * (1 + math.cos(math.pi * min(e, epochs) / max(1, epochs))))
    if schedule == "step":
        return torch.optim.lr_scheduler.MultiStepLR(optimizer, list(milestones), gamma)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda e: 1.0)


def flops_cost(specs: list[LayerSpec]) -> float:
    """Discounted multiply-accumulates of a list of layer specs (the NASA code's FLOPs cost)."""
    return float(sum(s.macs * FLOPS_DISCOUNT[s.op] for s in specs))


def flops_cost_table(space: str, layout: FBNetLayout, adder_free_ends: int = 3) -> list[dict[str, float]]:
    """Per searchable layer and candidate op, the discounted MACs per image (the default cost)."""
    return [{op: flops_cost(specs) for op, specs in layer.items()}
            for layer in candidate_layer_specs(space, layout, 1, adder_free_ends)]


def fixed_cost(layout: FBNetLayout) -> float:
    """The discounted MACs of what every architecture shares: stem, header and classifier."""
    from ..space import arch_layer_specs
    specs = arch_layer_specs(["skip"] * layout.num_layers, layout)
    return flops_cost([s for s in specs if not s.name.startswith("layer")])


@contextlib.contextmanager
def batch_statistics_bn(module: torch.nn.Module):
    """Evaluate with BatchNorm on batch statistics, leaving the running statistics untouched.

    A weight-sharing supernet's running statistics mix every path it trained, so a single path
    evaluated with them scores near chance; its batch statistics (evaluation batches are large)
    give the accuracy the path actually has, as BN recalibration would."""
    saved = []
    for m in module.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            saved.append((m, m.training, m.momentum))
            m.train()
            m.momentum = 0.0
    try:
        yield
    finally:
        for m, training, momentum in saved:
            m.train(training)
            m.momentum = momentum


class EpochHistory:
    """Mixin: ``record_epoch`` appends one record per epoch to ``self.history`` (saved in the
    checkpoint by the module) and prints one short line, so executed notebooks and CI logs stay
    small: ``[search] epoch 3/10  train_loss=0.412  val_acc=0.873  (12.3 s)``."""

    stage_name = "train"
    shown_keys = ("train_loss", "train_acc", "val_acc", "derived_cost", "tau")

    # Throughput counts the steps after the first few of each epoch: those include one-off work
    # (Triton compilation of a kernel's first shapes, cuDNN autotuning, data-loader start-up).
    throughput_warmup_steps = 10

    def start_epoch_clock(self) -> None:
        self._epoch_t0, self._train_t1, self._steady_from = time.perf_counter(), None, None

    def on_train_batch_end(self, outputs, batch, batch_idx) -> None:
        if batch_idx + 1 == self.throughput_warmup_steps:
            self._steady_from = (time.perf_counter(), self.train_images_this_epoch())

    def on_validation_epoch_start(self) -> None:
        # Lightning validates at the end of the training epoch: the training part ends here.
        if self.trainer.state.fn == "fit" and getattr(self, "_train_t1", 0) is None:
            self._train_t1 = time.perf_counter()

    def train_images_this_epoch(self) -> int:
        """Training images consumed this epoch on all ranks (weight and architecture batches)."""
        local = sum(getattr(self, name).count for name in ("epoch_stats", "arch_stats") if hasattr(self, name))
        return local * self.trainer.world_size

    def record_epoch(self, record: dict) -> None:
        metrics = self.trainer.callback_metrics
        if "val_acc" in metrics:
            record["val_acc"] = float(metrics["val_acc"])
        now = time.perf_counter()
        t0 = getattr(self, "_epoch_t0", now)
        record["epoch_seconds"] = now - t0
        # throughput of the training steps alone (validation excluded): reports/timing, not metrics
        t1 = getattr(self, "_train_t1", None) or now
        record["train_seconds"] = t1 - t0
        t_from, images_from = getattr(self, "_steady_from", None) or (t0, 0)
        record["train_images_per_s"] = (self.train_images_this_epoch() - images_from) / max(t1 - t_from, 1e-9)
        self.history.append(record)
        if self.trainer.global_rank == 0:
            shown = "  ".join(f"{k}={record[k]:.4g}" for k in self.shown_keys if isinstance(record.get(k), float))
            extra = f"  phase={record['phase']}" if "phase" in record else ""
            print(f"[{self.stage_name}] epoch {record['epoch'] + 1}/{self.trainer.max_epochs}  {shown}{extra}  "
                  f"({record['epoch_seconds']:.1f} s)", flush=True)


class EpochStats:
    """Running mean loss and accuracy over an epoch's training batches (all ranks combined)."""

    def __init__(self):
        self.loss_sum, self.correct, self.count, self.batches = 0.0, 0, 0, 0

    def add(self, loss: torch.Tensor, logits: torch.Tensor, targets: torch.Tensor) -> None:
        n = targets.numel()
        self.batches += 1
        self.loss_sum += float(loss.detach()) * n
        self.correct += int((logits.detach().argmax(1) == targets).sum())
        self.count += n

    def summary(self, module=None) -> dict:
        totals = torch.tensor([self.loss_sum, float(self.correct), float(self.count)], dtype=torch.float64)
        if module is not None and module.trainer is not None and module.trainer.world_size > 1:
            totals = module.all_gather(totals.to(module.device)).sum(0).cpu()
        loss_sum, correct, count = totals.tolist()
        return {"train_loss": loss_sum / max(count, 1), "train_acc": correct / max(count, 1)}
