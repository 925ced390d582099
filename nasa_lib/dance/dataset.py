"""The evaluator's data set: (architecture, accelerator) -> (latency, energy, area), costed exactly.

Architectures are sampled from a search space, accelerators from a design space, and every pair
is costed by :class:`nasa_lib.dance.costtables.CostTables` (the mapper's own per-layer tables,
built in parallel over the machine's cores).  Sampling (our choice, not DANCE's; ASSUMPTIONS
``dataset_sampling``):

* each architecture first draws preferences over the operator kinds of the space (mult, shift,
  adder, shiftadd, skip) from a flat Dirichlet, then at every layer an op with probability
  proportional to its kind's preference, shared equally among that kind's ops there; so the set
  holds near-uniform hybrids as well as nearly all-conv, all-skip or all-shift networks, which
  the search visits at its extremes;
* each architecture is paired with ``designs_per_arch`` design points drawn uniformly;
* architectures (with all their pairs) are split into train / val / test, so held-out errors are
  measured on networks the evaluator never saw.

Every random draw comes from one ``numpy`` generator seeded by ``seed`` in the main process; the
workers only build cost tables, which are pure functions, so the rows are the same whatever the
number of workers.  Pairs a design cannot run (a layer no mapping fits) are dropped and counted.

The file is an ``.npz`` written with fixed zip timestamps, so the same seed gives the same bytes
(DVC sees an unchanged output).
"""
from __future__ import annotations

import io
import json
import os
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..ops.registry import get_op
from .costtables import METRICS, CostTables

SPLITS = ("train", "val", "test")


def arch_encoding(candidates: list, archs: np.ndarray) -> np.ndarray:
    """One-hot rows: per searchable layer, one entry per candidate op there, concatenated."""
    archs = np.asarray(archs, dtype=np.int64).reshape(-1, len(candidates))
    out = np.zeros((len(archs), sum(len(c) for c in candidates)), dtype=np.float32)
    offset = 0
    for i, ops in enumerate(candidates):
        out[np.arange(len(archs)), offset + archs[:, i]] = 1.0
        offset += len(ops)
    return out


