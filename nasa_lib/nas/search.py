"""Differentiable architecture search over the supernet, as a LightningModule (manual optimisation).

Each training step alternates (SOURCES.md [NASA-code] search.py, architect.py):

1. a **weight step** on a batch of the weight half: SGD on the supernet's weights, with the
   architecture sampled from the current alpha;
2. an **architecture step** on a batch of the architecture half: Adam on alpha, minimising
   ``CE + hw_weight * expected hardware cost``.

Modes:

* ``soft`` (FBNet): every candidate runs, mixed by Gumbel-softmax weights
  ``softmax((alpha + g) / tau)``;
* ``hard`` (ProxylessNAS): ``act_num`` candidates are drawn without replacement by the Gumbel
  top-k trick on ``alpha / tau``; only they run, weighted by the softmax of their alphas; after
  each architecture step the active logits are shifted so their log-sum-exp is unchanged (the
  logit offset correction), so candidates that did not run keep their probabilities.

The temperature is ``tau0 * tau_decay ** (epoch + tau_epoch_offset)``; the offset counts the
pretraining epochs, as in the NASA code.  The hardware cost of an op at a layer comes from a
per-layer table ``cost_table[layer][op]`` (default: MACs with the shift 1/8 and adder 1/5 discounts;
any table, e.g. energy in pJ from ``nasa_lib.hw``, can be passed).  With a target band
``cost_band = (lo, hi)`` the weight of the cost term is doubled after an epoch whose derived
architecture costs more than ``hi`` and halved after one that costs less than ``lo``.

All random draws come from generators seeded by (seed, step), identical on every DDP rank and
after a resume.
"""
from __future__ import annotations

import math

import pytorch_lightning as pl
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..space import FBNetLayout, Supernet, save_arch
from .common import (FLOPS_COST_UNIT, EpochHistory, EpochStats, batch_statistics_bn, check_finite, fixed_cost,
                     flops_cost_table, lr_schedule, sgd, step_generator)

SEARCH_MODES = ("soft", "hard")


