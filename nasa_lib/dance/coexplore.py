"""Co-exploration: the search of the training library with the hardware term replaced by DANCE's.

:class:`CoExploreModule` is a :class:`nasa_lib.nas.SearchModule` whose architecture step
minimises ``CE + lam * term`` where the cost is the evaluator's cost of (the sampled network, an
accelerator sampled from the hardware generator given the architecture parameters), divided by
the geometric mean cost of the evaluator's training data ``ref`` (so ``lam`` is unitless), and

* ``cost_form="log"`` (default, ASSUMPTIONS ``cost_form``): ``term = log(cost / ref)``: the pull on
  the network is a *relative* cost change, the same whether the accelerator is large or small;
* ``cost_form="linear"``: ``term = cost / ref`` (DANCE's ``CE + lambda * cost`` as recalled); its
  pull on the network shrinks with the accelerator's cost, so a co-exploration that has found a
  small accelerator stops pressing on the network.

``cost`` is ``latency``, ``energy``, ``edp`` or ``edap``; with ``fixed_design`` the accelerator is
fixed (the first half of the sequential baseline) and there is no generator.

What the evaluator reads (``arch_input``, ASSUMPTIONS ``evaluator_input``): ``"sample"`` (default)
gives it the one-hot encoding of the sampled network (per layer the op with the largest sampled
weight: in soft mode a Gumbel-max sample of softmax(alpha)), with the sampled weights' gradient
(straight-through), so it reads inputs like its training data; ``"weights"`` gives it the sampled
weights themselves (mixtures it never saw in training).

Straight-through exact cost (``straight_through=True``): the sampled network and the sampled
accelerator are costed exactly by :class:`~nasa_lib.dance.costtables.CostTables`; the loss
carries that exact value while the gradient is the evaluator's (on the log:
``log_pred + (log_exact - log_pred).detach()``).  Where the exact cost is not finite (a design
that cannot run the network) the prediction is used and counted.

Gradients reach alpha twice: through the architecture encoding the evaluator reads, and through
the generator's input; the generator's parameters are trained by the same Adam step as alpha
(their own learning rate).  All random draws come from (seed, step)-seeded generators.
"""
from __future__ import annotations

import warnings

import numpy as np
import torch
import torch.nn.functional as F

from ..nas import SearchModule
from ..nas.common import step_generator
from ..space import save_arch
from .costtables import COST_METRICS, COST_UNITS, METRICS, CostTables, check_cost, cost_value
from .dataset import check_same_problem
from .design_space import DesignSpace
from .evaluator import DesignEncoder, Evaluator
from .generator import HardwareGenerator

_OWN = ("tables", "evaluator", "evaluator_meta")
COST_FORMS = ("log", "linear")
ARCH_INPUTS = ("sample", "weights")


