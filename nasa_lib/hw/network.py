"""Whole networks on an accelerator: chunk assignment, PE / buffer split search, ablations, results.

Every layer goes to a chunk that runs its op (:func:`nasa_lib.hw.mapper.chunk_for`; a residual add
runs on the chunk of the layer that produced its input).  Chunks run concurrently on successive
images, so per image

    energy  = sum over chunks of the energy of their layers,
    latency = max(slowest chunk, all chunks' DRAM traffic / DRAM bandwidth)   (cycles),

where a chunk's latency is the sum of its layers' latencies (one layer after another) and the
second term charges the DRAM bus, which the chunks share.  Throughput = clock / latency.

A chunk has one dataflow for all its layers (it is built for it).  The search
(``pe_split="search"``) tries every split of the PE budget (every PE belongs to a chunk with
work; a chunk without layers gets none) and every split of the buffer into ``buffer_units``
equal parts, with every combination of per-chunk dataflows (``dataflow="auto"``) or one fixed
dataflow, and keeps the best under ``objective``; each layer takes its best tiling for its
chunk's PEs, buffer share and dataflow (per-layer objective = ``objective``).  Ablations: a fixed
``dataflow``, and ``pe_split="flops_proportional"`` (NASA-F: PEs in proportion to each chunk's
MACs, shift and adder chunks' MACs divided by 1.88, largest-remainder rounding so that the counts
sum exactly to the budget; buffer units in the same proportions).
"""
from __future__ import annotations

import itertools
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ..layerspec import LayerSpec
from .accelerator import Accelerator, load_accelerator
from .costmodel import DATAFLOW_NAMES, ENERGY_PARTS, check_dataflow, eltwise_cost
from .mapper import best_mapping, check_objective, chunk_for, layer_table

FLOPS_DIVISOR = 1.88  # NASA-F: shift and adder work is divided by 1.88 when splitting the PEs
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
    layers: list = field(default_factory=list)
    search: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)

    def summary(self) -> str:
        split = ", ".join(f"{c} {n}" for c, n in self.pe_split.items())
        flows = ", ".join(f"{c} {d}" for c, d in self.dataflow.items())
        return (f"{self.accelerator}: {self.energy_uj:.1f} uJ, {self.latency_ms:.3f} ms, EDP {self.edp_uj_ms:.2f} "
                f"uJ*ms, area {self.area_mm2:.3f} mm^2; PEs {split}; dataflows {flows}")


def assign_chunks(specs: list[LayerSpec], accel: Accelerator) -> list[str]:
    """The chunk name of every layer (see the module docstring)."""
    names, previous = [], None
    for spec in specs:
        chunk = chunk_for(spec, accel, previous if spec.op == "eltwise" else None)
        names.append(chunk.name)
        previous = chunk.name
    return names


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


def _network_objective(objective, e, lat, e_scale, l_scale):
    if objective == "edp":
        return e * lat
    with np.errstate(invalid="ignore"):
        if objective == "energy":
            obj = e * (1.0 + _TIE * lat / (lat + l_scale))
        else:
            obj = lat * (1.0 + _TIE * e / (e + e_scale))
    return np.where(np.isfinite(e) & np.isfinite(lat), obj, np.inf)