class SearchModule(EpochHistory, pl.LightningModule):
    stage_name = "search"

    def __init__(self, space: str, layout: dict, epochs: int, mode: str = "soft", act_num: int = 2,
                 lr: float = 0.1, momentum: float = 0.9, weight_decay: float = 1e-4, grad_clip: float = 5.0,
                 arch_lr: float = 3e-4, arch_betas: tuple = (0.5, 0.999), arch_weight_decay: float = 0.0,
                 alpha_init: float = 1e-3, tau0: float = 5.0, tau_decay: float = 0.975, tau_epoch_offset: int = 0,
                 hw_weight: float = 1.2e-10, cost_band: tuple | None = (5e7, 1e8), cost_table: list | None = None,
                 cost_unit: str = FLOPS_COST_UNIT, adder_free_ends: int = 3, shift_mode: str = "q",
                 seed: int = 0, weight_sharing: str = "elastic"):
        super().__init__()
        if mode not in SEARCH_MODES:
            raise ValueError(f"search mode={mode!r} is not valid; valid values: {', '.join(SEARCH_MODES)}")
        if cost_band is not None and (len(cost_band) != 2 or not 0 <= cost_band[0] <= cost_band[1]):
            raise ValueError(f"cost_band={cost_band!r} is not valid; it must be null or [lo, hi] with 0 <= lo <= hi")
        self.save_hyperparameters(ignore=["cost_table"])
        self.automatic_optimization = False
        layout = FBNetLayout.from_dict(layout)
        self.supernet = Supernet(space, layout, adder_free_ends, shift_mode=shift_mode, weight_sharing=weight_sharing)
        self.candidates = self.supernet.candidates
        table = cost_table if cost_table is not None else flops_cost_table(space, layout, adder_free_ends)
        self.register_buffer("fixed_cost", torch.tensor(fixed_cost(layout) if cost_table is None else 0.0,
                                                        dtype=torch.float64), persistent=False)
        self.costs = nn.ParameterList()  # non-trainable: saved with the checkpoint, moved with the module
        for i, cands in enumerate(self.candidates):
            missing = [op for op in cands if op not in table[i]]
            if missing:
                raise ValueError(f"cost_table layer {i} lacks ops {missing}")
            self.costs.append(nn.Parameter(torch.tensor([float(table[i][op]) for op in cands]), requires_grad=False))
        self.alphas = nn.ParameterList(nn.Parameter(torch.full((len(c),), float(alpha_init))) for c in self.candidates)
        self.register_buffer("hw_weight", torch.tensor(float(hw_weight), dtype=torch.float64))
        self.alpha_history: list[list[list[float]]] = []
        self.history: list[dict] = []

    # ---- sampling ------------------------------------------------------------------------
    @property
    def tau(self) -> float:
        hp = self.hparams
        return hp.tau0 * hp.tau_decay ** (self.current_epoch + hp.tau_epoch_offset)

    def sample(self, generator: torch.Generator):
        """(weights per layer, active indices per layer or None) for one forward pass."""
        weights, active = [], []
        for alpha in self.alphas:
            u = torch.rand(alpha.shape, generator=generator).clamp_(1e-10, 1 - 1e-10).to(alpha.device)
            gumbel = -torch.log(-torch.log(u))
            if self.hparams.mode == "soft":
                weights.append(F.softmax((alpha + gumbel) / self.tau, dim=0))
                active.append(None)
            else:
                k = min(self.hparams.act_num, alpha.numel())
                idx = torch.topk(alpha.detach() / self.tau + gumbel, k).indices.sort().values
                w = torch.zeros_like(alpha)
                weights.append(w.index_put((idx,), F.softmax(alpha[idx], dim=0)))
                active.append(idx.tolist())
        return weights, (None if self.hparams.mode == "soft" else active)

    def expected_cost(self, weights) -> torch.Tensor:
        return sum((w * c).sum() for w, c in zip(weights, self.costs))

    # ---- architecture readout -----------------------------------------------------------
    def probabilities(self) -> list[list[float]]:
        return [F.softmax(a.detach().float(), 0).cpu().tolist() for a in self.alphas]

    def alpha_spread(self) -> dict:
        """How far alpha has left uniform, over the searchable layers: the mean normalised entropy of
        each layer's softmax (1 = uniform, 0 = one candidate certain) and the mean probability of
        each layer's most likely candidate (uniform: 1/n).  A search whose entropy stays near 1 has
        not decided anything: its argmax architecture is close to a random draw."""
        probs = [F.softmax(a.detach().double(), 0) for a in self.alphas]
        ent = [float(-(q * q.clamp_min(1e-300).log()).sum() / math.log(q.numel())) for q in probs if q.numel() > 1]
        return {"alpha_entropy": sum(ent) / len(ent) if ent else 0.0,
                "alpha_max_prob": sum(float(q.max()) for q in probs) / len(probs)}

    def derived_arch(self) -> list[str]:
        return [cands[int(a.argmax())] for cands, a in zip(self.candidates, self.alphas)]

    def derived_cost(self) -> float:
        """Cost of the argmax architecture, fixed layers (stem, header, classifier) included."""
        return float(sum(c[int(a.argmax())] for c, a in zip(self.costs, self.alphas)) + self.fixed_cost)

    def export(self, path, **meta) -> list[str]:
        arch = self.derived_arch()
        save_arch(path, arch, self.supernet.layout, space=self.supernet.space,
                  adder_free_ends=self.supernet.adder_free_ends, cost=self.derived_cost(),
                  cost_unit=self.hparams.cost_unit, probabilities=self.probabilities(), **meta)
        return arch

    # ---- steps ---------------------------------------------------------------------------
    def on_train_epoch_start(self) -> None:
        self.epoch_stats = EpochStats()
        self.arch_stats = EpochStats()
        self.start_epoch_clock()

    def training_step(self, batch, batch_idx):
        opt_w, opt_a = self.optimizers()
        hp, step = self.hparams, self.global_step
        (xw, yw), (xa, ya) = batch["weight"], batch["arch"]
        # weight step
        weights, active = self.sample(step_generator(hp.seed, step, salt=1))
        weights = [w.detach() for w in weights]
        logits = self.supernet(xw, weights=weights, active=active)
        loss_w = F.cross_entropy(logits, yw)
        check_finite(loss_w, "search (weight step)", step, self.current_epoch)
        opt_w.zero_grad()
        self.manual_backward(loss_w)
        self.clip_gradients(opt_w, gradient_clip_val=hp.grad_clip, gradient_clip_algorithm="norm")
        opt_w.step()
        self.epoch_stats.add(loss_w, logits, yw)
        # architecture step
        weights, active = self.sample(step_generator(hp.seed, step, salt=2))
        logits = self.supernet(xa, weights=weights, active=active)
        ce = F.cross_entropy(logits, ya)
        cost = self.expected_cost(weights)
        loss_a = ce + self.hw_weight.to(cost.dtype) * cost
        check_finite(loss_a, "search (architecture step)", step, self.current_epoch)
        old = [a.detach()[idx].clone() for a, idx in zip(self.alphas, active)] if active else None
        opt_a.zero_grad()
        self.manual_backward(loss_a)
        opt_a.step()
        if active:  # logit offset correction
            with torch.no_grad():
                for a, idx, before in zip(self.alphas, active, old):
                    a[idx] -= torch.logsumexp(a[idx], 0) - torch.logsumexp(before, 0)
        self.arch_stats.add(ce, logits, ya)

    def on_train_epoch_end(self) -> None:
        self.lr_schedulers().step()
        cost = self.derived_cost()
        band = self.hparams.cost_band
        if band is not None:
            if cost > band[1]:
                self.hw_weight *= 2
            elif cost < band[0]:
                self.hw_weight /= 2
        self.alpha_history.append(self.probabilities())
        record = {"epoch": self.current_epoch, "tau": self.tau, "derived_cost": cost,
                  "hw_weight": float(self.hw_weight), "arch": self.derived_arch(), **self.alpha_spread(),
                  **self.epoch_stats.summary(self),
                  **{"arch_" + k: v for k, v in self.arch_stats.summary(self).items()}}
        self.record_epoch(record)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        active = [[int(a.argmax())] for a in self.alphas]
        with batch_statistics_bn(self.supernet):
            acc = (self.supernet(x, active=active).argmax(1) == y).float().mean()
        self.log("val_acc", acc, on_epoch=True, prog_bar=True, sync_dist=True, logger=False)   # via the history

    def configure_optimizers(self):
        hp = self.hparams
        opt_w = sgd(self.supernet.parameters(), hp.lr, hp.momentum, hp.weight_decay)
        opt_a = torch.optim.Adam(self.alphas.parameters(), lr=hp.arch_lr, betas=tuple(hp.arch_betas),
                                 weight_decay=hp.arch_weight_decay)
        return [opt_w, opt_a], [lr_schedule(opt_w, "cosine", hp.epochs)]

    def on_save_checkpoint(self, checkpoint):
        checkpoint["alpha_history"] = self.alpha_history
        checkpoint["search_history"] = self.history

    def on_load_checkpoint(self, checkpoint):
        self.alpha_history = checkpoint.get("alpha_history", [])
        self.history = checkpoint.get("search_history", [])

    def load_supernet(self, state_dict: dict) -> None:
        """Start from pretrained supernet weights (a PGP checkpoint's ``supernet.*`` entries)."""
        sub = {k[len("supernet."):]: v for k, v in state_dict.items() if k.startswith("supernet.")}
        self.supernet.load_state_dict(sub or state_dict)