def sample_architectures(candidates: list, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` architectures (op indices per layer) with kind preferences (see the module docstring)."""
    kinds = sorted({get_op(op).kind for ops in candidates for op in ops})
    kind_of = [np.array([kinds.index(get_op(op).kind) for op in ops]) for ops in candidates]
    prefs = rng.dirichlet(np.ones(len(kinds)), size=n)                      # (n, kinds)
    out = np.empty((n, len(candidates)), dtype=np.int64)
    for i, k in enumerate(kind_of):
        counts = np.bincount(k, minlength=len(kinds))
        p = prefs[:, k] / counts[k]                                          # (n, ops)
        p = p / p.sum(1, keepdims=True)
        u = rng.random(n)[:, None]
        out[:, i] = np.minimum((np.cumsum(p, 1) < u).sum(1), len(k) - 1)
    return out


@dataclass
class DanceDataset:
    """Rows of (architecture op indices, design value indices) -> metrics, with a split per row."""
    archs: np.ndarray        # (N, layers) int
    designs: np.ndarray      # (N, dimensions) int
    metrics: np.ndarray      # (N, 3): latency_ms, energy_uj, area_mm2
    split: np.ndarray        # (N,) 0 train, 1 val, 2 test
    meta: dict = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.archs)

    def rows(self, split: str) -> np.ndarray:
        if split not in SPLITS:
            raise ValueError(f"split={split!r} is not valid; valid values: {', '.join(SPLITS)}")
        return np.nonzero(self.split == SPLITS.index(split))[0]

    def metric(self, name: str) -> np.ndarray:
        return self.metrics[:, METRICS.index(name)]

    def save(self, path) -> None:
        """Write an ``.npz`` with fixed timestamps (identical bytes for identical content), atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        arrays = {"archs": self.archs.astype(np.int16), "designs": self.designs.astype(np.int16),
                  "metrics": self.metrics.astype(np.float64), "split": self.split.astype(np.int8),
                  "meta": np.frombuffer(json.dumps(self.meta, sort_keys=True).encode(), dtype=np.uint8)}
        tmp = path.with_suffix(path.suffix + ".tmp")
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for name, arr in arrays.items():
                buf = io.BytesIO()
                np.lib.format.write_array(buf, np.ascontiguousarray(arr), version=(1, 0), allow_pickle=False)
                info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                zf.writestr(info, buf.getvalue())
        os.replace(tmp, path)

    @classmethod
    def load(cls, path) -> "DanceDataset":
        if not Path(path).exists():
            raise ValueError(f"DANCE data set {str(path)!r} does not exist; run the dance_dataset stage first")
        with np.load(path, allow_pickle=False) as z:
            meta = json.loads(bytes(z["meta"]).decode())
            return cls(z["archs"].astype(np.int64), z["designs"].astype(np.int64), z["metrics"],
                       z["split"].astype(np.int64), meta)


def problem_meta(tables: CostTables) -> dict:
    """What identifies the (search space, layout, design space) a data set or evaluator belongs to."""
    return {"space": tables.space, "layout": tables.layout.to_dict(), "adder_free_ends": tables.adder_free_ends,
            "design_space": tables.ds.describe(), "candidates": tables.candidates}


def check_same_problem(meta: dict, tables: CostTables, what: str) -> None:
    mine = problem_meta(tables)
    for key in ("space", "layout", "adder_free_ends", "candidates", "design_space"):
        if json.loads(json.dumps(meta.get(key))) != json.loads(json.dumps(mine[key])):
            raise ValueError(f"{what} was made for another {key.replace('_', ' ')} "
                             f"({json.dumps(meta.get(key))[:80]}...); rebuild it for this one")


def generate_dataset(tables: CostTables, n_archs: int, designs_per_arch: int, seed: int,
                     val_fraction: float = 0.1, test_fraction: float = 0.1) -> DanceDataset:
    """Sample and cost ``n_archs x designs_per_arch`` pairs (see the module docstring)."""
    for name, value, low in (("n_archs", n_archs, 3), ("designs_per_arch", designs_per_arch, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name}={value!r} must be an integer >= {low}")
    for name, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not 0 < value < 1:
            raise ValueError(f"{name}={value!r} must be in (0, 1)")
    if val_fraction + test_fraction >= 1:
        raise ValueError(f"val_fraction + test_fraction must be < 1, got {val_fraction} + {test_fraction}")
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    archs = sample_architectures(tables.candidates, n_archs, rng)
    designs = tables.ds.sample(n_archs * designs_per_arch, rng)
    order = rng.permutation(n_archs)
    n_test = max(1, round(test_fraction * n_archs))
    n_val = max(1, round(val_fraction * n_archs))
    arch_split = np.zeros(n_archs, dtype=np.int64)
    arch_split[order[:n_test]] = 2
    arch_split[order[n_test:n_test + n_val]] = 1
    rep = np.repeat(archs, designs_per_arch, axis=0)
    split = np.repeat(arch_split, designs_per_arch)
    m = tables.costs(rep, designs)
    metrics = np.stack([m[k] for k in METRICS], axis=1)
    ok = np.isfinite(metrics).all(1)
    meta = {**problem_meta(tables), "seed": seed, "n_archs": n_archs, "designs_per_arch": designs_per_arch,
            "val_fraction": val_fraction, "test_fraction": test_fraction, "metrics": list(METRICS),
            "units": {"latency_ms": "ms per image", "energy_uj": "uJ per image", "area_mm2": "mm^2"},
            "rows": int(ok.sum()), "dropped_infeasible": int((~ok).sum()),
            "distinct_designs": int(len(np.unique(designs[ok], axis=0)))}
    ds = DanceDataset(rep[ok], designs[ok], metrics[ok], split[ok], meta)
    ds.timing = {"generate_seconds": time.perf_counter() - t0, "tables_seconds": tables.build_seconds,
                 "workers": tables.workers}
    return ds
