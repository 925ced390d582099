"""The analytical cost model of one layer on one chunk, for one mapping (the reference formulas).

Memory levels, outermost first: DRAM -> global buffer (GB) -> NoC -> per-PE register file (RF)
-> arithmetic unit.  The loop dimensions follow ``nasa_lib.layerspec``, with grouped layers
normalised to (per group copy)

    K output channels, C input channels, D depthwise channels (relevant to every tensor),
    P x Q output rows x columns, R x S kernel rows x columns, stride s.

A depthwise layer has K = C = 1 and D = channels; any other layer has D = 1 and is processed as
``groups`` identical copies one after another (no data is shared between groups).  Tensors:
W (weights, dims K C D R S), I (inputs, dims C D and the rows / columns covered by P, R / Q, S)
and O (outputs and partial sums, dims K D P Q).

A :class:`Mapping` fixes

* the dataflow (:data:`DATAFLOWS`): which dims may be unrolled across PEs, which dims are held in
  the RF, and which tensor stays in the PEs across the innermost buffer-level loops;
* the RF tile ``rf[d]`` and the spatial unrolling ``spatial[d]`` of every dim.  The array covers
  ``t_a[d] = rf[d] * spatial[d]`` elements of dim d per step; it takes
  ``n[d] = ceil(Dim[d] / t_a[d])`` steps along d, ``T = prod(n)`` steps in all;
* the DRAM-level tiling: at most one dim (K, C, D or P) is cut into ``m = ceil(Dim / g)`` buffer
  tiles of ``g`` elements (``g`` a multiple of ``t_a``); the other tensors stay whole in the buffer.

Counting rules (per group copy, per image):

* Refetches.  A tensor's array tile is sent from the GB to the PEs every time it changes.  The
  stationary tensor X of the dataflow does not change across its innermost ``run`` loops (loops of
  dims irrelevant to X), so ``M_X = T / prod(n[d] for d in run) * gamma`` where ``gamma = m`` if the
  DRAM cut is along a run dim (the buffer tiles break the run) and 1 otherwise; every other tensor
  has ``M_t = T``.
* GB reads of W and I: unique array-tile elements ``W_a * M_W + I_a * M_I`` (multicast: PEs that
  need the same element share one read).  NoC deliveries and RF fills: every PE receives its own RF
  tile, ``F * (W_r * M_W + I_r * M_I)`` with ``F = prod(spatial)`` PEs in use.
* Partial sums: every time O's tile changes, each PE drains its psums (``F * O_r * M_O`` NoC
  transfers and RF reads; the spatial reduction adds are part of the layer's additions), the
  reduced tile is written to the GB (``O_a * M_O``), and a tile visited before is first reloaded
  (``O_a * (M_O - N_O)`` GB reads, NoC transfers and RF writes, ``N_O = n_K n_D n_P n_Q``).
* Every multiply-accumulate makes 4 RF accesses (read input, read weight, read psum, write psum).
* DRAM: each tensor is read (W, I) or written (O) once; a cut along P re-reads the
  ``max(0, R - s)`` halo input rows at each of the ``m - 1`` tile borders.  Every DRAM read is a
  GB write and every DRAM write a GB read.

Energy = executed operations x unit op energy + accesses x unit access energy (16-bit cost
scaled by bits / 16) at every level.  Latency (cycles) = max(compute, GB, DRAM, NoC) with compute =
``T * prod(rf)`` (one MAC position per PE per cycle, padding included), GB = GB bits / port
bandwidth, DRAM = DRAM bits / DRAM bandwidth, NoC = words each PE receives / its NoC rate: the
levels overlap perfectly.

The modelling switches (:mod:`nasa_lib.hw.options`) act here as follows:

* ``psum_width="accumulator"``: every O access at the RF, NoC and GB (drains, reloads, array-side
  writes) and 2 of the 4 RF accesses of each MAC (psum read and write) are at
  ``accumulator_bits``; so is the buffer space of O.  Reads of final outputs for DRAM and DRAM itself
  stay at the data width (outputs are requantised on their way out).
* ``dram_bandwidth_limit=False``: the DRAM term leaves the latency.
* ``noc_bandwidth="limited"``: NoC = (NoC words / PEs in use) / ``noc.words_per_pe_per_cycle``.
* ``pe_array="rows_cols"``: each dataflow unrolls its :attr:`Dataflow.row_dims` down the array's
  ``pe_array.rows`` rows and its other spatial dims across the columns; a mapping needs
  ``rows x (columns it spans)`` PEs of the chunk.
* ``static_energy=True``: the chunk's PEs (all ``n_pe`` of them, busy or not) and its buffer share
  leak over the layer's latency (``energy_pj["static"]``).  A network's static energy is charged
  over the network's latency instead (:func:`nasa_lib.hw.map_network`).
* ``inter_layer_reuse``: acted on by the network mapper through ``input_from_dram`` /
  ``output_to_dram``: a tensor kept in the buffer between layers costs neither its DRAM access nor
  its DRAM-side buffer access.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..layerspec import LayerSpec
from .accelerator import Accelerator, Chunk
from .options import ModelOptions, as_options

DIMS = ("K", "C", "D", "P", "Q", "R", "S")
TENSOR_DIMS = {"W": ("K", "C", "D", "R", "S"), "I": ("C", "D", "P", "Q", "R", "S"), "O": ("K", "D", "P", "Q")}
SPLIT_DIMS = ("K", "C", "D", "P")
ENERGY_PARTS = ("compute", "rf", "noc", "gb", "dram", "static")
RF_ACCESSES_PER_MAC = 4


@dataclass(frozen=True)
class Dataflow:
    """A dataflow: what the PE array unrolls, what the RF holds and what stays in the PEs."""
    name: str
    stationary: str      # the tensor (W / I / O) kept in the PEs across the `run` loops
    run: tuple           # innermost buffer-level loops; their dims are irrelevant to `stationary`
    spatial: tuple       # dims that may be unrolled across PEs
    spatial_full: tuple  # dims always unrolled whole across PEs
    rf_free: tuple       # dims whose RF tile is searched
    rf_full: tuple       # dims always held whole in the RF
    description: str
    row_dims: tuple = ()  # spatial dims unrolled down the array's rows (the others go across columns)


DATAFLOWS = {
    "RS": Dataflow("RS", "W", ("Q", "P"), ("K", "D", "P"), ("R",), ("K", "C", "D", "Q"), ("S",),
                   "row stationary (Eyeriss): filter rows down the array (R), output rows across it (P), "
                   "replicated over output channels; each PE runs a 1-D row convolution over S with a "
                   "filter row, an input-row segment and a psum-row segment in its RF", ("R", "K")),
    "WS": Dataflow("WS", "W", ("Q", "P"), ("K", "C", "D"), (), ("K", "C", "D"), ("R", "S"),
                   "weight stationary: output x input channels unrolled; each PE keeps its weights while "
                   "all output pixels stream past, psums reduced across the input-channel PEs", ("C",)),
    "OS": Dataflow("OS", "O", ("C",), ("K", "D", "P", "Q"), (), ("K", "D", "Q"), ("R", "S"),
                   "output stationary: output pixels and channels unrolled; each PE accumulates its "
                   "outputs over all input channels before they leave", ("P", "K")),
    "IS": Dataflow("IS", "I", ("K",), ("C", "D", "P", "Q"), (), ("C", "D", "Q"), ("R", "S"),
                   "input stationary: input channels and pixels unrolled; each PE keeps its inputs "
                   "while all output channels' weights stream past", ("C", "P")),
}
DATAFLOW_NAMES = tuple(DATAFLOWS)


def check_dataflow(dataflow: str, allow_auto: bool = True) -> str:
    valid = (("auto",) if allow_auto else ()) + DATAFLOW_NAMES
    if dataflow not in valid:
        raise ValueError(f"dataflow={dataflow!r} is not valid; valid values: {', '.join(valid)}")
    return dataflow


# ---- layer shapes -----------------------------------------------------------------------------
@dataclass(frozen=True)
class LayerShape:
    """A layer normalised for the cost model (one group copy, one image)."""
    op: str
    K: int
    C: int
    D: int
    P: int
    Q: int
    R: int
    S: int
    stride: int
    H: int        # real (unpadded) input rows
    W: int        # real (unpadded) input columns
    copies: int   # identical group copies processed one after another

    @classmethod
    def from_spec(cls, spec: LayerSpec) -> "LayerShape":
        H, W = max(1, spec.H), max(1, spec.W)
        if spec.op == "eltwise":
            return cls("eltwise", spec.K, spec.K, 1, spec.P, spec.Q, 1, 1, 1, spec.P, spec.Q, 1)
        if spec.is_depthwise:
            return cls(spec.op, 1, 1, spec.C, spec.P, spec.Q, spec.R, spec.S, spec.stride, H, W, 1)
        g = spec.groups
        return cls(spec.op, spec.K // g, spec.C // g, 1, spec.P, spec.Q, spec.R, spec.S, spec.stride, H, W, g)

    def dim(self, d: str) -> int:
        return getattr(self, d)

    @property
    def macs(self) -> int:
        """MAC positions of one group copy of one image."""
        return self.K * self.C * self.D * self.P * self.Q * self.R * self.S

    def rows(self, p: int, r: int) -> int:
        """Input rows needed by ``p`` output rows and ``r`` kernel rows (windows overlap when r > s)."""
        return min((p - 1) * min(self.stride, r) + r, self.H)

    def cols(self, q: int, s: int) -> int:
        return min((q - 1) * min(self.stride, s) + s, self.W)

    def tile_sizes(self, t: dict) -> tuple:
        """(W, I, O) elements of a tile that spans ``t[d]`` elements of each dim."""
        w = t["K"] * t["C"] * t["D"] * t["R"] * t["S"]
        i = t["C"] * t["D"] * self.rows(t["P"], t["R"]) * self.cols(t["Q"], t["S"])
        o = t["K"] * t["D"] * t["P"] * t["Q"]
        return w, i, o

    def full(self) -> dict:
        return {d: self.dim(d) for d in DIMS}

    def dram_input_elems(self, split_dim, m: int) -> int:
        """Input elements read from DRAM: the whole input, plus halo rows re-read at P-cut borders."""
        rows = self.rows(self.P, self.R)
        if split_dim == "P":
            rows += (m - 1) * max(0, self.R - self.stride)
        return self.C * self.D * rows * self.cols(self.Q, self.S)

    def footprint_bytes(self, split_dim, g: int, bits: int, psum_bits: int) -> float:
        """Bytes the GB holds: buffer tiles of the tensors cut along ``split_dim`` (``g`` elements
        of it), the other tensors whole; W and I at ``bits``, O at ``psum_bits``."""
        t = self.full()
        if split_dim is not None:
            t[split_dim] = g
        w, i, o = self.tile_sizes(t)
        return ((w + i) * bits + o * psum_bits) / 8


def psum_bits(accel: Accelerator, chunk: Chunk, options: ModelOptions) -> int:
    """Width of a partial sum on ``chunk`` under ``options.psum_width``."""
    return accel.accumulator_bits if options.psum_width == "accumulator" else chunk.bits


def array_shape(mapping_spatial: dict, dataflow: "Dataflow") -> tuple:
    """(rows spanned, columns spanned) of a spatial unrolling under ``dataflow``'s row / column split."""
    rows = math.prod(mapping_spatial.get(d, 1) for d in dataflow.row_dims)
    cols = math.prod(mapping_spatial.get(d, 1) for d in DIMS if d not in dataflow.row_dims)
    return rows, cols


