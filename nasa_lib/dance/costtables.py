"""Exact hardware costs of (architecture, design point) pairs: the ground truth of DANCE.

``nasa_lib.hw`` is the "hardware evaluation software".  Mapping a whole network from scratch
takes seconds, far too slow for a data set of tens of thousands of pairs or for a cost per search
step, but its costs decompose: ``map_network`` with a given PE split and dataflows gives every
layer its best tiling for the layer's chunk, that chunk's PEs, buffer share and dataflow
(:func:`nasa_lib.hw.layer_table`, one table per layer over every PE count and buffer share), then

    energy   = sum over layers,
    latency  = max(max over chunks of the sum of the chunk's layer latencies,
                   all DRAM bits / DRAM bandwidth)                               (cycles),
    area     = PEs built x PE area (with its register files) + buffer KB x SRAM area.

:class:`CostTables` therefore builds, once per (search space, layout, design space), a table per
*item* (the fixed stem / header / classifier, and every candidate op at every searchable layer)
over the design resources (register-file variant, dataflow, buffer share, PE count, per chunk),
and then costs any batch of pairs by gathers and sums in numpy.  The layer tables are built in
parallel over worker processes; every table is a pure function of its layer and resources, so the
result does not depend on the number of workers.  ``test_dance_costs.py`` checks the sums against
``map_network`` itself, under the cost model's per-layer setting (:data:`COST_MODEL`).

The buffer is split like ``map_network(pe_split={...})`` does: among the chunks that have work
in the network, in ``buffer_units`` equal parts, in proportion to their PEs (largest remainders);
a chunk the network leaves idle still has its PEs built (area) but gets no buffer.
"""
from __future__ import annotations

import dataclasses
import multiprocessing
import time

import numpy as np

from ..hw import DATAFLOW_NAMES, PER_LAYER, layer_table, largest_remainder
from ..hw.mapper import chunk_for
from ..io import default_workers
from ..space import FBNetLayout, arch_layer_specs, candidate_layer_specs, layer_candidates
from .design_space import DesignSpace, load_design_space

METRICS = ("latency_ms", "energy_uj", "area_mm2")
# The cost model's switches DANCE's ground truth uses: the per-layer-decomposable setting (no
# inter-layer reuse, no leakage, flat PE pool, psums at the data width, physical PE count), the
# only one whose network cost is a sum of per-layer table entries (dance/assumptions.py says so).
COST_MODEL = PER_LAYER
COSTS = ("latency", "energy", "edp", "edap")
COST_METRICS = {"latency": ("latency_ms",), "energy": ("energy_uj",), "edp": ("energy_uj", "latency_ms"),
                "edap": ("energy_uj", "latency_ms", "area_mm2")}
COST_UNITS = {"latency": "ms", "energy": "uJ", "edp": "uJ*ms", "edap": "uJ*ms*mm^2"}


def check_cost(cost: str) -> str:
    if cost not in COSTS:
        raise ValueError(f"cost={cost!r} is not valid; valid values: {', '.join(COSTS)}")
    return cost


def cost_value(metrics: dict, cost: str):
    """latency (ms), energy (uJ), EDP (uJ*ms) or EDAP (uJ*ms*mm^2) from per-pair metrics."""
    out = 1.0
    for m in COST_METRICS[check_cost(cost)]:
        out = out * metrics[m]
    return out


# ---- the per-layer tables (worker side) -----------------------------------------------------------
_WORK: dict = {}


def _table_job(job: tuple) -> tuple:
    """Energy (pJ), latency (cycles) and DRAM bits of one layer on one chunk of one variant, for
    every dataflow x buffer cap x PE count of the grids: three arrays (F, K, P)."""
    spec, variant, chunk_name = job
    accel = _WORK["variants"][variant]
    chunk = accel.chunk(chunk_name)
    caps, pes, flows, objective = _WORK["caps"], _WORK["pes"], _WORK["flows"], _WORK["objective"]
    out = np.empty((3, len(flows), len(caps), len(pes)))
    for f, df in enumerate(flows):
        if spec.op == "eltwise" and f > 0:      # a residual add has no dataflow: one table serves all
            out[:, f] = out[:, 0]
            continue
        tab = layer_table(spec, accel, chunk, "RS" if spec.op == "eltwise" else df, objective, caps, max(pes),
                          COST_MODEL)
        for m, arr in enumerate((tab.energy, tab.latency, tab.dram_bits)):
            out[m, f] = arr[:, list(pes)]
    return out


