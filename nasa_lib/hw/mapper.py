"""The per-layer auto-mapper: exhaustive search over dataflow x tiling, vectorised with numpy.

For one layer on one chunk the mapper enumerates, per dataflow, every RF tile within the RF
capacities and every spatial unrolling within the PE budget (tile values are the "ceil set"
``{ceil(n / j)}`` of each dim, which loses nothing: any other value is matched by a smaller one
that gives the same step counts with fewer resources), and every DRAM-level cut (none, or one dim
K / C / D / P cut into buffer tiles).  Each candidate is costed with the formulas of
:mod:`nasa_lib.hw.costmodel`, written here over arrays.

For a cut along dim d, a candidate's best buffer tile is the largest multiple of its array tile
that fits the buffer: every cost term (DRAM halo rows, the stationary tensor's refetches) can only
shrink as the tile grows, so one tile per candidate, dim and buffer size covers the whole cut
space.

A candidate's energy and latency do not depend on how many PEs or how much buffer the chunk has;
those only decide whether it is feasible (PEs used <= PEs, footprint <= buffer).  So one pass
over the candidates gives the best mapping for every PE count and buffer share at once
(:func:`layer_table`), which the PE-split search uses; giving the mapper more PEs or buffer can
never make its best result worse.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from ..layerspec import LayerSpec
from .accelerator import Accelerator, Chunk
from .costmodel import (DATAFLOW_NAMES, DATAFLOWS, DIMS, RF_ACCESSES_PER_MAC, SPLIT_DIMS, LayerCost,
                        LayerShape, Mapping, check_dataflow, compute_energy_pj, eltwise_cost,
                        evaluate_mapping)

OBJECTIVES = ("edp", "energy", "latency")
_TIE = 1e-9  # relative weight of the tie-breaking secondary metric


def check_objective(objective: str) -> str:
    if objective not in OBJECTIVES:
        raise ValueError(f"objective={objective!r} is not valid; valid values: {', '.join(OBJECTIVES)}")
    return objective


@functools.lru_cache(maxsize=4096)
def ceil_set(n: int) -> tuple:
    """``{ceil(n / j) : j >= 1}``, ascending: the tile sizes that give distinct step counts."""
    return tuple(sorted({-(-n // j) for j in range(1, n + 1)}))


def _grid(value_lists: list) -> list:
    if not value_lists:
        return []
    mesh = np.meshgrid(*[np.asarray(v, dtype=np.int64) for v in value_lists], indexing="ij")
    return [m.ravel() for m in mesh]


@dataclass
class Candidates:
    """Every (RF tile, spatial unrolling) of one dataflow for one layer, sorted by PEs used."""
    rf: dict
    sp: dict
    pes: np.ndarray
    compute: np.ndarray       # compute cycles of one group copy
    ta: dict                  # array tile per dim
    e_a: np.ndarray           # RF + NoC + GB (array side) energy, gamma-independent part, pJ
    e_b: np.ndarray           # ... part proportional to gamma
    gb_a: np.ndarray          # GB accesses (array side), gamma-independent part
    gb_b: np.ndarray          # ... part proportional to gamma

    def __len__(self) -> int:
        return len(self.pes)


@functools.lru_cache(maxsize=8)
def candidates(shape: LayerShape, dataflow: str, rf_caps: tuple, n_pe_max: int, bits: int,
               mem_costs: tuple) -> Candidates | None:
    """Enumerate and pre-cost the candidates (None when no RF tile fits the register files)."""
    df = DATAFLOWS[dataflow]
    cap_i, cap_w, cap_o = rf_caps
    size = {d: shape.dim(d) for d in DIMS}
    # RF tiles
    free = [d for d in DIMS if d in df.rf_free and size[d] > 1]
    cols = _grid([ceil_set(size[d]) for d in free])
    n_rf = len(cols[0]) if cols else 1
    rf = {}
    for d in DIMS:
        if d in free:
            rf[d] = cols[free.index(d)]
        else:
            rf[d] = np.full(n_rf, size[d] if d in df.rf_full else 1, dtype=np.int64)
    w_r, i_r, o_r = _tiles(shape, rf)
    keep = (w_r <= cap_w) & (i_r <= cap_i) & (o_r <= cap_o)
    if not keep.any():
        return None
    rf = {d: v[keep] for d, v in rf.items()}
    # spatial unrollings (superset), then pairs whose factor is in the ceil set of ceil(size / rf)
    sdims = [d for d in df.spatial if size[d] > 1]
    fixed = {d: size[d] for d in df.spatial_full}  # their RF tile is 1, so the array takes the whole dim
    budget = n_pe_max // max(1, math.prod(fixed.values()))
    if budget < 1:
        return None
    scols = _grid([[v for v in ceil_set(size[d]) if v <= budget] for d in sdims])
    n_sp = len(scols[0]) if scols else 1
    prod = np.ones(n_sp, dtype=np.int64)
    for c in scols:
        prod = prod * c
    ok_sp = prod <= budget
    scols = [c[ok_sp] for c in scols]
    n_sp = int(ok_sp.sum())
    valid = np.ones((len(rf["K"]), n_sp), dtype=bool)
    for d, f in zip(sdims, scols):
        m = -(-size[d] // rf[d])                       # steps left for the array along d
        mm, ff = m[:, None], f[None, :]
        valid &= (ff <= mm) & (-(-mm // -(-mm // ff)) == ff)
    ri, si = np.nonzero(valid)
    rf = {d: v[ri] for d, v in rf.items()}
    sp = {d: np.ones(len(ri), dtype=np.int64) for d in DIMS}
    for d, f in zip(sdims, scols):
        sp[d] = f[si]
    for d, v in fixed.items():
        sp[d] = np.full(len(ri), v, dtype=np.int64)
    pes = np.ones(len(ri), dtype=np.int64)
    for d in DIMS:
        pes = pes * sp[d]
    order = np.argsort(pes, kind="stable")
    rf = {d: v[order] for d, v in rf.items()}
    sp = {d: v[order] for d, v in sp.items()}
    pes = pes[order]
    return _precost(shape, df, rf, sp, pes, bits, mem_costs)


def _tiles(shape: LayerShape, t: dict) -> tuple:
    """(W, I, O) tile sizes over arrays of per-dim extents (LayerShape.tile_sizes, vectorised)."""
    s = shape.stride
    rows = np.minimum((t["P"] - 1) * np.minimum(s, t["R"]) + t["R"], shape.H)
    cols = np.minimum((t["Q"] - 1) * np.minimum(s, t["S"]) + t["S"], shape.W)
    w = t["K"] * t["C"] * t["D"] * t["R"] * t["S"]
    i = t["C"] * t["D"] * rows * cols
    o = t["K"] * t["D"] * t["P"] * t["Q"]
    return w, i, o


def _precost(shape, df, rf, sp, pes, bits, mem_costs) -> Candidates:
    e_rf, e_noc, e_gb = (c * bits / 16.0 for c in mem_costs[1:])
    ta = {d: rf[d] * sp[d] for d in DIMS}
    n = {d: -(-shape.dim(d) // ta[d]) for d in DIMS}
    steps = np.ones(len(pes), dtype=np.int64)
    for d in DIMS:
        steps = steps * n[d]
    rf_macs = np.ones(len(pes), dtype=np.int64)
    for d in DIMS:
        rf_macs = rf_macs * rf[d]
    run = np.ones(len(pes), dtype=np.int64)
    for d in df.run:
        run = run * n[d]
    base = steps // run
    distinct_o = n["K"] * n["D"] * n["P"] * n["Q"]
    r_tiles = dict(zip("WIO", _tiles(shape, rf)))
    a_tiles = dict(zip("WIO", _tiles(shape, ta)))
    noc_a = np.zeros(len(pes)); noc_b = np.zeros(len(pes))
    gb_a = np.zeros(len(pes)); gb_b = np.zeros(len(pes))
    for t in "WIO":
        noc_coef = (pes * r_tiles[t]).astype(float)
        gb_coef = a_tiles[t].astype(float)
        if t == "O":                 # psum reloads: one NoC transfer and one extra GB access each
            noc_coef = noc_coef + a_tiles["O"]
            gb_coef = 2.0 * gb_coef
        if t == df.stationary:
            noc_b += noc_coef * base; gb_b += gb_coef * base
        else:
            noc_a += noc_coef * steps; gb_a += gb_coef * steps
    noc_a -= a_tiles["O"] * distinct_o
    gb_a -= a_tiles["O"] * distinct_o
    rf_a = noc_a + RF_ACCESSES_PER_MAC * shape.macs
    e_a = rf_a * e_rf + noc_a * e_noc + gb_a * e_gb
    e_b = noc_b * e_rf + noc_b * e_noc + gb_b * e_gb
    return Candidates(rf=rf, sp=sp, pes=pes, compute=(steps * rf_macs).astype(float), ta=ta,
                      e_a=e_a, e_b=e_b, gb_a=gb_a, gb_b=gb_b)


# ---- costing the candidates under the DRAM-level cuts -------------------------------------------
@dataclass
class _Context:
    spec: LayerSpec
    shape: LayerShape
    accel: Accelerator
    chunk: Chunk
    objective: str
    e_ops: float            # compute energy of one group copy, pJ
    l_scale: float          # tie-break scales
    e_scale: float

    @classmethod
    def make(cls, spec, accel, chunk, objective):
        shape = LayerShape.from_spec(spec)
        e_ops = compute_energy_pj(spec, accel, chunk) / spec.N / shape.copies
        return cls(spec, shape, accel, chunk, objective, e_ops, max(1.0, shape.macs / accel.pe_budget),
                   max(1e-9, e_ops))

    def objective_of(self, e, lat):
        """The objective; energy and latency break exact ties by the other metric (1e-9 relative)."""
        if self.objective == "edp":
            return e * lat
        with np.errstate(invalid="ignore"):
            if self.objective == "energy":
                obj = e * (1.0 + _TIE * lat / (lat + self.l_scale))
            else:
                obj = lat * (1.0 + _TIE * e / (e + self.e_scale))
        return np.where(np.isfinite(e) & np.isfinite(lat), obj, np.inf)


def _options(ctx: _Context, cands: Candidates, df, caps_bytes: list):
    """Yield (cap indices, split dim, extent array or None, E, L, DRAM bits) per DRAM-level cut.

    E (pJ) and L (cycles) cover all group copies of one image and are ``inf`` where infeasible.
    """
    shape, accel, bits = ctx.shape, ctx.accel, ctx.chunk.bits
    c = shape.copies
    e_gb, e_dram = (accel.access_energy(lvl, bits) for lvl in ("global_buffer", "dram"))
    w_full = shape.K * shape.C * shape.D * shape.R * shape.S
    o_full = shape.K * shape.D * shape.P * shape.Q

    def cost(m, gamma, mask):
        dram = w_full + shape.dram_input_elems(None, 1) + o_full
        if not np.isscalar(m):                       # P cut: halo rows at every border
            dram = dram + shape.C * shape.D * (m - 1) * max(0, shape.R - shape.stride) * shape.cols(shape.Q, shape.S)
        e = ctx.e_ops + cands.e_a + cands.e_b * gamma + dram * (e_gb + e_dram)
        gb_cycles = (cands.gb_a + cands.gb_b * gamma + dram) * bits / accel.gb_port_bits_per_cycle
        lat = np.maximum(np.maximum(cands.compute, gb_cycles), dram * bits / accel.dram_bits_per_cycle)
        e, lat = e * c, lat * c
        if mask is not None:
            e = np.where(mask, e, np.inf)
            lat = np.where(mask, lat, np.inf)
        return e, lat, np.broadcast_to(dram * bits * c, e.shape).astype(float)

    fp_full = shape.footprint_elems(None, 0) * bits / 8
    fit = [i for i, cap in enumerate(caps_bytes) if fp_full <= cap]
    if fit:
        e, lat, db = cost(1, 1, None)
        yield fit, None, None, e, lat, db
    for d in SPLIT_DIMS:
        size = shape.dim(d)
        if size < 2:
            continue
        g_all = np.arange(1, size)
        fp = _footprint_curve(shape, d) * bits / 8
        by_gmax = {}
        for i, cap in enumerate(caps_bytes):
            if fp_full <= cap:
                continue                              # no cut needed: "none" dominates every cut
            fits = g_all[fp <= cap]
            if len(fits):
                by_gmax.setdefault(int(fits.max()), []).append(i)
        ta = cands.ta[d]
        for gmax, idx in by_gmax.items():
            g = (gmax // ta) * ta
            mask = (g >= ta) & (ta < size)
            g = np.maximum(g, 1)
            m = -(-size // g)
            gamma = m if d in df.run else 1
            e, lat, db = cost(m if d == "P" else 1, gamma, mask)
            yield idx, d, g, e, lat, db


@functools.lru_cache(maxsize=256)
def _footprint_curve(shape: LayerShape, d: str) -> np.ndarray:
    """Buffer footprint (elements) of a cut along ``d`` for every extent g = 1 .. Dim - 1
    (LayerShape.footprint_elems over an array of g)."""
    t = {k: np.int64(shape.dim(k)) for k in DIMS}
    t[d] = np.arange(1, shape.dim(d), dtype=np.int64)
    return sum(_tiles(shape, t))


@dataclass
class LayerTable:
    """Best cost of one layer for every (buffer cap, PE count): arrays of shape (caps, n_pe_max + 1)."""
    obj: np.ndarray
    energy: np.ndarray
    latency: np.ndarray
    dram_bits: np.ndarray


_TABLES: dict = {}
_TABLES_MAX = 20000  # about 1 GB at most; the oldest tables are dropped first


def clear_cache() -> None:
    """Forget the cached per-layer tables and candidate sets."""
    _TABLES.clear()
    candidates.cache_clear()
    _footprint_curve.cache_clear()


def _cands_for(ctx: _Context, dataflow: str, n_pe_max: int):
    a = ctx.accel
    mem = tuple(dict(a.memory_energy_pj_per_16bit)[k] for k in ("dram", "register_file", "noc", "global_buffer"))
    return candidates(ctx.shape, dataflow, (a.rf_ifmap_entries, a.rf_weight_entries, a.rf_psum_entries),
                      n_pe_max, ctx.chunk.bits, mem)


def layer_table(spec: LayerSpec, accel: Accelerator, chunk: Chunk, dataflow: str, objective: str,
                caps_bytes: tuple, n_pe_max: int) -> LayerTable:
    """The best mapping's objective, energy (pJ/image), latency (cycles/image) and DRAM bits for
    every buffer cap in ``caps_bytes`` and every PE count 0..n_pe_max (cached)."""
    key = (LayerShape.from_spec(spec), spec.op, accel, chunk, dataflow, objective, tuple(caps_bytes), n_pe_max)
    if key in _TABLES:
        return _TABLES[key]
    shape_caps = (len(caps_bytes), n_pe_max + 1)
    tab = LayerTable(*(np.full(shape_caps, np.inf) for _ in range(4)))
    if spec.op == "eltwise":
        ctx = _Context.make(spec, accel, chunk, objective)
        for n in range(1, n_pe_max + 1):
            cost = eltwise_cost(spec, accel, chunk, n)
            e, lat = cost.energy_total_pj, cost.latency_cycles
            tab.obj[:, n] = ctx.objective_of(e, lat)
            tab.energy[:, n], tab.latency[:, n], tab.dram_bits[:, n] = e, lat, cost.dram_bits
        _remember(key, tab)
        return tab
    ctx = _Context.make(spec, accel, chunk, objective)
    cands = _cands_for(ctx, dataflow, n_pe_max)
    if cands is not None:
        n_values = np.arange(n_pe_max + 1)
        pos = np.searchsorted(cands.pes, n_values, side="right") - 1
        idx = np.arange(len(cands))
        for cap_idx, _d, _g, e, lat, db in _options(ctx, cands, DATAFLOWS[dataflow], list(caps_bytes)):
            obj = ctx.objective_of(e, lat)
            runmin = np.minimum.accumulate(obj)
            prev = np.concatenate(([np.inf], runmin[:-1]))
            arg = np.maximum.accumulate(np.where(obj < prev, idx, -1))
            best = np.where(pos >= 0, arg[np.maximum(pos, 0)], -1)
            have = best >= 0
            b = np.maximum(best, 0)
            row_obj = np.where(have, obj[b], np.inf)
            for i in cap_idx:
                better = row_obj < tab.obj[i]
                tab.obj[i] = np.where(better, row_obj, tab.obj[i])
                tab.energy[i] = np.where(better, e[b], tab.energy[i])
                tab.latency[i] = np.where(better, lat[b], tab.latency[i])
                tab.dram_bits[i] = np.where(better, db[b], tab.dram_bits[i])
    _remember(key, tab)
    return tab


def _remember(key, tab: LayerTable) -> None:
    while len(_TABLES) >= _TABLES_MAX:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = tab


def best_mapping(spec: LayerSpec, accel: Accelerator, chunk: Chunk, dataflow: str = "auto",
                 objective: str = "edp", n_pe: int | None = None, buffer_bytes: float | None = None) -> LayerCost:
    """The best mapping of ``spec`` on ``chunk`` with ``n_pe`` PEs and ``buffer_bytes`` of buffer.

    Returns the :class:`LayerCost` of the chosen mapping, re-costed with the reference formulas of
    :func:`nasa_lib.hw.costmodel.evaluate_mapping`.  Raises ``ValueError`` when nothing fits.
    """
    check_objective(objective)
    check_dataflow(dataflow)
    n_pe = accel.pe_budget if n_pe is None else int(n_pe)
    buffer_bytes = accel.gb_bytes if buffer_bytes is None else buffer_bytes
    if n_pe < 1:
        raise ValueError(f"n_pe={n_pe} must be >= 1")
    if spec.op == "eltwise":
        return eltwise_cost(spec, accel, chunk, n_pe)
    ctx = _Context.make(spec, accel, chunk, objective)
    best = (np.inf, None)
    for name in (DATAFLOW_NAMES if dataflow == "auto" else (dataflow,)):
        cands = _cands_for(ctx, name, n_pe)
        if cands is None:
            continue
        for _i, d, g, e, lat, _db in _options(ctx, cands, DATAFLOWS[name], [buffer_bytes]):
            obj = ctx.objective_of(e, lat)
            j = int(np.argmin(obj))
            if obj[j] < best[0]:
                mapping = Mapping(name, {k: int(v[j]) for k, v in cands.rf.items()},
                                  {k: int(v[j]) for k, v in cands.sp.items()}, d, int(g[j]) if d else 0)
                best = (obj[j], mapping)
    if best[1] is None:
        raise ValueError(f"layer {spec.name!r} has no valid mapping on chunk {chunk.name!r} with {n_pe} PEs and "
                         f"{buffer_bytes:g} buffer bytes (dataflow={dataflow})")
    return evaluate_mapping(spec, accel, chunk, best[1], n_pe, buffer_bytes)


def chunk_for(spec: LayerSpec, accel: Accelerator, previous: str | None = None) -> Chunk:
    """The chunk that runs ``spec``: the first chunk whose ``runs`` lists its op.  A residual add
    (eltwise) goes to the chunk of the layer before it when that chunk can add (the producer of
    its input: no data crosses chunks and the add keeps the block's precision)."""
    if spec.op == "eltwise" and previous is not None:
        chunk = accel.chunk(previous)
        if "eltwise" in chunk.runs:
            return chunk
    for chunk in accel.chunks:
        if spec.op in chunk.runs:
            return chunk
    raise ValueError(f"layer {spec.name!r}: no chunk of {accel.name} runs op {spec.op!r}")


def map_layer(spec: LayerSpec, accelerator, chunk: str | None = None, n_pe: int | None = None,
              buffer_kb: float | None = None, dataflow: str = "auto", objective: str = "edp") -> LayerCost:
    """Map one layer: the best dataflow and tiling on its chunk (or ``chunk``) with ``n_pe`` PEs
    (default: the whole PE budget) and ``buffer_kb`` KB of global buffer (default: all of it)."""
    from .accelerator import load_accelerator
    accel = load_accelerator(accelerator)
    ch = accel.chunk(chunk) if chunk is not None else chunk_for(spec, accel)
    if spec.op not in ch.runs:
        raise ValueError(f"chunk={ch.name!r} does not run op {spec.op!r} (layer {spec.name!r}); it runs "
                         f"{', '.join(ch.runs)}")
    buffer_bytes = None if buffer_kb is None else float(buffer_kb) * 1024
    return best_mapping(spec, accel, ch, dataflow, objective, n_pe, buffer_bytes)