def static_pj_per_cycle(accel: Accelerator, chunk: Chunk, n_pe: int, buffer_bytes: float,
                        options: ModelOptions) -> float:
    """Leakage per cycle of a chunk's ``n_pe`` PEs and ``buffer_bytes`` of buffer (0 when switched off)."""
    if not options.static_energy:
        return 0.0
    return n_pe * accel.pe_static_pj_per_cycle(chunk) + accel.sram_static_pj_per_cycle(buffer_bytes)


def executed_op_counts(spec: LayerSpec, chunk: Chunk) -> dict:
    """Operations the chunk's PEs execute for the layer (all images of the batch).

    A layer on a PE of its own type follows ``LayerSpec.op_counts``; a shift or adder layer on a
    multiplier PE runs as multiply-accumulates (``macs`` multiplications and additions).
    """
    if spec.op not in chunk.runs:
        raise ValueError(f"layer {spec.name!r} (op {spec.op}) cannot run on chunk {chunk.name!r}, which runs "
                         f"{', '.join(chunk.runs)}")
    if spec.op in ("shift", "adder") and chunk.pe_type == "mult":
        return {"mult": spec.macs, "add": spec.macs, "shift": 0}
    return spec.op_counts()


def compute_energy_pj(spec: LayerSpec, accel: Accelerator, chunk: Chunk) -> float:
    counts = executed_op_counts(spec, chunk)
    return sum(n * accel.op_energy(op, chunk.bits) for op, n in counts.items() if n)


