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
                        evaluate_mapping, psum_bits, static_pj_per_cycle)
from .options import ModelOptions, as_options

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
    """Every (RF tile, spatial unrolling) of one dataflow for one layer, sorted by PEs needed."""
    rf: dict
    sp: dict
    pes: np.ndarray           # PEs the chunk needs for it (rows x columns spanned with an array shape)
    used: np.ndarray          # PEs that work (product of the spatial unrolling)
    compute: np.ndarray       # compute cycles of one group copy
    ta: dict                  # array tile per dim
    e_a: np.ndarray           # RF + NoC + GB (array side) energy, gamma-independent part, pJ
    e_b: np.ndarray           # ... part proportional to gamma
    gb_a: np.ndarray          # GB bits (array side), gamma-independent part
    gb_b: np.ndarray          # ... part proportional to gamma
    noc_a: np.ndarray         # NoC words, gamma-independent part
    noc_b: np.ndarray         # ... part proportional to gamma

    def __len__(self) -> int:
        return len(self.pes)


@functools.lru_cache(maxsize=256)
def candidates(shape: LayerShape, dataflow: str, rf_caps: tuple, n_pe_max: int, bits: int,
               mem_costs: tuple, pbits: int | None = None, array_rows: int = 0) -> Candidates | None:
    """Enumerate and pre-cost the candidates (None when no RF tile fits the register files).

    ``array_rows`` > 0: the PEs form arrays of that many rows (switch ``pe_array="rows_cols"``).
    """
    pbits = bits if pbits is None else pbits
    found = _enumerate(shape, dataflow, rf_caps, n_pe_max, array_rows)
    if found is None:
        return None
    return _precost(shape, DATAFLOWS[dataflow], *found, bits, pbits, mem_costs)