def map_network(specs: list[LayerSpec], accelerator, *, objective: str = "edp", dataflow: str = "auto",
                pe_split="search", buffer_units: int = 8, flops_divisor: float = FLOPS_DIVISOR) -> NetworkResult:
    """Map a whole network (a list of layer specs) on ``accelerator`` (a name, path or Accelerator).

    ``objective``: ``"edp"`` | ``"energy"`` | ``"latency"``.  ``dataflow``: ``"auto"`` (searched per
    chunk) or one of ``RS``, ``IS``, ``WS``, ``OS`` for every chunk.  ``pe_split``: ``"search"``,
    ``"flops_proportional"``, or a dict ``{chunk: PEs}`` (buffer then split in proportion to PEs).
    """
    t0 = time.perf_counter()
    accel = load_accelerator(accelerator)
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
    caps = tuple(u * unit_bytes for u in range(buffer_units + 1))
    layers_of = {c: [s for s, cn in zip(specs, chunk_of) if cn == c] for c in work}
    flows = {c: ((DATAFLOW_NAMES if dataflow == "auto" else (dataflow,))
                 if any(s.op != "eltwise" for s in layers_of[c]) else (None,)) for c in work}

    # chunk tables: energy / latency / DRAM bits per (dataflow, buffer units, PEs)
    tables = {}
    for c in work:
        chunk = accel.chunk(c)
        for df in flows[c]:
            e = np.zeros((len(caps), budget + 1)); lat = np.zeros_like(e); db = np.zeros_like(e)
            for s in layers_of[c]:
                # an eltwise layer has no dataflow: one table serves every dataflow
                t = layer_table(s, accel, chunk, "RS" if s.op == "eltwise" else df, objective, caps, budget)
                e += t.energy; lat += t.latency; db += t.dram_bits
            tables[c, df] = (e, lat, db)

    # the PE and buffer splits to try
    k = len(work)
    if pe_split == "search":
        pe_rows = compositions(budget, k)
        buf_rows = compositions(buffer_units, k)
    else:
        if pe_split == "flops_proportional":
            weights = []
            for c in work:
                macs = sum(s.macs for s in layers_of[c])
                weights.append(macs if accel.chunk(c).pe_type == "mult" else macs / flops_divisor)
            pes = largest_remainder(weights, budget)
        else:
            unknown = sorted(set(pe_split) - set(accel.chunk_names))
            if unknown:
                raise ValueError(f"pe_split names unknown chunk(s) {unknown}; valid chunks: "
                                 f"{', '.join(accel.chunk_names)}")
            pes = [int(pe_split.get(c, 0)) for c in work]
            if min(pes) < 1 or min(pe_split.values()) < 0 or sum(pe_split.values()) > budget:
                raise ValueError(f"pe_split={pe_split} must give every busy chunk ({', '.join(work)}) at least one PE "
                                 f"and use at most the budget of {budget}")
            weights = pes
        pe_rows = np.array([pes], dtype=np.int64)
        buf_rows = np.array([largest_remainder(weights, buffer_units)], dtype=np.int64)

    # tie-break scales (see _network_objective): rough lower bounds of the network's latency and energy
    l_scale = max(1.0, sum(s.macs / s.N for s in specs) / budget)
    e_scale = max(1e-9, sum(float(np.min(tables[c, flows[c][0]][0])) for c in work))
    best = (np.inf, None)
    evaluated = 0
    for combo in itertools.product(*(flows[c] for c in work)):
        e_sum = 0.0; lat_max = 0.0; db_sum = 0.0
        for j, (c, df) in enumerate(zip(work, combo)):
            e, lat, db = tables[c, df]
            idx = (buf_rows[None, :, j], pe_rows[:, None, j])
            e_sum = e_sum + e[idx]; lat_max = np.maximum(lat_max, lat[idx]); db_sum = db_sum + db[idx]
        lat_net = np.maximum(lat_max, db_sum / accel.dram_bits_per_cycle)
        obj = _network_objective(objective, e_sum, lat_net, e_scale, l_scale)
        evaluated += obj.size
        i = int(np.argmin(obj))
        if obj.flat[i] < best[0]:
            p, b = np.unravel_index(i, obj.shape)
            best = (obj.flat[i], (combo, pe_rows[p], buf_rows[b]))
    if best[1] is None:
        raise ValueError(f"no PE / buffer split of {accel.name} fits every layer (dataflow={dataflow}, "
                         f"pe_split={pe_split}); try a bigger buffer or more buffer_units")
    combo, pes, bufs = best[1]
    split = {c: int(n) for c, n in zip(work, pes)}
    # PEs of every chunk as built: a given split may also provision chunks this network leaves idle
    built = {c: int(pe_split.get(c, 0)) if isinstance(pe_split, dict) else split.get(c, 0) for c in accel.chunk_names}
    share = {c: int(u) * unit_bytes for c, u in zip(work, bufs)}
    chosen = dict(zip(work, combo))

    # re-cost every layer with its chosen mapping (reference formulas)
    details, energy = [], {p: 0.0 for p in ENERGY_PARTS}
    chunk_lat, dram_bits = {c: 0.0 for c in work}, 0.0
    for s, c in zip(specs, chunk_of):
        chunk = accel.chunk(c)
        if s.op == "eltwise":
            cost = eltwise_cost(s, accel, chunk, split[c])
        else:
            cost = best_mapping(s, accel, chunk, chosen[c], objective, split[c], share[c])
        for p in ENERGY_PARTS:
            energy[p] += cost.energy_pj[p]
        chunk_lat[c] += cost.latency_cycles
        dram_bits += cost.dram_bits
        details.append({"name": s.name, "op": s.op, "chunk": c, "dataflow": cost.dataflow,
                        "energy_pj": cost.energy_total_pj, "energy_breakdown_pj": dict(cost.energy_pj),
                        "latency_cycles": cost.latency_cycles, "cycles": dict(cost.cycles),
                        "pes_used": cost.pes_used, "pe_utilisation": cost.pe_utilisation,
                        "buffer_bytes": cost.buffer_bytes, "mapping": cost.mapping})
    dram_bound = dram_bits / accel.dram_bits_per_cycle
    lat = max(max(chunk_lat.values()), dram_bound)
    e_uj = sum(energy.values()) * 1e-6
    ms = lat / (accel.clock_mhz * 1e3)
    area = {c: built[c] * accel.pe_area_um2(accel.chunk(c)) * 1e-6 for c in accel.chunk_names}
    area["global_buffer"] = accel.gb_bytes / 1024 * accel.sram_area_mm2_per_kb
    return NetworkResult(
        accelerator=accel.name, objective=objective, dataflow_mode=dataflow,
        pe_split_mode=pe_split if isinstance(pe_split, str) else "given",
        energy_uj=e_uj, energy_breakdown_uj={p: v * 1e-6 for p, v in energy.items()},
        latency_cycles=lat, latency_ms=ms, throughput_images_per_s=accel.clock_mhz * 1e6 / lat,
        edp_uj_ms=e_uj * ms, area_mm2=sum(area.values()), area_breakdown_mm2=area,
        pe_split=built,
        buffer_split_kb={c: share.get(c, 0.0) / 1024 for c in accel.chunk_names},
        dataflow={c: chosen.get(c) for c in accel.chunk_names},
        chunk_latency_cycles=chunk_lat, dram_bound_cycles=dram_bound, layers=details,
        search={"configurations": int(evaluated), "seconds": time.perf_counter() - t0,
                "buffer_units": buffer_units})


def op_cost_table(candidates: list[dict], accelerator, metric: str = "energy", *, dataflow: str = "auto",
                  pe_split="full") -> list[dict]:
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
                    t = layer_table(s, accel, chunk, df, metric, (cap,), n_pe)
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