# ---- mappings and their costs --------------------------------------------------------------------
@dataclass(frozen=True)
class Mapping:
    """A dataflow, the RF tile and spatial unrolling per dim, and the DRAM-level cut."""
    dataflow: str
    rf: dict
    spatial: dict
    split_dim: str | None = None   # K, C, D or P; None: every tensor whole in the buffer
    split_extent: int = 0          # g: elements of split_dim per buffer tile

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class LayerCost:
    """The cost of one layer (per image, all group copies) with its access counts and breakdown."""
    name: str
    op: str
    chunk: str
    dataflow: str | None
    mapping: dict | None
    macs: int
    accesses: dict          # level -> tensor -> count (elements)
    energy_pj: dict         # compute / rf / noc / gb / dram
    cycles: dict            # compute / gb / dram / total
    pes_used: int
    pe_utilisation: float   # useful MACs / (compute cycles x PEs used)
    buffer_bytes: float
    dram_bits: float
    extra: dict = field(default_factory=dict)

    @property
    def energy_total_pj(self) -> float:
        return sum(self.energy_pj.values())

    @property
    def latency_cycles(self) -> float:
        return self.cycles["total"]

    def to_dict(self) -> dict:
        d = asdict(self)
        d["energy_total_pj"] = self.energy_total_pj
        return d