class CoExploreModule(SearchModule):
    stage_name = "coexplore"
    shown_keys = ("train_loss", "val_acc", "derived_cost", "pred_error_percent", "tau")

    def __init__(self, space: str, layout: dict, epochs: int, *, tables: CostTables, evaluator: Evaluator,
                 evaluator_meta: dict | None = None, cost: str = "edap", lam: float = 1.0,
                 generator_hidden: int = 64, generator_lr: float = 1e-2, hw_tau: float = 1.0,
                 straight_through: bool = True, cost_form: str = "log", arch_input: str = "sample",
                 fixed_design: list | None = None, **search_kwargs):
        check_cost(cost)
        if cost_form not in COST_FORMS:
            raise ValueError(f"cost_form={cost_form!r} is not valid; valid values: {', '.join(COST_FORMS)}")
        if arch_input not in ARCH_INPUTS:
            raise ValueError(f"arch_input={arch_input!r} is not valid; valid values: {', '.join(ARCH_INPUTS)}")
        for bad in ("hw_weight", "cost_band", "cost_table", "cost_unit"):
            if bad in search_kwargs:
                raise ValueError(f"CoExploreModule sets {bad} itself (use lam= for the weight of the cost term)")
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam >= 0:
            raise ValueError(f"lam={lam!r} is not valid; it must be a number >= 0")
        if not hw_tau > 0:
            raise ValueError(f"hw_tau={hw_tau!r} is not valid; it must be > 0")
        with warnings.catch_warnings():   # Lightning warns that the evaluator is a module; it is popped below
            warnings.filterwarnings("ignore", ".*is an instance of `nn.Module`.*")
            super().__init__(space, layout, epochs, hw_weight=float(lam), cost_band=None,
                             cost_unit=f"{cost} ({COST_UNITS[cost]})", **search_kwargs)
        for key in _OWN:                      # big objects: not hyperparameters, not in checkpoints' hparams
            self._hparams.pop(key, None)
            getattr(self, "_hparams_initial", {}).pop(key, None)
        if tables.candidates != self.candidates or tables.layout.to_dict() != self.supernet.layout.to_dict():
            raise ValueError("tables were built for another search space or layout than this search")
        if evaluator_meta is not None:
            check_same_problem(evaluator_meta, tables, "the evaluator")
        self.tables = tables
        ds: DesignSpace = tables.ds
        arch_dim = sum(len(c) for c in self.candidates)
        self.design_encoder = DesignEncoder(ds)
        if (evaluator.arch_dim, evaluator.design_dim) != (arch_dim, self.design_encoder.size):
            raise ValueError(f"the evaluator reads {evaluator.arch_dim} + {evaluator.design_dim} inputs, this search "
                             f"gives {arch_dim} + {self.design_encoder.size}")
        # frozen; it has no dropout or batch norm, so train and eval modes agree (train() keeps Lightning quiet)
        self.evaluator = evaluator.requires_grad_(False).train()
        self.cost_idx = [METRICS.index(m) for m in COST_METRICS[cost]]
        self.register_buffer("log_ref", evaluator.target_mean[self.cost_idx].sum().detach().clone(), persistent=False)
        if fixed_design is None:
            self.fixed_design = None
            self.generator = HardwareGenerator(arch_dim, list(ds.cardinalities), generator_hidden)
        else:
            self.fixed_design = [int(i) for i in ds.check_points(fixed_design)[0]]
            self.generator = None
        self._reset_stats()
        self.cost_evaluations = 0     # pairs costed by the architecture steps (the evolutionary baseline's budget)

    # ---- the accelerator -------------------------------------------------------------------
    def arch_parameters(self) -> torch.Tensor:
        """The generator's input: per-layer softmax of alpha, concatenated."""
        return torch.cat([F.softmax(a, 0) for a in self.alphas])

    def sample_design(self, generator: torch.Generator) -> list:
        """One-hot per design dimension (straight-through samples, or the fixed design)."""
        if self.generator is None:
            dev = self.alphas[0].device
            return [F.one_hot(torch.tensor(i), n).float().to(dev)
                    for i, n in zip(self.fixed_design, self.tables.ds.cardinalities)]
        return self.generator.sample(self.arch_parameters(), self.hparams.hw_tau, generator)

    def derived_design(self) -> list[int]:
        if self.generator is None:
            return list(self.fixed_design)
        return self.generator.derive(self.arch_parameters().detach())

    # ---- the cost term ---------------------------------------------------------------------
    def predicted_log_cost(self, arch_weights: list, design_weights: list) -> torch.Tensor:
        """log(cost / reference) from the evaluator."""
        arch_enc = torch.cat(arch_weights).float()[None]
        design_enc = self.design_encoder([w.float() for w in design_weights])[None]
        return self.evaluator.log_metrics(arch_enc, design_enc)[0, self.cost_idx].sum() - self.log_ref

    def exact_cost(self, arch_idx, design_idx) -> float:
        """The exact cost (in its unit) of one (architecture, design) pair."""
        return float(cost_value(self.tables.costs(np.asarray(arch_idx), np.asarray(design_idx)), self.hparams.cost)[0])

    def expected_cost(self, weights) -> torch.Tensor:
        """The hardware term of the architecture loss (see the module docstring)."""
        hp = self.hparams
        design_w = self.sample_design(step_generator(hp.seed, self.global_step, salt=3))
        a_idx = [int(w.detach().argmax()) for w in weights]
        if hp.arch_input == "sample":
            weights = [F.one_hot(torch.tensor(i), len(w)).to(w) - w.detach() + w for i, w in zip(a_idx, weights)]
        log_cost = self.predicted_log_cost(weights, design_w)          # log(cost / ref)
        if hp.straight_through:
            d_idx = [int(w.detach().argmax()) for w in design_w]
            exact = self.exact_cost(a_idx, d_idx) / float(torch.exp(self.log_ref))
            if np.isfinite(exact) and exact > 0:
                self._stats["abs_err"] += abs(float(torch.exp(log_cost.detach())) / exact - 1)
                self._stats["n_exact"] += 1
                log_cost = log_cost + (float(np.log(exact)) - log_cost).detach()
            else:
                self._stats["infeasible"] += 1
        term = log_cost if hp.cost_form == "log" else torch.exp(log_cost)
        self._stats["cost_sum"] += float(torch.exp(log_cost.detach()))
        self._stats["n"] += 1
        self.cost_evaluations += 1
        return term

    def _reset_stats(self) -> None:
        self._stats = {"abs_err": 0.0, "n_exact": 0, "infeasible": 0, "cost_sum": 0.0, "n": 0}

    # ---- readout ---------------------------------------------------------------------------
    def derived_pair(self) -> dict:
        """The derived network (per-layer argmax) and accelerator, with exact and predicted metrics."""
        arch = self.derived_arch()
        a_idx = self.tables.arch_indices(arch)
        d_idx = np.asarray(self.derived_design())
        exact = {k: float(v[0]) for k, v in self.tables.costs(a_idx, d_idx).items()}
        dev = self.log_ref.device
        with torch.no_grad():
            a_w = [F.one_hot(torch.tensor(int(i)), len(c)).float().to(dev) for i, c in zip(a_idx, self.candidates)]
            d_w = [F.one_hot(torch.tensor(int(i)), n).float().to(dev)
                   for i, n in zip(d_idx, self.tables.ds.cardinalities)]
            logs = self.evaluator.log_metrics(torch.cat(a_w)[None], self.design_encoder(d_w)[None])[0]
        predicted = {m: float(torch.exp(v)) for m, v in zip(METRICS, logs)}
        return {"arch": arch, "design": self.tables.ds.point(d_idx), "design_index": [int(i) for i in d_idx],
                "exact": exact, "predicted": predicted, "cost": self.hparams.cost,
                "cost_value": float(cost_value(exact, self.hparams.cost))}

    def derived_cost(self) -> float:
        return float(cost_value(self.tables.costs(self.tables.arch_indices(self.derived_arch()),
                                                  np.asarray(self.derived_design())), self.hparams.cost)[0])

    def on_train_epoch_start(self) -> None:
        super().on_train_epoch_start()
        self._reset_stats()

    def on_train_epoch_end(self) -> None:
        s = self._stats
        self._epoch_extra = {"pred_error_percent": 100 * s["abs_err"] / max(1, s["n_exact"]),
                             "infeasible_samples": s["infeasible"], "mean_cost_ratio": s["cost_sum"] / max(1, s["n"])}
        super().on_train_epoch_end()
        pair = self.derived_pair()
        self.history[-1].update({"design": pair["design"], "exact": pair["exact"]})
        if self.generator is not None:
            self.history[-1]["design_probabilities"] = self.generator.probabilities(self.arch_parameters().detach())

    def record_epoch(self, record: dict) -> None:
        record.update(getattr(self, "_epoch_extra", {}))
        super().record_epoch(record)

    def export(self, path, **meta) -> list[str]:
        pair = self.derived_pair()
        save_arch(path, pair["arch"], self.supernet.layout, space=self.supernet.space, cost=pair["cost_value"],
                  cost_unit=self.hparams.cost_unit, probabilities=self.probabilities(), design=pair["design"],
                  design_space=self.tables.ds.name, exact=pair["exact"], predicted=pair["predicted"], **meta)
        return pair["arch"]

    def configure_optimizers(self):
        optimizers, schedulers = super().configure_optimizers()
        if self.generator is not None:
            optimizers[1].add_param_group({"params": list(self.generator.parameters()),
                                           "lr": self.hparams.generator_lr, "weight_decay": 0.0})
        return optimizers, schedulers
