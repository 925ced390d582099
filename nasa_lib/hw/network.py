"""Whole networks on an accelerator: chunk assignment, PE / buffer split search, ablations, results.

Every layer goes to a chunk that runs its op (:func:`nasa_lib.hw.mapper.chunk_for`; a residual add
runs on the chunk of the layer that produced its input).  Chunks run concurrently on successive
images, so per image

    dynamic energy   = sum over layers of their energy,
    pipelined interval = max(slowest chunk, all chunks' DRAM traffic / DRAM bandwidth)   (cycles),
    single-image latency = sum over layers of their latency (one image goes through every layer),
    static energy    = (leakage of every PE as built + of the whole buffer) x latency,

where a chunk's latency is the sum of its layers' latencies (one layer after another); the DRAM
term charges the bus the chunks share (switch ``dram_bandwidth_limit``).  The latency the
objective and the headline use is ``options.latency``; both are always reported.

A chunk has one dataflow for all its layers (it is built for it).  The search
(``pe_split="search"``) tries every split of the PE budget (a chunk with work gets at least one PE,
or one column of ``pe_array.rows`` PEs with ``pe_array="rows_cols"``; a chunk without layers gets
none) under ``options.pe_budget`` (physical count, or area: see :meth:`Accelerator.pe_area_units`),
every split of the buffer into ``buffer_units`` equal parts, with every combination of per-chunk
dataflows (``dataflow="auto"``) or one fixed dataflow, and keeps the best under ``objective``;
each layer takes its best tiling for its chunk's PEs, buffer share and dataflow (per-layer
objective = ``objective``, leakage of the chunk's PEs and buffer share included when
``static_energy`` is on).

Inter-layer reuse (``inter_layer_reuse``): when a layer reads exactly the tensor the layer before
it wrote, both run on the same chunk, and both layers' whole working sets fit the chunk's buffer
share, that tensor stays in the buffer (no DRAM write and read).  Across chunks it goes through
DRAM: the chunks work on different images.

Ablations: a fixed ``dataflow``, and ``pe_split="flops_proportional"`` (NASA-F's rule: PEs in
proportion to each chunk's raw MACs, under the budget as ``options.pe_budget`` counts it, which
with ``"nasaf_area"`` prices a shift or adder PE at 1/1.88 of a multiplier PE; buffer units in
the same proportions).
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..layerspec import LayerSpec
from .accelerator import Accelerator, load_accelerator
from .costmodel import DATAFLOW_NAMES, ENERGY_PARTS, check_dataflow
from .mapper import best_mapping, check_objective, chunk_for, layer_table
from .options import ModelOptions, as_options

FLOPS_DIVISOR = 1.88  # NASA-F: a shift or adder PE costs 1/1.88 of a multiplier PE
_TIE = 1e-9


@dataclass
class NetworkResult:
    """A network mapped on an accelerator (all figures per image)."""
    accelerator: str
    objective: str
    dataflow_mode: str
    pe_split_mode: str
    energy_uj: float
    energy_breakdown_uj: dict
    latency_cycles: float
    latency_ms: float
    throughput_images_per_s: float
    edp_uj_ms: float
    area_mm2: float
    area_breakdown_mm2: dict
    pe_split: dict
    buffer_split_kb: dict
    dataflow: dict
    chunk_latency_cycles: dict
    dram_bound_cycles: float
    latency_definition: str = "pipelined_interval"
    pipeline_interval_ms: float = 0.0
    single_image_latency_ms: float = 0.0
    pe_budget_used: float = 0.0       # in the units of options.pe_budget
    options: dict = field(default_factory=dict)
    layers: list = field(default_factory=list)
    search: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        split = ", ".join(f"{c} {n}" for c, n in self.pe_split.items())
        flows = ", ".join(f"{c} {d}" for c, d in self.dataflow.items())
        return (f"{self.accelerator}: {self.energy_uj:.1f} uJ, {self.latency_ms:.3f} ms ({self.latency_definition}), "
                f"EDP {self.edp_uj_ms:.2f} uJ*ms, area {self.area_mm2:.3f} mm^2; PEs {split}; dataflows {flows}")


def assign_chunks(specs: list[LayerSpec], accel: Accelerator) -> list[str]:
    """The chunk name of every layer (see the module docstring)."""
    names, previous = [], None
    for spec in specs:
        chunk = chunk_for(spec, accel, previous if spec.op == "eltwise" else None)
        names.append(chunk.name)
        previous = chunk.name
    return names


def feeds(producer: LayerSpec, consumer: LayerSpec) -> bool:
    """Whether ``consumer`` reads exactly the tensor ``producer`` writes (same channels and size)."""
    return (producer.N == consumer.N and producer.K == consumer.C and producer.P == consumer.H
            and producer.Q == consumer.W)


def reuse_links(specs: list[LayerSpec], chunk_of: list[str], options: ModelOptions) -> list[bool]:
    """``links[j]``: layer j may read layer j-1's output from the buffer (same chunk, exact tensor)."""
    if not options.inter_layer_reuse:
        return [False] * len(specs)
    return [j > 0 and chunk_of[j] == chunk_of[j - 1] and feeds(specs[j - 1], specs[j]) for j in range(len(specs))]


