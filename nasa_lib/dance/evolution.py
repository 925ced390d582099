"""Non-differentiable co-exploration: regularized (aging) evolution over (network, accelerator) pairs.

The baseline DANCE compares its time against: a black-box search of the joint space that scores
each candidate pair directly (Real et al., "Regularized Evolution for Image Classifier
Architecture Search", AAAI 2019, applied to pairs).  One **evaluation** is one (architecture,
design) pair: one accuracy score (the pretrained supernet's inherited weights on the validation
loader, the scorer of the exhaustive joint optimum, :func:`.baselines.supernet_accuracy`) and
one exact cost lookup (:meth:`.costtables.CostTables.costs`).

Fitness (maximised), the analogue of co-exploration's architecture loss ``CE + lam * term``
(:mod:`.coexplore`) with the accuracy in place of the cross-entropy::

    fitness = acc - lam * log(cost / ref)     (cost_form "log", the default)
    fitness = acc - lam * cost / ref          (cost_form "linear")

``acc`` is the supernet's validation accuracy as a fraction (0..1), ``cost`` the exact cost
(``latency``, ``energy``, ``edp`` or ``edap``) of the pair and ``ref`` the same reference as
co-exploration's (the geometric-mean cost of the evaluator's data set), so ``lam`` means the same
pull toward cheap pairs in both searches.  A pair whose exact cost is not finite (a design that
cannot run the network) has fitness ``-inf``.

The search (aging evolution): ``population`` random pairs (uniform op per layer, uniform value
per design dimension); then, until ``evaluations`` pairs have been evaluated, draw ``sample_size``
members of the population at random, take the fittest as parent, mutate one position -- one
layer's op or one design dimension's value, chosen uniformly among the positions that have more
than one value, and set to another value uniformly -- evaluate the child, add it and remove the
*oldest* member.  The result is the fittest pair of the whole history (ties: the earliest).
Every draw comes from ``numpy.random.default_rng(seed)``, so a seed gives one result.  Exactly
``evaluations`` pairs are evaluated (a pair seen before still counts as an evaluation; its
accuracy is cached, since the supernet's score of a network does not change).
"""
from __future__ import annotations

import math
import time
from collections import deque
from typing import Callable

import numpy as np

from .coexplore import COST_FORMS
from .costtables import CostTables, check_cost, cost_value


def pair_fitness(accuracy: float, cost: float, lam: float, ref: float, cost_form: str = "log") -> float:
    """``accuracy - lam * log(cost / ref)`` (``"log"``) or ``accuracy - lam * cost / ref`` (``"linear"``);
    ``-inf`` where the cost is not finite and positive."""
    if cost_form not in COST_FORMS:
        raise ValueError(f"cost_form={cost_form!r} is not valid; valid values: {', '.join(COST_FORMS)}")
    if not (math.isfinite(cost) and cost > 0):
        return -math.inf
    term = math.log(cost / ref) if cost_form == "log" else cost / ref
    return float(accuracy) - float(lam) * term


def _finite(x: float) -> float | None:
    """JSON has no infinity: a non-finite value is written as null."""
    return float(x) if math.isfinite(x) else None


