"""Accelerators described as data: YAML files validated on load by a small schema checker.

An accelerator file (see ``accelerators/nasa_chunk.yaml``) gives the PE budget, the chunks (each
with its PE type, bit width and the layer ops it runs), the per-PE register files, the global
buffer, DRAM, the clock, the unit energies per operation and per memory access, and unit areas.
Every number is a *sourced value*::

    clock_mhz: {value: 250, source: "where it comes from"}
    dram: {bandwidth_bits_per_cycle: {value: 64, assumption: true, reason: "why we chose it"}}

A malformed file raises ``ValueError`` with one line that names the file, the field path and the
expected value, e.g. ``nasa_chunk.yaml: chunks.adder.bits must be one of [6, 8, 16, 32], got 7``.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import yaml

ACCELERATOR_DIR = Path(__file__).resolve().parent / "accelerators"
BIT_WIDTHS = (6, 8, 16, 32)
PE_TYPES = ("mult", "shift", "adder")
LAYER_OPS = ("mult", "shift", "adder", "eltwise")
MEMORY_LEVELS = ("dram", "global_buffer", "noc", "register_file")
# Which layer ops a PE type can execute.  A multiplier PE runs shift and adder layers as
# multiply-accumulates (the Eyeriss-like baseline); shift and adder PEs cannot multiply.
PE_CAN_RUN = {"mult": {"mult", "shift", "adder", "eltwise"}, "shift": {"shift", "eltwise"},
              "adder": {"adder", "eltwise"}}
# The arithmetic units in one PE of each type (for the area model).
PE_UNITS = {"mult": ("mult", "add"), "shift": ("shift", "add"), "adder": ("add", "add")}


@dataclass(frozen=True)
class Chunk:
    """One chunk: a pool of identical PEs of ``pe_type`` working at ``bits`` bits."""
    name: str
    pe_type: str
    bits: int
    runs: tuple


@dataclass(frozen=True)
class Accelerator:
    """A validated accelerator.  Energies in pJ, sizes in bytes / entries, bandwidths in bits per cycle."""
    name: str
    pe_budget: int
    clock_mhz: float
    gb_bytes: int
    gb_port_bits_per_cycle: float
    dram_bits_per_cycle: float
    rf_ifmap_entries: int
    rf_weight_entries: int
    rf_psum_entries: int
    chunks: tuple
    op_energy_pj: tuple            # ((op, bits, pJ), ...) with op in mult / add / shift
    memory_energy_pj_per_16bit: tuple  # ((level, pJ), ...)
    unit_area_um2: tuple           # ((unit, bits, um^2), ...)
    rf_area_um2_per_bit: float
    sram_area_mm2_per_kb: float
    pe_array_rows: int             # rows of every PE array (a chunk is an array of whole columns)
    accumulator_bits: int          # width of a partial sum
    noc_words_per_pe_per_cycle: float
    logic_leakage_mw_per_mm2: float
    sram_leakage_uw_per_kb: float
    provenance: tuple = dataclasses.field(default=(), compare=False, hash=False)
    source_file: str = dataclasses.field(default="", compare=False, hash=False)

    # ---- look-ups ------------------------------------------------------------------------
    def chunk(self, name: str) -> Chunk:
        for chunk in self.chunks:
            if chunk.name == name:
                return chunk
        raise ValueError(f"chunk={name!r} is not a chunk of {self.name}; valid chunks: "
                         f"{', '.join(c.name for c in self.chunks)}")

    @property
    def chunk_names(self) -> tuple:
        return tuple(c.name for c in self.chunks)

    def op_energy(self, op: str, bits: int) -> float:
        """Energy of one ``op`` (mult / add / shift) at ``bits`` bits, in pJ."""
        for o, b, e in self.op_energy_pj:
            if o == op and b == bits:
                return e
        raise ValueError(f"{self.name}: no op_energy_pj.{op}.{bits} entry")

    def access_energy(self, level: str, bits: int) -> float:
        """Energy of one access of a ``bits``-bit word at memory ``level``, in pJ (16-bit cost * bits/16)."""
        return dict(self.memory_energy_pj_per_16bit)[level] * bits / 16.0

    def unit_area(self, unit: str, bits: int) -> float:
        for u, b, a in self.unit_area_um2:
            if u == unit and b == bits:
                return a
        raise ValueError(f"{self.name}: no unit_area_um2.{unit}.{bits} entry")

    def pe_area_um2(self, chunk: Chunk) -> float:
        """One PE of ``chunk``: its arithmetic units plus its register files (all entries at the chunk's bits)."""
        datapath = sum(self.unit_area(u, chunk.bits) for u in PE_UNITS[chunk.pe_type])
        rf_bits = (self.rf_ifmap_entries + self.rf_weight_entries + self.rf_psum_entries) * chunk.bits
        return datapath + rf_bits * self.rf_area_um2_per_bit

    def reference_pe_area_um2(self) -> float:
        """Area of one 8-bit multiplier PE: the unit of an equal-area PE budget."""
        return self.pe_area_um2(Chunk("reference", "mult", 8, ("mult",)))

    def pe_area_units(self, chunk: Chunk, pe_budget: str, flops_divisor: float = 1.88) -> float:
        """What one PE of ``chunk`` costs of the PE budget: 1 (``physical``); its area in 8-bit
        multiplier PEs (``equal_area``); or NASA-F's rule, 1 for a multiplier PE and 1 / 1.88 for a
        shift or adder PE (``nasaf_area``)."""
        if pe_budget == "physical":
            return 1.0
        if pe_budget == "nasaf_area":
            return 1.0 if chunk.pe_type == "mult" else 1.0 / flops_divisor
        if pe_budget == "equal_area":
            return self.pe_area_um2(chunk) / self.reference_pe_area_um2()
        raise ValueError(f"pe_budget={pe_budget!r} is not valid; valid values: physical, equal_area, nasaf_area")

    def pe_static_pj_per_cycle(self, chunk: Chunk) -> float:
        """Leakage of one PE of ``chunk`` per clock cycle, pJ (its area x the logic leakage density)."""
        mw = self.pe_area_um2(chunk) * 1e-6 * self.logic_leakage_mw_per_mm2
        return mw * 1e3 / self.clock_mhz

    def sram_static_pj_per_cycle(self, n_bytes: float) -> float:
        """Leakage of ``n_bytes`` of global buffer per clock cycle, pJ."""
        return n_bytes / 1024 * self.sram_leakage_uw_per_kb / self.clock_mhz

    def replace(self, **changes) -> "Accelerator":
        """A copy with some fields changed (e.g. ``pe_budget=200`` or ``gb_bytes=64 * 1024``), re-checked."""
        new = dataclasses.replace(self, **changes)
        if new.pe_budget < 1 or new.gb_bytes < 1:
            raise ValueError(f"{self.name}: pe_budget and gb_bytes must be positive, got "
                             f"{new.pe_budget} and {new.gb_bytes}")
        return new

    def describe_sources(self) -> dict:
        """Field path -> where the number comes from ('assumption: ...' for the unsourced ones)."""
        return dict(self.provenance)


# ---- the schema checker --------------------------------------------------------------------
class _Checker:
    """Walks the YAML document; every error is one line naming the file and the field path."""

    def __init__(self, filename: str):
        self.filename = filename
        self.provenance: list[tuple[str, str]] = []

    def fail(self, path: str, expected: str, got) -> None:
        raise ValueError(f"{self.filename}: {path} must be {expected}, got {got!r}")

    def mapping(self, node, path: str, required: tuple, optional: tuple = ()) -> dict:
        if not isinstance(node, dict):
            self.fail(path or "the document", "a mapping", node)
        for key in required:
            if key not in node:
                self.fail(f"{path}.{key}" if path else key, "present", None)
        unknown = sorted(set(map(str, node)) - set(map(str, required)) - set(map(str, optional)))
        if unknown:
            where = f"{path}.{unknown[0]}" if path else unknown[0]
            raise ValueError(f"{self.filename}: {where} is not a known field; valid fields here: "
                             f"{', '.join(map(str, required + optional))}")
        return node

    def sourced(self, node, path: str, minimum: float = 0.0, integer: bool = False) -> float:
        """A ``{value, source}`` or ``{value, assumption: true, reason}`` entry; returns the value."""
        node = self.mapping(node, path, ("value",), ("source", "assumption", "reason"))
        value = node["value"]
        kind = "an integer" if integer else "a number"
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (integer and not isinstance(value, int)):
            self.fail(f"{path}.value", f"{kind} > {minimum:g}", value)
        if not value > minimum:
            self.fail(f"{path}.value", f"{kind} > {minimum:g}", value)
        if node.get("assumption") is True:
            reason = node.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                self.fail(f"{path}.reason", "a non-empty string (why the assumption was made)", reason)
            self.provenance.append((path, "assumption: " + " ".join(reason.split())))
        else:
            if "assumption" in node:
                self.fail(f"{path}.assumption", "true (or absent, with a source)", node["assumption"])
            source = node.get("source")
            if not isinstance(source, str) or not source.strip():
                self.fail(f"{path}.source", "a non-empty string (or assumption: true with a reason)", source)
            self.provenance.append((path, " ".join(source.split())))
        return value

    def choice(self, value, path: str, valid) -> object:
        if isinstance(value, bool) or value not in valid:
            self.fail(path, f"one of {list(valid)}", value)
        return value

    def by_bits(self, node, path: str, units: tuple, minimum: float = 0.0) -> list:
        """``{unit: {bits: sourced value}}`` tables (unit energies, unit areas)."""
        node = self.mapping(node, path, units)
        rows = []
        for unit in units:
            table = node[unit]
            if not isinstance(table, dict) or not table:
                self.fail(f"{path}.{unit}", "a mapping from bit width to a sourced value", table)
            for bits, entry in table.items():
                self.choice(bits, f"{path}.{unit} key", BIT_WIDTHS)
                rows.append((unit, bits, float(self.sourced(entry, f"{path}.{unit}.{bits}", minimum))))
        return rows


def _parse(doc, filename: str) -> Accelerator:
    ck = _Checker(filename)
    top = ("name", "pe_budget", "clock_mhz", "global_buffer", "dram", "register_file", "chunks",
           "op_energy_pj", "memory_energy_pj_per_16bit", "unit_area_um2", "register_file_area_um2_per_bit",
           "sram_area_mm2_per_kb", "pe_array", "accumulator_bits", "noc", "static_power")
    doc = ck.mapping(doc, "", top, ("description",))
    name = doc["name"]
    if not isinstance(name, str) or not name.strip():
        ck.fail("name", "a non-empty string", name)
    pe_budget = int(ck.sourced(doc["pe_budget"], "pe_budget", 0, integer=True))
    clock = float(ck.sourced(doc["clock_mhz"], "clock_mhz"))
    gb = ck.mapping(doc["global_buffer"], "global_buffer", ("size_kb", "port_bandwidth_bits_per_cycle"))
    gb_kb = ck.sourced(gb["size_kb"], "global_buffer.size_kb")
    gb_bw = float(ck.sourced(gb["port_bandwidth_bits_per_cycle"], "global_buffer.port_bandwidth_bits_per_cycle"))
    dram = ck.mapping(doc["dram"], "dram", ("bandwidth_bits_per_cycle",))
    dram_bw = float(ck.sourced(dram["bandwidth_bits_per_cycle"], "dram.bandwidth_bits_per_cycle"))
    rf = ck.mapping(doc["register_file"], "register_file", ("ifmap_entries", "weight_entries", "psum_entries"))
    rf_entries = [int(ck.sourced(rf[k], f"register_file.{k}", 0, integer=True))
                  for k in ("ifmap_entries", "weight_entries", "psum_entries")]

    chunks_node = doc["chunks"]
    if not isinstance(chunks_node, dict) or not chunks_node:
        ck.fail("chunks", "a non-empty mapping of chunk name to chunk", chunks_node)
    chunks, used_bits, pe_types = [], set(), set()
    for cname, node in chunks_node.items():
        path = f"chunks.{cname}"
        node = ck.mapping(node, path, ("pe_type", "bits", "runs"), ("bits_source",))
        pe_type = ck.choice(node["pe_type"], f"{path}.pe_type", PE_TYPES)
        bits = ck.choice(node["bits"], f"{path}.bits", BIT_WIDTHS)
        runs = node["runs"]
        if not isinstance(runs, list) or not runs:
            ck.fail(f"{path}.runs", f"a non-empty list drawn from {list(LAYER_OPS)}", runs)
        for i, op in enumerate(runs):
            ck.choice(op, f"{path}.runs[{i}]", sorted(PE_CAN_RUN[pe_type]))
        if "bits_source" in node:
            ck.provenance.append((f"{path}.bits", " ".join(str(node["bits_source"]).split())))
        chunks.append(Chunk(str(cname), pe_type, bits, tuple(runs)))
        used_bits.add(bits)
        pe_types.add(pe_type)
    covered = {op for c in chunks for op in c.runs}
    missing = [op for op in LAYER_OPS if op not in covered]
    if missing:
        ck.fail("chunks", f"chunks that together run every layer op {list(LAYER_OPS)} (missing {missing})",
                sorted(covered))

    energies = ck.by_bits(doc["op_energy_pj"], "op_energy_pj", ("mult", "add", "shift"))
    areas = ck.by_bits(doc["unit_area_um2"], "unit_area_um2", ("mult", "add", "shift"))
    for table, path, needed in ((energies, "op_energy_pj", ("mult", "add", "shift")),
                                (areas, "unit_area_um2", None)):
        for chunk in chunks:
            units = needed or PE_UNITS[chunk.pe_type]
            for unit in units:
                if not any(u == unit and b == chunk.bits for u, b, _ in table):
                    ck.fail(f"{path}.{unit}.{chunk.bits}",
                            f"present (chunk {chunk.name} works at {chunk.bits} bits)", None)
    mem = ck.mapping(doc["memory_energy_pj_per_16bit"], "memory_energy_pj_per_16bit", MEMORY_LEVELS)
    mem_rows = tuple((lvl, float(ck.sourced(mem[lvl], f"memory_energy_pj_per_16bit.{lvl}"))) for lvl in MEMORY_LEVELS)
    rf_area = float(ck.sourced(doc["register_file_area_um2_per_bit"], "register_file_area_um2_per_bit"))
    sram_area = float(ck.sourced(doc["sram_area_mm2_per_kb"], "sram_area_mm2_per_kb"))
    array = ck.mapping(doc["pe_array"], "pe_array", ("rows",))
    rows = int(ck.sourced(array["rows"], "pe_array.rows", 0, integer=True))
    acc_bits = int(ck.sourced(doc["accumulator_bits"], "accumulator_bits", 0, integer=True))
    if acc_bits < max(c.bits for c in chunks):
        ck.fail("accumulator_bits.value", f"at least the widest chunk's data width ({max(c.bits for c in chunks)})",
                acc_bits)
    noc = ck.mapping(doc["noc"], "noc", ("words_per_pe_per_cycle",))
    noc_rate = float(ck.sourced(noc["words_per_pe_per_cycle"], "noc.words_per_pe_per_cycle"))
    static = ck.mapping(doc["static_power"], "static_power", ("logic_mw_per_mm2", "sram_uw_per_kb"))
    logic_leak = float(ck.sourced(static["logic_mw_per_mm2"], "static_power.logic_mw_per_mm2"))
    sram_leak = float(ck.sourced(static["sram_uw_per_kb"], "static_power.sram_uw_per_kb"))
    return Accelerator(
        name=name, pe_budget=pe_budget, clock_mhz=clock, gb_bytes=int(round(gb_kb * 1024)),
        gb_port_bits_per_cycle=gb_bw, dram_bits_per_cycle=dram_bw, rf_ifmap_entries=rf_entries[0],
        rf_weight_entries=rf_entries[1], rf_psum_entries=rf_entries[2], chunks=tuple(chunks),
        op_energy_pj=tuple(energies), memory_energy_pj_per_16bit=mem_rows, unit_area_um2=tuple(areas),
        rf_area_um2_per_bit=rf_area, sram_area_mm2_per_kb=sram_area, pe_array_rows=rows,
        accumulator_bits=acc_bits, noc_words_per_pe_per_cycle=noc_rate, logic_leakage_mw_per_mm2=logic_leak,
        sram_leakage_uw_per_kb=sram_leak, provenance=tuple(ck.provenance),
        source_file=filename)


def list_accelerators() -> list[str]:
    """Names of the accelerator files shipped with the package."""
    return sorted(p.stem for p in ACCELERATOR_DIR.glob("*.yaml"))


def load_accelerator(name_or_path) -> Accelerator:
    """Load and validate an accelerator: a shipped name (``"nasa_chunk"``, ``"eyeriss_like"``) or a YAML path.

    An :class:`Accelerator` passes through unchanged.
    """
    if isinstance(name_or_path, Accelerator):
        return name_or_path
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = ACCELERATOR_DIR / f"{name_or_path}.yaml"
        if not path.exists():
            raise ValueError(f"accelerator={name_or_path!r} is not known; valid names: "
                             f"{', '.join(list_accelerators())} (or a path to a YAML file)")
    if not path.exists():
        raise ValueError(f"accelerator file {str(path)!r} does not exist")
    try:
        doc = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path.name}: not valid YAML ({' '.join(str(exc).split())})") from None
    return _parse(doc, path.name)


def parse_accelerator(text: str, filename: str = "<string>") -> Accelerator:
    """Validate an accelerator given as YAML text (for tests and notebooks)."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValueError(f"{filename}: not valid YAML ({' '.join(str(exc).split())})") from None
    return _parse(doc, filename)