def mapping_problems(shape: LayerShape, accel: Accelerator, mapping: Mapping, n_pe: int, buffer_bytes: float,
                     bits: int, options: ModelOptions | None = None, pbits: int | None = None) -> list[str]:
    """Why ``mapping`` is not valid for the layer (an empty list when it is)."""
    options = as_options(options)
    pbits = bits if pbits is None else pbits
    problems = []
    df = DATAFLOWS.get(mapping.dataflow)
    if df is None:
        return [f"unknown dataflow {mapping.dataflow!r}"]
    rf, sp = mapping.rf, mapping.spatial
    for d in DIMS:
        size = shape.dim(d)
        r, f = rf.get(d, 1), sp.get(d, 1)
        if d in df.rf_full and r != size:
            problems.append(f"rf[{d}]={r} must be {size} (held whole in the RF by {df.name})")
        elif d not in df.rf_free and d not in df.rf_full and r != 1:
            problems.append(f"rf[{d}]={r} must be 1 under {df.name}")
        elif not 1 <= r <= size:
            problems.append(f"rf[{d}]={r} must be in [1, {size}]")
        limit = math.ceil(size / r) if r >= 1 else 0
        if d in df.spatial_full and f != limit:
            problems.append(f"spatial[{d}]={f} must be {limit} (unrolled whole by {df.name})")
        elif d not in df.spatial and d not in df.spatial_full and f != 1:
            problems.append(f"spatial[{d}]={f} must be 1 under {df.name}")
        elif not 1 <= f <= max(1, limit):
            problems.append(f"spatial[{d}]={f} must be in [1, {limit}]")
    if problems:
        return problems
    w, i, o = shape.tile_sizes(rf)
    for name, size, cap in (("weight", w, accel.rf_weight_entries), ("ifmap", i, accel.rf_ifmap_entries),
                            ("psum", o, accel.rf_psum_entries)):
        if size > cap:
            problems.append(f"RF {name} tile of {size} entries exceeds {cap}")
    pes = math.prod(sp.get(d, 1) for d in DIMS)
    if options.pe_array == "rows_cols":
        rows, cols = array_shape(sp, df)
        if rows > accel.pe_array_rows:
            problems.append(f"unrolls {rows} along the array's rows, more than its {accel.pe_array_rows} rows")
        elif accel.pe_array_rows * cols > n_pe:
            problems.append(f"spans {cols} columns of {accel.pe_array_rows} PEs, more than the {n_pe} PEs available")
    elif pes > n_pe:
        problems.append(f"uses {pes} PEs, more than the {n_pe} available")
    if mapping.split_dim is not None:
        d, g = mapping.split_dim, mapping.split_extent
        ta = rf.get(d, 1) * sp.get(d, 1)
        if d not in SPLIT_DIMS:
            problems.append(f"split_dim={d!r} must be one of {SPLIT_DIMS}")
        elif not (ta <= g < shape.dim(d) and g % ta == 0):
            problems.append(f"split_extent={g} must be a multiple of the array tile {ta} below {shape.dim(d)}")
    g = mapping.split_extent if mapping.split_dim else 0
    need = shape.footprint_bytes(mapping.split_dim, g, bits, pbits)
    if need > buffer_bytes:
        problems.append(f"needs {need:g} buffer bytes, more than the {buffer_bytes:g} available")
    return problems