class EvolutionarySearch:
    """Regularized evolution over (architecture, design) pairs (see the module docstring).

    ``score(archs)`` takes an (n, layers) array of op indices and returns their accuracies
    (fractions); the stage passes the supernet's validation accuracy."""

    def __init__(self, tables: CostTables, score: Callable[[np.ndarray], np.ndarray], *, lam: float, ref: float,
                 cost: str = "edap", cost_form: str = "log", evaluations: int = 100, population: int = 20,
                 sample_size: int = 5, seed: int = 0):
        check_cost(cost)
        if cost_form not in COST_FORMS:
            raise ValueError(f"cost_form={cost_form!r} is not valid; valid values: {', '.join(COST_FORMS)}")
        if isinstance(lam, bool) or not isinstance(lam, (int, float)) or not lam >= 0:
            raise ValueError(f"lam={lam!r} is not valid; it must be a number >= 0")
        if not (isinstance(ref, (int, float)) and math.isfinite(ref) and ref > 0):
            raise ValueError(f"ref={ref!r} is not valid; it must be a finite number > 0")
        for name, v, lo in (("evaluations", evaluations, 1), ("population", population, 1),
                            ("sample_size", sample_size, 1)):
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < lo:
                raise ValueError(f"{name}={v!r} is not valid; it must be an integer >= {lo}")
        if sample_size > population:
            raise ValueError(f"sample_size={sample_size} is larger than population={population}")
        self.tables, self.score = tables, score
        self.lam, self.ref, self.cost, self.cost_form = float(lam), float(ref), cost, cost_form
        self.evaluations, self.population, self.sample_size = int(evaluations), int(population), int(sample_size)
        self.seed = int(seed)
        self.arch_sizes = [len(c) for c in tables.candidates]
        self.design_sizes = [int(n) for n in tables.ds.cardinalities]
        # mutable positions: (kind, index) with more than one value
        self.positions = ([("arch", i) for i, n in enumerate(self.arch_sizes) if n > 1]
                          + [("design", j) for j, n in enumerate(self.design_sizes) if n > 1])
        self._acc_cache: dict[tuple, float] = {}
        self.history: list[dict] = []

    # ---- one evaluation ------------------------------------------------------------------------
    def _accuracy(self, arch: tuple) -> float:
        if arch not in self._acc_cache:
            self._acc_cache[arch] = float(np.asarray(self.score(np.asarray([arch], dtype=np.int64)))[0])
        return self._acc_cache[arch]

    def evaluate(self, arch: tuple, design: tuple) -> dict:
        """One pair evaluation: its accuracy score and its exact cost (counted in ``history``)."""
        if len(self.history) >= self.evaluations:
            raise RuntimeError(f"the budget of {self.evaluations} evaluations is spent")
        acc = self._accuracy(arch)
        c = float(cost_value(self.tables.costs(np.asarray(arch), np.asarray(design)), self.cost)[0])
        rec = {"evaluation": len(self.history), "arch": tuple(arch), "design": tuple(design), "accuracy": acc,
               "cost_value": c, "fitness": pair_fitness(acc, c, self.lam, self.ref, self.cost_form)}
        self.history.append(rec)
        return rec

    # ---- the search ----------------------------------------------------------------------------
    def _random_pair(self, rng) -> tuple[tuple, tuple]:
        return (tuple(int(rng.integers(n)) for n in self.arch_sizes),
                tuple(int(rng.integers(n)) for n in self.design_sizes))

    def mutate(self, arch: tuple, design: tuple, rng) -> tuple[tuple, tuple]:
        """One layer's op or one design dimension's value, set to another value."""
        if not self.positions:
            return arch, design
        kind, i = self.positions[int(rng.integers(len(self.positions)))]
        vals = list(arch if kind == "arch" else design)
        n = (self.arch_sizes if kind == "arch" else self.design_sizes)[i]
        new = int(rng.integers(n - 1))
        vals[i] = new + (new >= vals[i])          # uniform over the other n - 1 values
        return (tuple(vals), design) if kind == "arch" else (arch, tuple(vals))

    def run(self) -> dict:
        rng = np.random.default_rng(self.seed)
        t0 = time.perf_counter()
        pop: deque = deque()
        while len(self.history) < min(self.population, self.evaluations):
            pop.append(self.evaluate(*self._random_pair(rng)))
        while len(self.history) < self.evaluations:
            members = [pop[int(k)] for k in sorted(rng.choice(len(pop), self.sample_size, replace=False))]
            parent = max(members, key=lambda r: r["fitness"])        # ties: the oldest of the sample
            pop.append(self.evaluate(*self.mutate(parent["arch"], parent["design"], rng)))
            pop.popleft()
        seconds = time.perf_counter() - t0
        return self.result(seconds)

    def best(self) -> dict:
        return max(self.history, key=lambda r: (r["fitness"], -r["evaluation"]))

    def result(self, seconds: float = float("nan")) -> dict:
        """The fittest pair of the history, in the stage's format (plus the search's own numbers)."""
        tables, b = self.tables, self.best()
        exact = {k: float(v[0]) for k, v in tables.costs(np.asarray(b["arch"]), np.asarray(b["design"])).items()}
        return {"arch": tables.arch_names(np.asarray(b["arch"])), "design": tables.ds.point(np.asarray(b["design"])),
                "design_index": [int(i) for i in b["design"]], "exact": exact, "cost": self.cost,
                "cost_value": float(cost_value(exact, self.cost)), "accuracy": b["accuracy"],
                "fitness": _finite(b["fitness"]), "found_at_evaluation": b["evaluation"],
                "evaluations": len(self.history), "distinct_archs_scored": len(self._acc_cache),
                "distinct_pairs": len({(r["arch"], r["design"]) for r in self.history}), "seconds": seconds}

    def trace(self) -> list[dict]:
        """Per evaluation: the pair's accuracy, cost and fitness, and the best fitness so far."""
        out, best = [], -math.inf
        for r in self.history:
            best = max(best, r["fitness"])
            out.append({"evaluation": r["evaluation"], "accuracy": r["accuracy"], "cost_value": _finite(r["cost_value"]),
                        "fitness": _finite(r["fitness"]), "best_fitness": _finite(best)})
        return out


def evolutionary_search(tables: CostTables, score, **kwargs) -> tuple[dict, list[dict]]:
    """Run :class:`EvolutionarySearch`; returns (result, per-evaluation trace)."""
    search = EvolutionarySearch(tables, score, **kwargs)
    result = search.run()
    return result, search.trace()