def compositions(total: int, parts: int) -> np.ndarray:
    """Every way to write ``total`` as ``parts`` positive integers, one per row."""
    if parts < 1 or total < parts:
        return np.zeros((0, max(parts, 0)), dtype=np.int64)
    rows = [c for c in itertools.combinations(range(1, total), parts - 1)]
    cuts = np.array(rows, dtype=np.int64).reshape(len(rows), parts - 1)
    edges = np.concatenate([np.zeros((len(rows), 1), np.int64), cuts, np.full((len(rows), 1), total)], axis=1)
    return np.diff(edges, axis=1)


def largest_remainder(weights: list[float], total: int) -> list[int]:
    """Integers proportional to ``weights`` that sum exactly to ``total``, each at least 1."""
    if total < len(weights):
        raise ValueError(f"cannot give {len(weights)} chunks at least one unit each out of {total}")
    s = sum(weights)
    raw = [total * w / s for w in weights]
    out = [max(1, math.floor(r)) for r in raw]
    while sum(out) < total:
        i = max(range(len(out)), key=lambda j: (raw[j] - out[j], -j))
        out[i] += 1
    while sum(out) > total:
        i = max((j for j in range(len(out)) if out[j] > 1), key=lambda j: (out[j] - raw[j], -j))
        out[i] -= 1
    return out


def proportional_split(weights: list[float], areas: list[float], budget: float, unit: int = 1) -> list[int]:
    """PEs (multiples of ``unit``) in proportion to ``weights`` whose total ``sum(n * area)`` stays
    within ``budget``: each chunk's exact share floored (at least one unit), then single units added
    by largest remainder while they fit.  With every area 1 and ``unit`` 1 this is largest remainder."""
    lam = budget / sum(w * a for w, a in zip(weights, areas))
    raw = [lam * w / unit for w in weights]
    x = [max(1, math.floor(r + 1e-9)) for r in raw]

    def used(v):
        return sum(unit * xi * a for xi, a in zip(v, areas))
    while used(x) > budget + 1e-9:      # the one-unit minimum of small chunks: take from the largest excess
        big = [j for j in range(len(x)) if x[j] > 1]
        if not big:
            raise ValueError(f"a budget of {budget:g} cannot give every chunk one unit of {unit} PEs")
        x[max(big, key=lambda j: (x[j] - raw[j], -j))] -= 1
    for j in sorted(range(len(x)), key=lambda j: (-(raw[j] - x[j]), j)):
        if raw[j] - x[j] > 0 and used(x) + unit * areas[j] <= budget + 1e-9:
            x[j] += 1
    return [unit * xi for xi in x]