def evaluate_mapping(spec: LayerSpec, accel: Accelerator, chunk: Chunk, mapping: Mapping, n_pe: int,
                     buffer_bytes: float | None = None, check: bool = True, options: ModelOptions | None = None,
                     input_from_dram: bool = True, output_to_dram: bool = True) -> LayerCost:
    """Costs of ``spec`` on ``chunk`` under ``mapping`` (the formulas of the module docstring).

    ``input_from_dram`` / ``output_to_dram`` False: the input is already in the buffer / the output
    stays there for the next layer (inter-layer reuse; only for a mapping with no DRAM-level cut).
    """
    options = as_options(options)
    shape = LayerShape.from_spec(spec)
    if shape.op == "eltwise":
        raise ValueError("evaluate_mapping: eltwise layers have no mapping; use eltwise_cost")
    bits = chunk.bits
    pbits = psum_bits(accel, chunk, options)
    if buffer_bytes is None:
        buffer_bytes = accel.gb_bytes
    rf = {d: mapping.rf.get(d, 1) for d in DIMS}
    sp = {d: mapping.spatial.get(d, 1) for d in DIMS}
    mapping = Mapping(mapping.dataflow, rf, sp, mapping.split_dim, mapping.split_extent)
    if mapping.split_dim is not None and not (input_from_dram and output_to_dram):
        raise ValueError("evaluate_mapping: inter-layer reuse needs a mapping without a DRAM-level cut")
    if check:
        problems = mapping_problems(shape, accel, mapping, n_pe, buffer_bytes, bits, options, pbits)
        if problems:
            raise ValueError(f"mapping is not valid for layer {spec.name!r}: " + "; ".join(problems))
    df = DATAFLOWS[mapping.dataflow]
    ta = {d: rf[d] * sp[d] for d in DIMS}
    n = {d: math.ceil(shape.dim(d) / ta[d]) for d in DIMS}
    steps = math.prod(n.values())
    pes = math.prod(sp.values())
    w_r, i_r, o_r = shape.tile_sizes(rf)
    w_a, i_a, o_a = shape.tile_sizes(ta)
    split, g = mapping.split_dim, mapping.split_extent
    m = math.ceil(shape.dim(split) / g) if split else 1
    gamma = m if split in df.run else 1
    refetch = {t: steps for t in "WIO"}
    refetch[df.stationary] = steps // math.prod(n[d] for d in df.run) * gamma
    distinct_o = n["K"] * n["D"] * n["P"] * n["Q"]
    reload_o = o_a * (refetch["O"] - distinct_o)

    fills = {"W": pes * w_r * refetch["W"], "I": pes * i_r * refetch["I"]}
    drains_o = pes * o_r * refetch["O"]
    dram_r = {"W": shape.K * shape.C * shape.D * shape.R * shape.S,
              "I": shape.dram_input_elems(split, m) if input_from_dram else 0}
    dram_w = shape.K * shape.D * shape.P * shape.Q if output_to_dram else 0
    c = shape.copies
    macs = shape.macs * c
    acc = {
        "rf": {"mac": RF_ACCESSES_PER_MAC * macs, "W": fills["W"] * c, "I": fills["I"] * c,
               "O": (drains_o + reload_o) * c},
        "noc": {"W": fills["W"] * c, "I": fills["I"] * c, "O": (drains_o + reload_o) * c},
        "gb": {"W": (w_a * refetch["W"] + dram_r["W"]) * c, "I": (i_a * refetch["I"] + dram_r["I"]) * c,
               "O": (o_a * refetch["O"] + reload_o + dram_w) * c},
        "dram": {"W": dram_r["W"] * c, "I": dram_r["I"] * c, "O": dram_w * c},
    }
    # bits moved per level: O at the psum width except the GB reads of final outputs for DRAM
    gb_o_psum = (o_a * refetch["O"] + reload_o) * c
    level_bits = {
        "rf": (acc["rf"]["W"] + acc["rf"]["I"] + macs * RF_ACCESSES_PER_MAC // 2) * bits
              + (acc["rf"]["O"] + macs * RF_ACCESSES_PER_MAC // 2) * pbits,
        "noc": (acc["noc"]["W"] + acc["noc"]["I"]) * bits + acc["noc"]["O"] * pbits,
        "gb": (acc["gb"]["W"] + acc["gb"]["I"] + dram_w * c) * bits + gb_o_psum * pbits,
        "dram": sum(acc["dram"].values()) * bits,
    }
    energy = {"compute": compute_energy_pj(spec, accel, chunk) / spec.N}
    for part, level in (("rf", "register_file"), ("noc", "noc"), ("gb", "global_buffer"), ("dram", "dram")):
        energy[part] = level_bits[part] * accel.access_energy(level, 16) / 16
    compute_cycles = steps * math.prod(rf.values()) * c
    cycles = {"compute": compute_cycles, "gb": level_bits["gb"] / accel.gb_port_bits_per_cycle}
    if options.dram_bandwidth_limit:
        cycles["dram"] = level_bits["dram"] / accel.dram_bits_per_cycle
    if options.noc_bandwidth == "limited":
        cycles["noc"] = sum(acc["noc"].values()) / pes / accel.noc_words_per_pe_per_cycle
    cycles["total"] = max(cycles.values())
    footprint = shape.footprint_bytes(split, g if split else 0, bits, pbits)
    energy["static"] = cycles["total"] * static_pj_per_cycle(accel, chunk, n_pe, buffer_bytes, options)
    return LayerCost(
        name=spec.name, op=spec.op, chunk=chunk.name, dataflow=df.name, mapping=mapping.to_dict(),
        macs=macs, accesses=acc, energy_pj=energy, cycles=cycles, pes_used=pes,
        pe_utilisation=macs / (compute_cycles * pes), buffer_bytes=footprint,
        dram_bits=level_bits["dram"],
        extra={"steps": steps, "refetch": refetch, "buffer_tiles": m, "gamma": gamma, "psum_bits": pbits})


def eltwise_cost(spec: LayerSpec, accel: Accelerator, chunk: Chunk, n_pe: int, options: ModelOptions | None = None,
                 buffer_bytes: float | None = None, input_from_dram: bool = True,
                 output_to_dram: bool = True) -> LayerCost:
    """A residual add of ``E = K * P * Q`` elements per image, streamed through the hierarchy.

    DRAM: read both operands, write the sum (3E).  GB: the same 3E on the DRAM side plus 2E reads
    to and E writes from the PEs (6E).  NoC: 3E.  RF: 2E operand fills, 2E operand reads, E result
    write, E drain (6E).  Compute: E additions, ``ceil(E / n_pe)`` cycles.  Inter-layer reuse:
    ``input_from_dram=False`` keeps one operand (the block's output) on chip, ``output_to_dram=False``
    keeps the sum there (E fewer DRAM and DRAM-side GB accesses each).  All at the data width.
    """
    options = as_options(options)
    if n_pe < 1:
        raise ValueError(f"n_pe={n_pe} must be >= 1")
    buffer_bytes = accel.gb_bytes if buffer_bytes is None else buffer_bytes
    e = spec.K * spec.P * spec.Q
    bits = chunk.bits
    dram_in = 2 * e - (0 if input_from_dram else e)
    dram_out = e if output_to_dram else 0
    dram = dram_in + dram_out
    acc = {"rf": {"O": 6 * e}, "noc": {"O": 3 * e}, "gb": {"O": 3 * e + dram}, "dram": {"I": dram_in, "O": dram_out}}
    energy = {"compute": compute_energy_pj(spec, accel, chunk) / spec.N,
              "rf": 6 * e * accel.access_energy("register_file", bits),
              "noc": 3 * e * accel.access_energy("noc", bits),
              "gb": (3 * e + dram) * accel.access_energy("global_buffer", bits),
              "dram": dram * accel.access_energy("dram", bits)}
    lanes = n_pe
    if options.pe_array == "rows_cols":
        lanes = accel.pe_array_rows * max(1, n_pe // accel.pe_array_rows)
    pes = min(lanes, e)
    cycles = {"compute": math.ceil(e / lanes), "gb": (3 * e + dram) * bits / accel.gb_port_bits_per_cycle}
    if options.dram_bandwidth_limit:
        cycles["dram"] = dram * bits / accel.dram_bits_per_cycle
    if options.noc_bandwidth == "limited":
        cycles["noc"] = 3 * e / pes / accel.noc_words_per_pe_per_cycle
    cycles["total"] = max(cycles.values())
    energy["static"] = cycles["total"] * static_pj_per_cycle(accel, chunk, n_pe, buffer_bytes, options)
    return LayerCost(name=spec.name, op="eltwise", chunk=chunk.name, dataflow=None, mapping=None, macs=e,
                     accesses=acc, energy_pj=energy, cycles=cycles, pes_used=pes,
                     pe_utilisation=e / (cycles["compute"] * pes), buffer_bytes=0.0, dram_bits=dram * bits)