def _init_worker(work: dict) -> None:
    _WORK.clear()
    _WORK.update(work)


def _run_jobs(jobs: list, work: dict, workers: int) -> list:
    if workers <= 1 or len(jobs) < 2:
        _init_worker(work)
        return [_table_job(j) for j in jobs]
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    with ctx.Pool(min(workers, len(jobs)), initializer=_init_worker, initargs=(work,)) as pool:
        return pool.map(_table_job, jobs, chunksize=max(1, len(jobs) // (8 * workers)))


# ---- the tables ------------------------------------------------------------------------------------
class CostTables:
    """Exact (mapper) costs of every (architecture, design point) pair of a search space x design space.

    ``arch`` arrays hold, per searchable layer, the index of the op in that layer's candidate list
    (``self.candidates``); design arrays hold value indices per design dimension.
    """

    def __init__(self, space: str, layout: FBNetLayout, design_space, adder_free_ends: int = 3,
                 workers: int | None = None):
        t0 = time.perf_counter()
        self.space, self.layout, self.adder_free_ends = space, layout, adder_free_ends
        self.ds: DesignSpace = load_design_space(design_space)
        self.candidates = layer_candidates(space, layout.num_layers, adder_free_ends)
        self.workers = default_workers() if workers is None else int(workers)
        if self.workers < 1:
            raise ValueError(f"workers={workers!r} must be a positive integer")
        ds = self.ds
        self.chunks = ds.chunk_names
        # resource grids
        if ds.template == "eyeriss":
            rf = ds.dim("register_file").values
            self.variants = [ds.base.replace(**{f"rf_{k}": v for k, v in r}) for r in rf]
            pe_values = sorted({a * b for a in ds.dim("pe_rows").values for b in ds.dim("pe_cols").values})
            flow_dims = ["dataflow"]
        else:
            self.variants = [ds.base]
            pe_values = sorted({n for split in ds.dim("pe_split").values for _, n in split})
            flow_dims = [f"dataflow_{c}" for c in self.chunks]
        self.pe_grid = tuple(pe_values)
        used = {v for d in flow_dims for v in ds.dim(d).values}
        self.flows = tuple(f for f in DATAFLOW_NAMES if f in used)
        gbs = [int(round(kb * 1024)) for kb in ds.dim("global_buffer_kb").values]
        units = ds.buffer_units
        self.caps = tuple(sorted({u * gb / units for gb in gbs for u in range(1, units + 1)}))
        self._cap_index = np.array([[self.caps.index(u * gb / units) if u else 0 for u in range(units + 1)]
                                    for gb in gbs], dtype=np.int64)          # (gb value, units) -> cap
        self._pe_index = {n: i for i, n in enumerate(self.pe_grid)}
        self._design_maps()
        # items: the fixed layers and every candidate op of every layer, as layer specs with chunks
        every = arch_layer_specs(["skip"] * layout.num_layers, layout)
        fixed = [s for s in every if not s.name.startswith("layer")]
        cand_specs = candidate_layer_specs(space, layout, 1, adder_free_ends)
        items = [("fixed", fixed)] + [((i, op), cand_specs[i][op]) for i, ops in enumerate(self.candidates)
                                      for op in ops]
        jobs, job_of, item_layers = [], {}, []
        for _key, specs in items:
            layers, previous = [], None
            for s in specs:
                chunk = chunk_for(s, ds.base, previous if s.op == "eltwise" else None).name
                previous = chunk
                for v in range(len(self.variants)):
                    key = (dataclasses.replace(s, name="layer", meta={}), v, chunk)
                    if key not in job_of:
                        job_of[key] = len(jobs)
                        jobs.append(key)
                    layers.append((self.chunks.index(chunk), v, job_of[key]))
            item_layers.append(layers)
        work = {"variants": self.variants, "caps": self.caps, "pes": self.pe_grid, "flows": self.flows,
                "objective": ds.mapping_objective}
        results = _run_jobs(jobs, work, self.workers)
        shape = (3, len(self.chunks), len(self.variants), len(self.flows), len(self.caps), len(self.pe_grid))
        tables, masks = [], []
        for layers in item_layers:
            t = np.zeros(shape)
            mask = 0
            for c, v, j in layers:
                t[:, c, v] += results[j]
                mask |= 1 << c
            tables.append(t)
            masks.append(mask)
        self.fixed_table, self.fixed_mask = tables[0], masks[0]
        self.slot_tables, self.slot_masks, k = [], [], 1
        for ops in self.candidates:
            self.slot_tables.append(np.stack(tables[k:k + len(ops)]))     # (ops, 3, C, V, F, K, P)
            self.slot_masks.append(np.asarray(masks[k:k + len(ops)], dtype=np.int64))
            k += len(ops)
        self.n_layer_tables = len(jobs)
        # area depends on the design only: once per design point, looked up by flat index
        self._area = ds.area_mm2(ds.enumerate()) if ds.size <= 1_000_000 else None
        self.build_seconds = time.perf_counter() - t0

    # ---- design resources ----------------------------------------------------------------
    def _design_maps(self) -> None:
        """Per design dimension, arrays mapping value indices to table axes."""
        ds = self.ds
        flow_axis = {f: i for i, f in enumerate(self.flows)}
        if ds.template == "eyeriss":
            rows, cols = ds.dim("pe_rows").values, ds.dim("pe_cols").values
            self._pes_eyeriss = np.array([[r * c for c in cols] for r in rows], dtype=np.int64)
            self._flow_of = [np.array([flow_axis[f] for f in ds.dim("dataflow").values])]
        else:
            splits = ds.dim("pe_split").values
            self._split_pes = np.array([[n for _, n in s] for s in splits], dtype=np.int64)   # (splits, C)
            self._flow_of = [np.array([flow_axis[f] for f in ds.dim(f"dataflow_{c}").values]) for c in self.chunks]
            # buffer units per (split, busy mask, chunk), as map_network splits the buffer
            n_masks = 1 << len(self.chunks)
            units = np.zeros((len(splits), n_masks, len(self.chunks)), dtype=np.int64)
            for s, pes in enumerate(self._split_pes):
                for mask in range(1, n_masks):
                    busy = [c for c in range(len(self.chunks)) if mask >> c & 1]
                    for c, u in zip(busy, largest_remainder([int(pes[c]) for c in busy], ds.buffer_units)):
                        units[s, mask, c] = u
            self._split_units = units

    def resource_indices(self, designs: np.ndarray, busy_mask: np.ndarray) -> tuple:
        """Table indices (variant (N,), dataflow (N, C), cap (N, C), PE (N, C)) of design points."""
        ds, d = self.ds, self.ds.check_points(designs)
        n, names = len(d), self.ds.names
        col = {name: d[:, j] for j, name in enumerate(names)}
        gb = col["global_buffer_kb"]
        to_pe = np.vectorize(self._pe_index.__getitem__, otypes=[np.int64])
        if ds.template == "eyeriss":
            variant = col["register_file"]
            flow = self._flow_of[0][col["dataflow"]][:, None]
            cap = self._cap_index[gb, ds.buffer_units][:, None]
            pe = to_pe(self._pes_eyeriss[col["pe_rows"], col["pe_cols"]])[:, None]
            return variant, flow, cap, pe
        variant = np.zeros(n, dtype=np.int64)
        flow = np.stack([self._flow_of[c][col[f"dataflow_{name}"]] for c, name in enumerate(self.chunks)], axis=1)
        split = col["pe_split"]
        units = self._split_units[split, np.asarray(busy_mask, dtype=np.int64)]          # (N, C)
        cap = self._cap_index[gb[:, None], units]
        pe = to_pe(self._split_pes[split])
        return variant, flow, cap, pe

    # ---- costs ---------------------------------------------------------------------------
    def check_archs(self, archs) -> np.ndarray:
        a = np.asarray(archs, dtype=np.int64)
        if a.ndim == 1:
            a = a[None]
        if a.ndim != 2 or a.shape[1] != len(self.candidates):
            raise ValueError(f"architectures must have {len(self.candidates)} op indices, got shape {np.shape(archs)}")
        for i, ops in enumerate(self.candidates):
            if a[:, i].min() < 0 or a[:, i].max() >= len(ops):
                raise ValueError(f"architecture op index at layer {i} must be in [0, {len(ops) - 1}]")
        return a

    def arch_indices(self, arch: list[str]) -> np.ndarray:
        """Op names (one per searchable layer) -> op indices."""
        if len(arch) != len(self.candidates):
            raise ValueError(f"arch must list {len(self.candidates)} ops, got {len(arch)}")
        out = []
        for i, (op, ops) in enumerate(zip(arch, self.candidates)):
            if op not in ops:
                raise ValueError(f"arch layer {i}: op {op!r} is not a candidate there; valid: {', '.join(ops)}")
            out.append(ops.index(op))
        return np.asarray(out, dtype=np.int64)

    def arch_names(self, arch_idx) -> list[str]:
        return [ops[int(j)] for ops, j in zip(self.candidates, self.check_archs(arch_idx)[0])]

    def busy_mask(self, archs: np.ndarray) -> np.ndarray:
        mask = np.full(len(archs), self.fixed_mask, dtype=np.int64)
        for i, m in enumerate(self.slot_masks):
            mask |= m[archs[:, i]]
        return mask

    def costs(self, archs, designs) -> dict:
        """Exact metrics of pairs (broadcast: one arch with many designs or the reverse):
        latency (ms and cycles), energy (uJ), area (mm^2), EDP and EDAP, arrays of shape (N,).
        A pair with a layer that no mapping fits gets ``inf``."""
        a, d = self.check_archs(archs), self.ds.check_points(designs)
        if len(a) != len(d):
            if len(a) == 1:
                a = np.repeat(a, len(d), axis=0)
            elif len(d) == 1:
                d = np.repeat(d, len(a), axis=0)
            else:
                raise ValueError(f"got {len(a)} architectures and {len(d)} designs; "
                                 f"give equal numbers or one of either")
        n, n_chunks = len(a), len(self.chunks)
        mask = self.busy_mask(a)
        variant, flow, cap, pe = self.resource_indices(d, mask)
        energy = np.zeros(n)
        dram = np.zeros(n)
        chunk_lat = np.zeros((n, n_chunks))
        for c in range(n_chunks):
            fc, kc, pc = flow[:, c % flow.shape[1]], cap[:, c % cap.shape[1]], pe[:, c % pe.shape[1]]
            t = self.fixed_table[:, c][:, variant, fc, kc, pc]                # (3, N)
            e, lat, db = t[0].copy(), t[1].copy(), t[2].copy()
            for i, tab in enumerate(self.slot_tables):
                t = tab[a[:, i], :, c, variant, fc, kc, pc]                      # (N, 3)
                e += t[:, 0]; lat += t[:, 1]; db += t[:, 2]
            energy += e
            dram += db
            chunk_lat[:, c] = lat
        base = self.ds.base
        cycles = np.maximum(chunk_lat.max(1), dram / base.dram_bits_per_cycle)
        area = (self._area[np.ravel_multi_index(d.T, self.ds.cardinalities)] if self._area is not None
                else self.ds.area_mm2(d))
        out = {"latency_cycles": cycles, "latency_ms": cycles / (base.clock_mhz * 1e3), "energy_uj": energy * 1e-6,
               "area_mm2": area}
        out["edp"] = out["energy_uj"] * out["latency_ms"]
        out["edap"] = out["edp"] * out["area_mm2"]
        return out

    def best_design(self, arch, cost: str = "edap") -> tuple:
        """(design index, metrics dict) of the exhaustive best design point for one architecture."""
        check_cost(cost)
        designs = self.ds.enumerate()
        m = self.costs(self.check_archs(arch), designs)
        j = int(np.argmin(cost_value(m, cost)))
        return designs[j], {k: float(v[j]) for k, v in m.items()}

    def describe(self) -> dict:
        return {"space": self.space, "design_space": self.ds.name, "layers": len(self.candidates),
                "candidates_per_layer": [len(c) for c in self.candidates], "layer_tables": self.n_layer_tables,
                "variants": len(self.variants), "dataflows": list(self.flows), "buffer_caps_bytes": list(self.caps),
                "pe_grid": list(self.pe_grid), "workers": self.workers, "build_seconds": self.build_seconds}


def specs_of_pair(tables: CostTables, arch_idx, design_idx) -> tuple:
    """(layer specs, accelerator, pe_split, dataflows) of a pair, for costing it with ``map_network``."""
    arch = tables.arch_names(arch_idx)
    accel, pes, flows = tables.ds.accelerator(design_idx)
    return arch_layer_specs(arch, tables.layout), accel, pes, flows


__all__ = ["METRICS", "COSTS", "COST_METRICS", "COST_UNITS", "CostTables", "check_cost", "cost_value",
           "default_workers", "specs_of_pair"]