def pe_splits(budget: float, areas: list[float], unit: int) -> np.ndarray:
    """Every PE split worth trying: each chunk a positive multiple of ``unit`` PEs, ``sum(n * area)``
    within ``budget``, the last chunk as large as the others leave room for (more PEs never slow a
    chunk down; with leakage on, the search may still prefer fewer PEs in the earlier chunks)."""
    k = len(areas)
    if all(a == 1.0 for a in areas):
        return compositions(int(budget // unit), k) * unit
    ranges = []
    for a in areas[:-1]:
        ranges.append(np.arange(1, int((budget + 1e-9) // (unit * a)) + 1))
    grid = _mesh(ranges) if ranges else np.zeros((1, 0), dtype=np.int64)
    left = budget - (grid * unit * np.array(areas[:-1])).sum(axis=1)
    last = np.floor((left + 1e-9) / (unit * areas[-1])).astype(np.int64)
    rows = np.concatenate([grid, last[:, None]], axis=1)
    return rows[last >= 1] * unit


def _mesh(ranges):
    m = np.meshgrid(*ranges, indexing="ij")
    return np.stack([x.ravel() for x in m], axis=1).astype(np.int64)


def _network_objective(objective, e, lat, e_scale, l_scale):
    with np.errstate(invalid="ignore"):
        if objective == "edp":
            obj = e * lat
        elif objective == "energy":
            obj = e * (1.0 + _TIE * lat / (lat + l_scale))
        else:
            obj = lat * (1.0 + _TIE * e / (e + e_scale))
    return np.where(np.isfinite(e) & np.isfinite(lat), obj, np.inf)


def _io_per_cap(j, links, fits) -> list:
    """(input from DRAM, output to DRAM) of layer j for every buffer cap (``fits[j][u]``: its whole
    working set fits cap u)."""
    n_caps = len(fits[j])
    out = []
    for u in range(n_caps):
        keep_in = links[j] and fits[j - 1][u] and fits[j][u]
        keep_out = j + 1 < len(links) and links[j + 1] and fits[j][u] and fits[j + 1][u]
        out.append((not keep_in, not keep_out))
    return out


def map_network(specs: list[LayerSpec], accelerator, *, objective: str = "edp", dataflow: str = "auto",
                pe_split="search", buffer_units: int = 8, flops_divisor: float = FLOPS_DIVISOR,
                options: ModelOptions | dict | None = None) -> NetworkResult:
    """Map a whole network (a list of layer specs) on ``accelerator`` (a name, path or Accelerator).

    ``objective``: ``"edp"`` | ``"energy"`` | ``"latency"``.  ``dataflow``: ``"auto"`` (searched per
    chunk) or one of ``RS``, ``IS``, ``WS``, ``OS`` for every chunk.  ``pe_split``: ``"search"``,
    ``"flops_proportional"``, or a dict ``{chunk: PEs}`` (buffer then split in proportion to PEs).
    ``options``: the modelling switches (:class:`nasa_lib.hw.ModelOptions`; default the realistic set).
    """
    t0 = time.perf_counter()
    accel = load_accelerator(accelerator)
    options = as_options(options)
    check_objective(objective)
    check_dataflow(dataflow)
    if not isinstance(pe_split, dict) and pe_split not in ("search", "flops_proportional"):
        raise ValueError(f"pe_split={pe_split!r} is not valid; valid values: search, flops_proportional, "
                         f"or a dict {{chunk: PEs}}")
    if not isinstance(flops_divisor, (int, float)) or not flops_divisor > 0:
        raise ValueError(f"flops_divisor={flops_divisor!r} must be a number > 0")
    if not isinstance(buffer_units, int) or buffer_units < 1:
        raise ValueError(f"buffer_units={buffer_units!r} must be a positive integer")
    specs = list(specs)
    if not specs:
        raise ValueError("specs must list at least one layer")
    chunk_of = assign_chunks(specs, accel)
    work = [c.name for c in accel.chunks if c.name in chunk_of]
    if buffer_units < len(work):
        raise ValueError(f"buffer_units={buffer_units} must be at least the number of busy chunks ({len(work)})")
    budget, unit_bytes = accel.pe_budget, accel.gb_bytes / buffer_units
    unit = accel.pe_array_rows if options.pe_array == "rows_cols" else 1
    areas = [accel.pe_area_units(accel.chunk(c), options.pe_budget, flops_divisor) for c in work]
    n_max = {c: int((budget + 1e-9) // (unit * a)) * unit for c, a in zip(work, areas)}
    if isinstance(pe_split, dict):
        n_max = {c: max(n_max[c], int(pe_split.get(c, 0))) for c in work}
    caps = tuple(u * unit_bytes for u in range(buffer_units + 1))
    links = reuse_links(specs, chunk_of, options)
    index_of = {c: [j for j, cn in enumerate(chunk_of) if cn == c] for c in work}
    flows = {c: ((DATAFLOW_NAMES if dataflow == "auto" else (dataflow,))
                 if any(specs[j].op != "eltwise" for j in index_of[c]) else (None,)) for c in work}

    def table(j, df, io=(True, True)):
        s = specs[j]
        # an eltwise layer has no dataflow: one table serves every dataflow
        return layer_table(s, accel, accel.chunk(chunk_of[j]), "RS" if s.op == "eltwise" else df, objective,
                           caps, n_max[chunk_of[j]], options, io)

    # which layers' whole working sets fit each cap (for inter-layer reuse); the same for every dataflow
    fits = [[table(j, flows[chunk_of[j]][0]).fp_full_bytes <= cap for cap in caps] for j in range(len(specs))]
    io_of = [_io_per_cap(j, links, fits) for j in range(len(specs))]

    # chunk tables: energy / latency / DRAM bits per (dataflow, buffer units, PEs)
    tables = {}
    for c in work:
        for df in flows[c]:
            e = np.zeros((len(caps), n_max[c] + 1)); lat = np.zeros_like(e); db = np.zeros_like(e); ob = np.zeros_like(e)
            for j in index_of[c]:
                for io in set(io_of[j]):
                    rows = [u for u in range(len(caps)) if io_of[j][u] == io]
                    t = table(j, df, io)
                    e[rows] += t.energy[rows]; lat[rows] += t.latency[rows]; db[rows] += t.dram_bits[rows]
                    ob[rows] += t.obj[rows]
            lat[~np.isfinite(ob)] = np.inf
            tables[c, df] = (e, lat, db)

    # the PE and buffer splits to try
    k = len(work)
    if pe_split == "search":
        pe_rows = pe_splits(budget, areas, unit)
        buf_rows = compositions(buffer_units, k)
    else:
        if pe_split == "flops_proportional":
            weights = [float(sum(specs[j].macs for j in index_of[c])) for c in work]
            pes = proportional_split(weights, areas, budget, unit)
        else:
            unknown = sorted(set(pe_split) - set(accel.chunk_names))
            if unknown:
                raise ValueError(f"pe_split names unknown chunk(s) {unknown}; valid chunks: "
                                 f"{', '.join(accel.chunk_names)}")
            pes = [int(pe_split.get(c, 0)) for c in work]
            if min(pes) < 1 or min(pe_split.values()) < 0 or sum(pe_split.values()) > budget / min(areas) + 1e-9:
                raise ValueError(f"pe_split={pe_split} must give every busy chunk ({', '.join(work)}) at least one PE "
                                 f"and use at most the budget of {budget}")
            weights = pes
        pe_rows = np.array([pes], dtype=np.int64)
        buf_rows = np.array([largest_remainder(weights, buffer_units)], dtype=np.int64)
    if len(pe_rows) == 0:
        raise ValueError(f"the PE budget of {accel.name} cannot give each of {k} chunks one unit of {unit} PEs")

    # leakage per cycle of a split: every PE as built, and the whole buffer
    leak_pe = np.array([accel.pe_static_pj_per_cycle(accel.chunk(c)) for c in work]) if options.static_energy \
        else np.zeros(k)
    leak_gb = accel.sram_static_pj_per_cycle(accel.gb_bytes) if options.static_energy else 0.0
    static_rate = pe_rows @ leak_pe + leak_gb

    # tie-break scales (see _network_objective): rough lower bounds of the network's latency and energy
    l_scale = max(1.0, sum(s.macs / s.N for s in specs) / budget)
    e_scale = max(1e-9, sum(float(np.min(tables[c, flows[c][0]][0])) for c in work))
    best = (np.inf, None)
    evaluated = 0
    # every (PE split, buffer split) entry of each chunk's table, gathered once per dataflow; the sums
    # over the chunks are kept per prefix of the dataflow combination (the same additions, in the same
    # order, as summing chunk after chunk for every combination)
    gathered = {}

    def gather(j, c, df):
        if (c, df) not in gathered:
            e, lat, db = tables[c, df]
            idx = (buf_rows[None, :, j], pe_rows[:, None, j])
            gathered[c, df] = (e[idx], lat[idx], db[idx])
        return gathered[c, df]
    path = [((), (0.0, 0.0, 0.0, 0.0))]     # (combination prefix, its sums); path[j] covers j chunks
    need_sum = options.latency != "pipelined_interval"      # the sums only these switches read
    need_db = options.dram_bandwidth_limit
    for combo in itertools.product(*(flows[c] for c in work)):
        j = 0
        while j + 1 < len(path) and path[j + 1][0] == combo[:j + 1]:
            j += 1
        del path[j + 1:]
        e_sum, lat_max, lat_sum, db_sum = path[j][1]
        for j in range(j, k):
            ge, gl, gd = gather(j, work[j], combo[j])
            e_sum = e_sum + ge; lat_max = np.maximum(lat_max, gl)
            if need_sum:
                lat_sum = lat_sum + gl
            if need_db:
                db_sum = db_sum + gd
            path.append((combo[:j + 1], (e_sum, lat_max, lat_sum, db_sum)))
        interval = np.maximum(lat_max, db_sum / accel.dram_bits_per_cycle) if options.dram_bandwidth_limit \
            else lat_max
        lat_net = interval if options.latency == "pipelined_interval" else lat_sum
        e_net = e_sum + static_rate[:, None] * lat_net if options.static_energy else e_sum
        obj = _network_objective(objective, e_net, lat_net, e_scale, l_scale)
        evaluated += obj.size
        i = int(np.argmin(obj))
        if obj.flat[i] < best[0]:
            p, b = np.unravel_index(i, obj.shape)
            best = (obj.flat[i], (combo, pe_rows[p], buf_rows[b], static_rate[p]))
    if best[1] is None:
        raise ValueError(f"no PE / buffer split of {accel.name} fits every layer (dataflow={dataflow}, "
                         f"pe_split={pe_split}); try a bigger buffer or more buffer_units")
    combo, pes, bufs, rate = best[1]
    split = {c: int(n) for c, n in zip(work, pes)}
    # PEs of every chunk as built: a given split may also provision chunks this network leaves idle
    built = {c: int(pe_split.get(c, 0)) if isinstance(pe_split, dict) else split.get(c, 0) for c in accel.chunk_names}
    units = {c: int(u) for c, u in zip(work, bufs)}
    share = {c: units[c] * unit_bytes for c in work}
    chosen = dict(zip(work, combo))

    # re-cost every layer with its chosen mapping (reference formulas)
    details, energy = [], {p: 0.0 for p in ENERGY_PARTS}
    chunk_lat, dram_bits = {c: 0.0 for c in work}, 0.0
    for j, (s, c) in enumerate(zip(specs, chunk_of)):
        io = io_of[j][units[c]]
        cost = best_mapping(s, accel, accel.chunk(c), chosen[c] or "RS", objective, split[c], share[c], options, io)
        for p in ENERGY_PARTS:
            if p != "static":
                energy[p] += cost.energy_pj[p]
        chunk_lat[c] += cost.latency_cycles
        dram_bits += cost.dram_bits
        details.append({"name": s.name, "op": s.op, "chunk": c, "dataflow": cost.dataflow,
                        "energy_pj": cost.energy_total_pj - cost.energy_pj["static"],
                        "energy_breakdown_pj": dict(cost.energy_pj),
                        "latency_cycles": cost.latency_cycles, "cycles": dict(cost.cycles),
                        "pes_used": cost.pes_used, "pe_utilisation": cost.pe_utilisation,
                        "buffer_bytes": cost.buffer_bytes, "dram_bits": cost.dram_bits,
                        "input_from_dram": io[0], "output_to_dram": io[1], "mapping": cost.mapping})
    dram_bound = dram_bits / accel.dram_bits_per_cycle
    interval = max(max(chunk_lat.values()), dram_bound if options.dram_bandwidth_limit else 0.0)
    single = sum(chunk_lat.values())
    lat = interval if options.latency == "pipelined_interval" else single
    energy["static"] = float(rate) * lat
    e_uj = sum(energy.values()) * 1e-6
    to_ms = 1.0 / (accel.clock_mhz * 1e3)
    ms = lat * to_ms
    area = {c: built[c] * accel.pe_area_um2(accel.chunk(c)) * 1e-6 for c in accel.chunk_names}
    area["global_buffer"] = accel.gb_bytes / 1024 * accel.sram_area_mm2_per_kb
    used = sum(built[c] * accel.pe_area_units(accel.chunk(c), options.pe_budget, flops_divisor)
               for c in accel.chunk_names)
    return NetworkResult(
        accelerator=accel.name, objective=objective, dataflow_mode=dataflow,
        pe_split_mode=pe_split if isinstance(pe_split, str) else "given",
        energy_uj=e_uj, energy_breakdown_uj={p: v * 1e-6 for p, v in energy.items()},
        latency_cycles=lat, latency_ms=ms, throughput_images_per_s=accel.clock_mhz * 1e6 / interval,
        edp_uj_ms=e_uj * ms, area_mm2=sum(area.values()), area_breakdown_mm2=area,
        pe_split=built,
        buffer_split_kb={c: share.get(c, 0.0) / 1024 for c in accel.chunk_names},
        dataflow={c: chosen.get(c) for c in accel.chunk_names},
        chunk_latency_cycles=chunk_lat, dram_bound_cycles=dram_bound, latency_definition=options.latency,
        pipeline_interval_ms=interval * to_ms, single_image_latency_ms=single * to_ms, pe_budget_used=used,
        options=options.to_dict(), layers=details,
        search={"configurations": int(evaluated), "seconds": time.perf_counter() - t0,
                "buffer_units": buffer_units})


def op_cost_table(candidates: list[dict], accelerator, metric: str = "energy", *, dataflow: str = "auto",
                  pe_split="full", options: ModelOptions | dict | None = None) -> list[dict]:
    """The hardware cost of every candidate op of every searchable layer.

    ``candidates``: one dict per searchable layer, ``{op name: [LayerSpec, ...]}`` (a ``skip``
    identity has an empty list).  Returns the same structure with a float per op: energy in pJ
    per image (``metric="energy"``) or latency in cycles per image (``metric="latency"``), each
    layer mapped for that metric on its chunk.  ``pe_split="full"`` gives every chunk the whole PE
    budget and buffer (the split is not known during the search); a dict ``{chunk: PEs}`` gives
    those PEs and a buffer share in proportion to them.
    """
    if metric not in ("energy", "latency"):
        raise ValueError(f"metric={metric!r} is not valid; valid values: energy, latency")
    accel = load_accelerator(accelerator)
    options = as_options(options)
    check_dataflow(dataflow)
    if pe_split == "full":
        res = {c: (accel.pe_budget, float(accel.gb_bytes)) for c in accel.chunk_names}
    elif isinstance(pe_split, dict):
        total = sum(pe_split.values())
        res = {c: (int(n), accel.gb_bytes * n / total) for c, n in pe_split.items()}
    else:
        raise ValueError(f"pe_split={pe_split!r} is not valid; valid values: full, or a dict {{chunk: PEs}}")
    if not isinstance(candidates, (list, tuple)):
        raise ValueError("candidates must be a list with one {op: [LayerSpec, ...]} dict per searchable layer")
    out = []
    for i, layer in enumerate(candidates):
        if not isinstance(layer, dict):
            raise ValueError(f"candidates[{i}] must be a dict {{op name: [LayerSpec, ...]}}, "
                             f"got {type(layer).__name__}")
        row = {}
        for op, op_specs in layer.items():
            total, previous = 0.0, None
            for s in op_specs:
                chunk = chunk_for(s, accel, previous if s.op == "eltwise" else None)
                previous = chunk.name
                if chunk.name not in res:
                    raise ValueError(f"pe_split gives no PEs to chunk {chunk.name!r}, needed by op {op!r}")
                n_pe, cap = res[chunk.name]
                values = []
                for df in (DATAFLOW_NAMES if dataflow == "auto" else (dataflow,)):
                    t = layer_table(s, accel, chunk, df, metric, (cap,), n_pe, options)
                    values.append((t.obj[0, n_pe], t.energy[0, n_pe] if metric == "energy" else t.latency[0, n_pe]))
                    if s.op == "eltwise":
                        break
                value = min(values)[1]
                if not np.isfinite(value):
                    raise ValueError(f"op {op!r} layer {s.name!r} has no valid mapping on chunk {chunk.name!r}")
                total += value
            row[op] = float(total)
        out.append(row)
    return out