def _enumerate(shape: LayerShape, dataflow: str, rf_caps: tuple, n_pe_max: int, array_rows: int):
    """The candidates of :func:`candidates` before pre-costing: (RF tiles, spatial unrollings, PEs
    needed, PEs used), sorted by PEs needed, or None.  Independent of the word widths."""
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
    used = np.ones(len(ri), dtype=np.int64)
    for d in DIMS:
        used = used * sp[d]
    if array_rows:
        rows = np.ones(len(ri), dtype=np.int64)
        for d in df.row_dims:
            rows = rows * sp[d]
        pes = array_rows * (used // rows)
        fits = (rows <= array_rows) & (pes <= n_pe_max)
        if not fits.any():
            return None
        rf = {d: v[fits] for d, v in rf.items()}
        sp = {d: v[fits] for d, v in sp.items()}
        used, pes = used[fits], pes[fits]
    else:
        pes = used
    order = np.argsort(pes, kind="stable")
    rf = {d: v[order] for d, v in rf.items()}
    sp = {d: v[order] for d, v in sp.items()}
    return rf, sp, pes[order], used[order]


def _tiles(shape: LayerShape, t: dict) -> tuple:
    """(W, I, O) tile sizes over arrays of per-dim extents (LayerShape.tile_sizes, vectorised)."""
    s = shape.stride
    rows = np.minimum((t["P"] - 1) * np.minimum(s, t["R"]) + t["R"], shape.H)
    cols = np.minimum((t["Q"] - 1) * np.minimum(s, t["S"]) + t["S"], shape.W)
    w = t["K"] * t["C"] * t["D"] * t["R"] * t["S"]
    i = t["C"] * t["D"] * rows * cols
    o = t["K"] * t["D"] * t["P"] * t["Q"]
    return w, i, o


def _precost(shape, df, rf, sp, pes, used, bits, pbits, mem_costs) -> Candidates:
    """Array-side access counts of every candidate (the formulas of evaluate_mapping, vectorised):
    parts independent of gamma (``*_a``) and proportional to it (``*_b``)."""
    e16 = dict(zip(("rf", "noc", "gb"), mem_costs[1:]))
    per_bit = {lvl: c / 16.0 for lvl, c in e16.items()}
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
    z = lambda: np.zeros(len(pes))  # noqa: E731
    e_a, e_b, gb_a, gb_b, noc_a, noc_b = z(), z(), z(), z(), z(), z()
    for t in "WIO":
        b = pbits if t == "O" else bits
        noc_coef = (used * r_tiles[t]).astype(float)   # NoC words = RF fills (or drains)
        gb_coef = a_tiles[t].astype(float)
        if t == "O":                 # psum reloads: one NoC transfer and one extra GB access each
            noc_coef = noc_coef + a_tiles["O"]
            gb_coef = 2.0 * gb_coef
        e_coef = noc_coef * b * (per_bit["rf"] + per_bit["noc"]) + gb_coef * b * per_bit["gb"]
        if t == df.stationary:
            e_b += e_coef * base; gb_b += gb_coef * b * base; noc_b += noc_coef * base
        else:
            e_a += e_coef * steps; gb_a += gb_coef * b * steps; noc_a += noc_coef * steps
    first_o = a_tiles["O"] * distinct_o             # the first write of each output tile is no reload
    e_a -= first_o * pbits * (per_bit["rf"] + per_bit["noc"] + per_bit["gb"])
    gb_a -= first_o * pbits
    noc_a -= first_o
    half = RF_ACCESSES_PER_MAC * shape.macs / 2     # operand reads at the data width, psum read + write
    e_a += half * (bits + pbits) * per_bit["rf"]
    return Candidates(rf=rf, sp=sp, pes=pes, used=used, compute=(steps * rf_macs).astype(float), ta=ta,
                      e_a=e_a, e_b=e_b, gb_a=gb_a, gb_b=gb_b, noc_a=noc_a, noc_b=noc_b)


# ---- costing the candidates under the DRAM-level cuts -------------------------------------------
@dataclass
class _Context:
    spec: LayerSpec
    shape: LayerShape
    accel: Accelerator
    chunk: Chunk
    objective: str
    options: ModelOptions
    pbits: int
    e_ops: float            # compute energy of one group copy, pJ
    l_scale: float          # tie-break scales
    e_scale: float

    @classmethod
    def make(cls, spec, accel, chunk, objective, options):
        shape = LayerShape.from_spec(spec)
        e_ops = compute_energy_pj(spec, accel, chunk) / spec.N / shape.copies
        return cls(spec, shape, accel, chunk, objective, options, psum_bits(accel, chunk, options), e_ops,
                   max(1.0, shape.macs / accel.pe_budget), max(1e-9, e_ops))

    def objective_of(self, e, lat):
        """The objective; energy and latency break exact ties by the other metric (1e-9 relative)."""
        with np.errstate(invalid="ignore"):
            if self.objective == "edp":
                obj = e * lat
            elif self.objective == "energy":
                obj = e * (1.0 + _TIE * lat / (lat + self.l_scale))
            else:
                obj = lat * (1.0 + _TIE * e / (e + self.e_scale))
        return np.where(np.isfinite(e) & np.isfinite(lat), obj, np.inf)

    def fp_full(self) -> float:
        return self.shape.footprint_bytes(None, 0, self.chunk.bits, self.pbits)


def _options(ctx: _Context, cands: Candidates, df, caps_bytes: list, io=(True, True)):
    """Yield (cap indices, split dim, extent array or None, E, L, DRAM bits) per DRAM-level cut.

    E (pJ, dynamic) and L (cycles) cover all group copies of one image and are ``inf`` where
    infeasible.  ``io`` = (input from DRAM, output to DRAM); with either False (inter-layer reuse)
    only the uncut mapping qualifies, and only where the whole working set fits.
    """
    shape, accel, bits, opt = ctx.shape, ctx.accel, ctx.chunk.bits, ctx.options
    c = shape.copies
    e_gb, e_dram = (accel.access_energy(lvl, bits) for lvl in ("global_buffer", "dram"))
    w_full = shape.K * shape.C * shape.D * shape.R * shape.S
    o_full = shape.K * shape.D * shape.P * shape.Q
    in_dram, out_dram = io
    noc_rate = accel.noc_words_per_pe_per_cycle

    def cost(m, gamma, mask):
        dram = w_full + (shape.dram_input_elems(None, 1) if in_dram else 0) + (o_full if out_dram else 0)
        if not np.isscalar(m):                       # P cut: halo rows at every border
            dram = dram + shape.C * shape.D * (m - 1) * max(0, shape.R - shape.stride) * shape.cols(shape.Q, shape.S)
        e = ctx.e_ops + cands.e_a + cands.e_b * gamma + dram * (e_gb + e_dram)
        lat = np.maximum(cands.compute, (cands.gb_a + cands.gb_b * gamma + dram * bits) / accel.gb_port_bits_per_cycle)
        if opt.dram_bandwidth_limit:
            lat = np.maximum(lat, dram * bits / accel.dram_bits_per_cycle)
        if opt.noc_bandwidth == "limited":
            lat = np.maximum(lat, (cands.noc_a + cands.noc_b * gamma) / cands.used / noc_rate)
        e, lat = e * c, lat * c
        if mask is not None:
            e = np.where(mask, e, np.inf)
            lat = np.where(mask, lat, np.inf)
        return e, lat, np.broadcast_to(dram * bits * c, e.shape).astype(float)

    fp_full = ctx.fp_full()
    fit = [i for i, cap in enumerate(caps_bytes) if fp_full <= cap]
    if fit:
        e, lat, db = cost(1, 1, None)
        yield fit, None, None, e, lat, db
    if not (in_dram and out_dram):
        return
    for d in SPLIT_DIMS:
        size = shape.dim(d)
        if size < 2:
            continue
        g_all = np.arange(1, size)
        fp = _footprint_curve(shape, d, bits, ctx.pbits)
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
def _footprint_curve(shape: LayerShape, d: str, bits: int, pbits: int) -> np.ndarray:
    """Buffer footprint (bytes) of a cut along ``d`` for every extent g = 1 .. Dim - 1
    (LayerShape.footprint_bytes over an array of g)."""
    t = {k: np.int64(shape.dim(k)) for k in DIMS}
    t[d] = np.arange(1, shape.dim(d), dtype=np.int64)
    w, i, o = _tiles(shape, t)
    return ((w + i) * bits + o * pbits) / 8


@dataclass
class LayerTable:
    """Best cost of one layer for every (buffer cap, PE count): arrays of shape (caps, n_pe_max + 1).

    ``energy`` is the dynamic energy (pJ / image); ``obj`` also charges the chunk's leakage over the
    layer's latency when ``static_energy`` is on (so the choice of mapping sees it)."""
    obj: np.ndarray
    energy: np.ndarray
    latency: np.ndarray
    dram_bits: np.ndarray
    fp_full_bytes: float = 0.0   # the whole working set (no DRAM-level cut), for inter-layer reuse


_TABLES: dict = {}
_TABLES_MAX = 20000  # about 1 GB at most; the oldest tables are dropped first


def clear_cache() -> None:
    """Forget the cached per-layer tables and candidate sets."""
    _TABLES.clear()
    _WIDEST.clear()
    _ENUMS.clear()
    candidates.cache_clear()
    _footprint_curve.cache_clear()


class _WidestCache:
    """Arguments less n_pe_max -> (the largest n_pe_max asked, its result, its bytes); beyond
    ``max_bytes`` the least recently used entries go first."""

    def __init__(self, max_bytes: int):
        self.entries: dict = {}
        self.bytes = 0
        self.max_bytes = max_bytes

    def get(self, key, n_pe_max: int):
        """The entry made for at least ``n_pe_max`` PEs (now the most recently used), or None."""
        entry = self.entries.get(key)
        if entry is None or entry[0] < n_pe_max:
            return None
        self.entries[key] = self.entries.pop(key)
        return entry

    def put(self, key, n_pe_max: int, value, size: int) -> None:
        """Store ``value`` for ``n_pe_max`` PEs in place of any narrower entry of ``key``."""
        old = self.entries.pop(key, None)
        if old is not None:
            self.bytes -= old[2]
        while self.entries and self.bytes + size > self.max_bytes:
            self.bytes -= self.entries.pop(next(iter(self.entries)))[2]
        self.entries[key] = (n_pe_max, value, size)
        self.bytes += size

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


_WIDEST = _WidestCache(1 << 30)   # candidate sets: about 1 GB of arrays at most
_ENUMS = _WidestCache(1 << 29)    # enumerations: about 512 MB (mostly the same arrays as the candidates')


def _cands_for(ctx: _Context, dataflow: str, n_pe_max: int):
    """``candidates`` for ``n_pe_max`` PEs (cached): the prefix (sorted by PEs needed) of a set
    already enumerated for more PEs when there is one.  That prefix is the same set in the same
    order with the same values: the candidates for n PEs are exactly those for N >= n PEs that need
    at most n PEs (every cap on the tile values and on their product is implied by needing at most
    n PEs, and the enumeration order of a subset, kept by the stable sort on PEs, is the same), and
    the pre-costing is element-wise.  The enumeration, which does not depend on the word widths, is
    shared by the chunks and settings that differ only in those."""
    a = ctx.accel
    mem = tuple(dict(a.memory_energy_pj_per_16bit)[k] for k in ("dram", "register_file", "noc", "global_buffer"))
    rows = a.pe_array_rows if ctx.options.pe_array == "rows_cols" else 0
    rf_caps = (a.rf_ifmap_entries, a.rf_weight_entries, a.rf_psum_entries)
    key = (ctx.shape, dataflow, rf_caps, ctx.chunk.bits, mem, ctx.pbits, rows)
    widest = _WIDEST.get(key, n_pe_max)
    if widest is not None:
        full = widest[1]
        if full is None:
            return None
        k = int(np.searchsorted(full.pes, n_pe_max, side="right"))
        if k > 0:
            return full if k == len(full) else _prefix(full, k)
        # none fits: enumerated as asked (None or an empty set, as candidates gives it)
        return candidates.__wrapped__(ctx.shape, dataflow, rf_caps, n_pe_max, ctx.chunk.bits, mem, ctx.pbits, rows)
    found = _enumeration(ctx.shape, dataflow, rf_caps, n_pe_max, rows)
    cands = None if found is None else _precost(ctx.shape, DATAFLOWS[dataflow], *found, ctx.chunk.bits, ctx.pbits,
                                                 mem)
    _WIDEST.put(key, n_pe_max, cands, 0 if cands is None else _nbytes(cands))
    return cands


def _enumeration(shape, dataflow, rf_caps, n_pe_max, rows):
    """``_enumerate`` (cached), as a prefix of a wider enumeration when there is one (see _cands_for)."""
    key = (shape, dataflow, rf_caps, rows)
    widest = _ENUMS.get(key, n_pe_max)
    if widest is not None:
        found = widest[1]
        if found is None:
            return None
        rf, sp, pes, used = found
        k = int(np.searchsorted(pes, n_pe_max, side="right"))
        if k > 0:
            if k == len(pes):
                return found
            return {d: v[:k] for d, v in rf.items()}, {d: v[:k] for d, v in sp.items()}, pes[:k], used[:k]
        return _enumerate(shape, dataflow, rf_caps, n_pe_max, rows)
    found = _enumerate(shape, dataflow, rf_caps, n_pe_max, rows)
    _ENUMS.put(key, n_pe_max, found,
               0 if found is None else sum(v.nbytes for v in [*found[0].values(), *found[1].values(), *found[2:]]))
    return found


def _nbytes(c: Candidates) -> int:
    arrays = [*c.rf.values(), *c.sp.values(), *c.ta.values(), c.pes, c.used, c.compute, c.e_a, c.e_b, c.gb_a,
              c.gb_b, c.noc_a, c.noc_b]
    return sum(v.nbytes for v in arrays)


def _prefix(c: Candidates, k: int) -> Candidates:
    """The first ``k`` candidates of ``c``."""
    return Candidates(rf={d: v[:k] for d, v in c.rf.items()}, sp={d: v[:k] for d, v in c.sp.items()},
                      pes=c.pes[:k], used=c.used[:k], compute=c.compute[:k], ta={d: v[:k] for d, v in c.ta.items()},
                      e_a=c.e_a[:k], e_b=c.e_b[:k], gb_a=c.gb_a[:k], gb_b=c.gb_b[:k], noc_a=c.noc_a[:k],
                      noc_b=c.noc_b[:k])


@functools.lru_cache(maxsize=64)
def _table_options(options: ModelOptions) -> ModelOptions:
    """``options`` with the switches a layer table does not read (network-level only) at their defaults:
    settings that differ only in those share tables."""
    return options.replace(**{k: getattr(_TABLE_DEFAULTS, k) for k in _NETWORK_ONLY})


_NETWORK_ONLY = ("inter_layer_reuse", "pe_budget", "latency")  # read by map_network, never by layer_table
_TABLE_DEFAULTS = ModelOptions()


def pe_counts(accel: Accelerator, n_pe_max: int, options: ModelOptions) -> np.ndarray:
    """The PE counts a chunk can be given: every count, or whole columns with an array shape."""
    if options.pe_array == "rows_cols":
        return np.arange(accel.pe_array_rows, n_pe_max + 1, accel.pe_array_rows)
    return np.arange(1, n_pe_max + 1)


def layer_table(spec: LayerSpec, accel: Accelerator, chunk: Chunk, dataflow: str, objective: str,
                caps_bytes: tuple, n_pe_max: int, options: ModelOptions | None = None,
                io: tuple = (True, True)) -> LayerTable:
    """The best mapping's objective, energy (pJ/image), latency (cycles/image) and DRAM bits for
    every buffer cap in ``caps_bytes`` and every PE count 0..n_pe_max (cached).  PE counts a chunk
    cannot have (not whole columns, with an array shape) and, with ``io`` other than (True, True),
    caps the whole working set does not fit, stay ``inf``."""
    options = as_options(options)
    key = (LayerShape.from_spec(spec), spec.op, accel, chunk, dataflow, objective, tuple(caps_bytes), n_pe_max,
           _table_options(options), tuple(io))
    if key in _TABLES:
        return _TABLES[key]
    shape_caps = (len(caps_bytes), n_pe_max + 1)
    tab = LayerTable(*(np.full(shape_caps, np.inf) for _ in range(4)))
    ctx = _Context.make(spec, accel, chunk, objective, options)
    counts = pe_counts(accel, n_pe_max, options)
    leak_pe = accel.pe_static_pj_per_cycle(chunk) if options.static_energy else 0.0
    leak_buf = [static_pj_per_cycle(accel, chunk, 0, cap, options) for cap in caps_bytes]
    if spec.op == "eltwise":
        # operands and sum in the buffer while the next layer may still use the sum
        tab.fp_full_bytes = 3 * spec.K * spec.P * spec.Q * chunk.bits / 8
        for n in counts:
            cost = eltwise_cost(spec, accel, chunk, int(n), options.replace(static_energy=False), 0.0, *io)
            e, lat = cost.energy_total_pj, cost.latency_cycles
            for i in range(len(caps_bytes)):
                rate = n * leak_pe + leak_buf[i]
                tab.obj[i, n] = ctx.objective_of(e + rate * lat, lat)
                tab.energy[i, n], tab.latency[i, n], tab.dram_bits[i, n] = e, lat, cost.dram_bits
        _remember(key, tab)
        return tab
    tab.fp_full_bytes = ctx.fp_full()
    cands = _cands_for(ctx, dataflow, n_pe_max)
    if cands is not None:
        pos = np.searchsorted(cands.pes, counts, side="right") - 1
        for cap_idx, _d, _g, e, lat, db in _options(ctx, cands, DATAFLOWS[dataflow], list(caps_bytes), io):
            if options.static_energy:
                union = _front_union(e, lat, pos)
                rows = {i: _best_per_count(ctx, e, lat, pos, counts * leak_pe + leak_buf[i], union) for i in cap_idx}
            else:
                shared = _best_per_count(ctx, e, lat, pos, None)
                rows = {i: shared for i in cap_idx}
            for i, (b, row_obj) in rows.items():
                have = b >= 0
                bb = np.maximum(b, 0)
                better = np.zeros(n_pe_max + 1, dtype=bool)
                better[counts] = have & (row_obj < tab.obj[i, counts])
                sel = better[counts]
                tab.obj[i, counts[sel]] = row_obj[sel]
                tab.energy[i, counts[sel]] = e[bb[sel]]
                tab.latency[i, counts[sel]] = lat[bb[sel]]
                tab.dram_bits[i, counts[sel]] = db[bb[sel]]
    _remember(key, tab)
    return tab


def _best_per_count(ctx: _Context, e, lat, pos, static_rate, union=None):
    """Per PE count (``pos``: index of the last candidate that fits it), the best candidate index and
    its objective.  ``static_rate`` (pJ per cycle, one per count) charges leakage over the latency."""
    if static_rate is None:
        obj = ctx.objective_of(e, lat)
        idx = np.arange(len(obj))
        runmin = np.minimum.accumulate(obj)
        prev = np.concatenate(([np.inf], runmin[:-1]))
        arg = np.maximum.accumulate(np.where(obj < prev, idx, -1))
        best = np.where(pos >= 0, arg[np.maximum(pos, 0)], -1)
        return best, np.where(best >= 0, obj[np.maximum(best, 0)], np.inf)
    union = _front_union(e, lat, pos) if union is None else union
    if not len(union):
        return np.full(len(pos), -1), np.full(len(pos), np.inf)
    rate = np.asarray(static_rate, dtype=float)[:, None]
    with np.errstate(invalid="ignore"):
        obj = ctx.objective_of(e[union][None, :] + rate * lat[union][None, :], lat[union][None, :])
    obj = np.where(union[None, :] <= pos[:, None], obj, np.inf)
    k = np.argmin(obj, axis=1)
    kobj = obj[np.arange(len(pos)), k]
    ok = np.isfinite(kobj)
    return np.where(ok, union[k], -1), np.where(ok, kobj, np.inf)


def _front_union(e, lat, pos) -> np.ndarray:
    """Every candidate on the (energy, latency) Pareto front of the candidates that fit some PE count
    (indices up to ``pos``).  Every objective grows with energy and with latency, leakage included,
    so a count's best candidate is on its front, hence among these with index <= its ``pos``.  The
    counts ascend: each front is the last one plus the newly fitting candidates, pruned again."""
    ps = np.unique(pos[pos >= 0])
    if not len(ps):
        return np.zeros(0, dtype=np.int64)
    finite = np.flatnonzero(np.isfinite(e) & np.isfinite(lat))   # the finite candidates, ascending
    cuts = np.searchsorted(finite, ps, side="right").tolist()
    front, done, union = np.zeros(0, dtype=np.int64), 0, []
    for cut in cuts:
        if cut > done:
            front = _pareto(np.concatenate([front, finite[done:cut]]), e, lat)
            done = cut
        elif len(front) > 1:    # nothing new: the front pruned again, as before
            front = _pareto(front, e, lat)
        union.append(front)
    return np.unique(np.concatenate(union))


def _pareto(idx: np.ndarray, e: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Drop the candidates of ``idx`` that another one matches or beats in both energy and latency
    (sorted by energy; one whose latency is not below every cheaper one's is dominated)."""
    if len(idx) < 2:
        return idx
    order = idx[e[idx].argsort()]
    lats = lat[order]
    run = np.minimum.accumulate(lats)
    keep = np.empty(len(order), dtype=bool)
    keep[0] = True
    np.less(lats[1:], run[:-1], out=keep[1:])
    return order[keep]


def _remember(key, tab: LayerTable) -> None:
    while len(_TABLES) >= _TABLES_MAX:
        _TABLES.pop(next(iter(_TABLES)))
    _TABLES[key] = tab


def best_mapping(spec: LayerSpec, accel: Accelerator, chunk: Chunk, dataflow: str = "auto",
                 objective: str = "edp", n_pe: int | None = None, buffer_bytes: float | None = None,
                 options: ModelOptions | None = None, io: tuple = (True, True)) -> LayerCost:
    """The best mapping of ``spec`` on ``chunk`` with ``n_pe`` PEs and ``buffer_bytes`` of buffer.

    Returns the :class:`LayerCost` of the chosen mapping, re-costed with the reference formulas of
    :func:`nasa_lib.hw.costmodel.evaluate_mapping`.  Raises ``ValueError`` when nothing fits.
    """
    options = as_options(options)
    check_objective(objective)
    check_dataflow(dataflow)
    n_pe = accel.pe_budget if n_pe is None else int(n_pe)
    buffer_bytes = accel.gb_bytes if buffer_bytes is None else buffer_bytes
    if n_pe < 1:
        raise ValueError(f"n_pe={n_pe} must be >= 1")
    if spec.op == "eltwise":
        return eltwise_cost(spec, accel, chunk, n_pe, options, buffer_bytes, *io)
    ctx = _Context.make(spec, accel, chunk, objective, options)
    rate = static_pj_per_cycle(accel, chunk, n_pe, buffer_bytes, options)
    best = (np.inf, None)
    for name in (DATAFLOW_NAMES if dataflow == "auto" else (dataflow,)):
        cands = _cands_for(ctx, name, n_pe)
        if cands is None:
            continue
        for _i, d, g, e, lat, _db in _options(ctx, cands, DATAFLOWS[name], [buffer_bytes], io):
            obj = ctx.objective_of(e + rate * lat if rate else e, lat)
            j = int(np.argmin(obj))
            if obj[j] < best[0]:
                mapping = Mapping(name, {k: int(v[j]) for k, v in cands.rf.items()},
                                  {k: int(v[j]) for k, v in cands.sp.items()}, d, int(g[j]) if d else 0)
                best = (obj[j], mapping)
    if best[1] is None:
        raise ValueError(f"layer {spec.name!r} has no valid mapping on chunk {chunk.name!r} with {n_pe} PEs and "
                         f"{buffer_bytes:g} buffer bytes (dataflow={dataflow})")
    return evaluate_mapping(spec, accel, chunk, best[1], n_pe, buffer_bytes, options=options,
                            input_from_dram=io[0], output_to_dram=io[1])


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
              buffer_kb: float | None = None, dataflow: str = "auto", objective: str = "edp",
              options: ModelOptions | None = None) -> LayerCost:
    """Map one layer: the best dataflow and tiling on its chunk (or ``chunk``) with ``n_pe`` PEs
    (default: the whole PE budget) and ``buffer_kb`` KB of global buffer (default: all of it)."""
    from .accelerator import load_accelerator
    accel = load_accelerator(accelerator)
    ch = accel.chunk(chunk) if chunk is not None else chunk_for(spec, accel)
    if spec.op not in ch.runs:
        raise ValueError(f"chunk={ch.name!r} does not run op {spec.op!r} (layer {spec.name!r}); it runs "
                         f"{', '.join(ch.runs)}")
    buffer_bytes = None if buffer_kb is None else float(buffer_kb) * 1024
    return best_mapping(spec, accel, ch, dataflow, objective, n_pe, buffer_bytes, options)
