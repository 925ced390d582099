"""Baselines for co-exploration, run by the same pipeline, and the matched-accuracy comparison.

* **Sequential** (NAS, then accelerator search): a network search on a fixed accelerator (the
  design space's ``reference_design``; :class:`CoExploreModule` with ``fixed_design``, so the loss
  and its ``lam`` are the same as co-exploration's), then the best accelerator for the network
  found, by exhaustive search of the design space (:func:`best_design`).
* **Plain search + accelerator search**: the training library's own search (its default cost),
  then the same exhaustive accelerator search.
* **Evolutionary co-exploration** (non-differentiable, the baseline of DANCE's time claim): aging
  evolution over (network, accelerator) pairs scored by the supernet and the exact cost
  (:mod:`.evolution`).
* **Exhaustive joint optimum**, where the space is small enough: every architecture (scored by
  the supernet's inherited weights) with its best accelerator (:func:`joint_optimum`).
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch

from .costtables import COSTS, CostTables, check_cost, cost_value


def best_design(tables: CostTables, arch: list[str], cost: str = "edap") -> dict:
    """The exhaustive best design point for a network, with its exact metrics and the search time."""
    check_cost(cost)
    t0 = time.perf_counter()
    idx, metrics = tables.best_design(tables.arch_indices(arch), cost)
    return {"arch": list(arch), "design": tables.ds.point(idx), "design_index": [int(i) for i in idx],
            "exact": metrics, "cost": cost, "cost_value": float(cost_value(metrics, cost)),
            "designs_searched": tables.ds.size, "seconds": time.perf_counter() - t0}


def design_sensitivity(tables: CostTables, n_archs: int = 100, seed: int = 0, costs=COSTS) -> dict:
    """How much the best accelerator depends on the network, per cost: for ``n_archs`` sampled
    networks, the exhaustive best design of each, how many distinct best designs there are, and
    what a network pays (cost ratio) on the best design of another network (the next one drawn).

    When every network has the same best design, a sequential search (network first, then the
    accelerator) loses nothing to co-exploration on the accelerator side."""
    from .dataset import sample_architectures
    archs = sample_architectures(tables.candidates, n_archs, np.random.default_rng(seed))
    designs = tables.ds.enumerate()
    metrics = [tables.costs(a, designs) for a in archs]
    out = {"n_archs": n_archs, "seed": seed, "designs": int(len(designs)), "costs": {}}
    for cost in costs:
        values = np.stack([cost_value(m, cost) for m in metrics])            # (archs, designs)
        best = values.argmin(1)
        own = values[np.arange(n_archs), best]
        other = values[np.arange(n_archs), np.roll(best, -1)] / own
        counts = np.bincount(best, minlength=len(designs))
        top = np.argsort(-counts)[:3]
        out["costs"][cost] = {
            "distinct_best_designs": int((counts > 0).sum()),
            "most_common_best": [{"design": tables.ds.point(designs[j]), "networks": int(counts[j])} for j in top
                                 if counts[j]],
            "other_networks_best_ratio_median": float(np.median(other)),
            "other_networks_best_ratio_max": float(other.max()),
            "spread_max_over_min_median": float(np.median(values.max(1) / own))}
    return out


def space_size(candidates: list) -> int:
    return math.prod(len(c) for c in candidates)


def enumerate_architectures(candidates: list, limit: int) -> np.ndarray:
    """Every architecture (op indices per layer), row-major; ``ValueError`` above ``limit``."""
    n = space_size(candidates)
    if n > limit:
        raise ValueError(f"the search space has {n} architectures, more than the limit of {limit}")
    grids = np.meshgrid(*[np.arange(len(c)) for c in candidates], indexing="ij")
    return np.stack([g.ravel() for g in grids], axis=1).astype(np.int64)


@torch.no_grad()
def supernet_accuracy(supernet, candidates: list, archs: np.ndarray, loader) -> np.ndarray:
    """Accuracy (fraction) of each architecture with the supernet's shared weights, on ``loader``."""
    supernet.eval()
    batches = [(x, y) for x, y in loader]
    out = np.empty(len(archs))
    for i, arch in enumerate(np.asarray(archs)):
        active = [[int(j)] for j in arch]
        correct = total = 0
        for x, y in batches:
            correct += int((supernet(x, active=active).argmax(1) == y).sum())
            total += len(y)
        out[i] = correct / max(total, 1)
    return out


def joint_optimum(tables: CostTables, archs: np.ndarray, accuracies: np.ndarray, cost: str = "edap",
                  min_accuracy: float | None = None) -> dict:
    """The exhaustive joint optimum over (architecture, design) pairs.

    Accuracy does not depend on the accelerator, so every architecture takes its best design;
    the optimum is the cheapest pair whose accuracy is at least ``min_accuracy`` (default: the
    best accuracy of any architecture), and the Pareto front of (accuracy, cost) is returned too.
    """
    check_cost(cost)
    archs = tables.check_archs(archs)
    acc = np.asarray(accuracies, dtype=np.float64)
    if len(acc) != len(archs):
        raise ValueError(f"got {len(acc)} accuracies for {len(archs)} architectures")
    designs = tables.ds.enumerate()
    best_idx, best_cost = np.empty(len(archs), dtype=np.int64), np.empty(len(archs))
    for i, a in enumerate(archs):
        c = cost_value(tables.costs(a, designs), cost)
        best_idx[i] = int(np.argmin(c))
        best_cost[i] = c[best_idx[i]]
    floor = float(acc.max()) if min_accuracy is None else float(min_accuracy)
    ok = np.nonzero(acc >= floor - 1e-12)[0]
    if len(ok) == 0:
        raise ValueError(f"no architecture reaches min_accuracy={min_accuracy}")
    j = ok[np.argmin(best_cost[ok])]
    order = np.lexsort((-acc, best_cost))
    front, best_acc = [], -np.inf
    for k in order:
        if acc[k] > best_acc:
            front.append(int(k))
            best_acc = acc[k]
    point = lambda k: {"arch": tables.arch_names(archs[k]), "accuracy": float(acc[k]),
                       "design": tables.ds.point(designs[best_idx[k]]), "cost_value": float(best_cost[k])}
    return {"cost": cost, "min_accuracy": floor, "pairs_searched": int(len(archs) * len(designs)),
            "optimum": point(j), "pareto_front": [point(k) for k in front]}


def matched_accuracy_comparison(coexplore: list, sequential: list, tolerance_points: float = 0.5,
                                key: str = "edap", baseline: str = "sequential") -> list:
    """For every baseline result (``sequential``), the cheapest co-exploration result whose accuracy
    is at most ``tolerance_points`` below it (accuracies in %, results as dicts with ``lam``,
    ``accuracy`` and ``key``).  ``ratio`` < 1 means co-exploration is cheaper at matched accuracy;
    ``None`` when no co-exploration result is accurate enough.  The baseline's fields are named
    after ``baseline`` (``sequential_lam``, ``evolutionary_lam``...)."""
    out = []
    for s in sequential:
        ok = [c for c in coexplore if c["accuracy"] >= s["accuracy"] - tolerance_points]
        best = min(ok, key=lambda c: c[key]) if ok else None
        out.append({f"{baseline}_lam": s["lam"], f"{baseline}_accuracy": s["accuracy"], baseline: s[key],
                    "coexplore_lam": best["lam"] if best else None,
                    "coexplore_accuracy": best["accuracy"] if best else None,
                    "coexplore": best[key] if best else None,
                    "ratio": best[key] / s[key] if best else None, "key": key})
    return out
