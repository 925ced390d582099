"""The cost model's modelling switches: every simplification that can change a hardware conclusion.

Each switch names one piece of physics the model can leave out or put in.  Their default is the
suite's *realistic* setting; :data:`NASAF_COMPATIBLE` is the setting of the NASA-F simulator
(SOURCES.md [NASA-F] chip_predictor.py), used to compare with it; :data:`PER_LAYER` is the model
before these switches existed, whose network cost is a plain sum of per-layer table entries (DANCE's
cost tables rely on that).  The pipeline reads the realistic setting from ``params.yaml``
(``hw_mapping.model``).

========================  =====================================  =========================================
switch                    values (realistic default first)       what it changes
========================  =====================================  =========================================
dram_bandwidth_limit      True / False                           latency >= DRAM traffic / DRAM bus width
                                                                 (per layer, and the chunks' shared bus)
inter_layer_reuse         True / False                           a layer's output stays in the global
                                                                 buffer for the next layer on the same
                                                                 chunk when both layers' whole working
                                                                 sets fit: no DRAM write + read of it
psum_width                "accumulator" / "data"                 partial sums (RF, NoC and buffer traffic
                                                                 and buffer space of the output tensor)
                                                                 at the accumulator width instead of the
                                                                 data width
pe_array                  "rows_cols" / "flat"                   PEs form arrays of ``pe_array.rows`` rows;
                                                                 each dataflow unrolls some dims down the
                                                                 rows and the others across the columns,
                                                                 and a chunk gets whole columns
noc_bandwidth             "limited" / "unlimited"                each PE receives at most
                                                                 ``noc.words_per_pe_per_cycle`` words
pe_budget                 "equal_area" / "physical" /            the PE budget counts physical PEs of any
                          "nasaf_area"                           type, or area in multiplier-PE units
                                                                 (from the unit areas; or NASA-F's rule:
                                                                 a shift / adder PE is 1/1.88 of one)
static_energy             True / False                           leakage of every PE and of the global
                                                                 buffer over the latency
latency                   "pipelined_interval" / "single_image"  which latency the objective and the
                                                                 headline use (both are always reported)
========================  =====================================  =========================================

Why these defaults: each realistic value is what the hardware does (a bus has a width, accumulators
are wider than operands, arrays have rows and columns, wires have a bandwidth, transistors leak,
area is what a budget buys); the chunk accelerator's reason to exist is that its chunks work
concurrently on successive images, so its figure of merit is the pipelined interval (throughput);
the single-image latency is reported beside it.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

SWITCH_VALUES = {
    "dram_bandwidth_limit": (True, False),
    "inter_layer_reuse": (True, False),
    "psum_width": ("accumulator", "data"),
    "pe_array": ("rows_cols", "flat"),
    "noc_bandwidth": ("limited", "unlimited"),
    "pe_budget": ("equal_area", "physical", "nasaf_area"),
    "static_energy": (True, False),
    "latency": ("pipelined_interval", "single_image"),
}
SWITCH_NAMES = tuple(SWITCH_VALUES)
PSUM_WIDTHS = SWITCH_VALUES["psum_width"]
PE_ARRAYS = SWITCH_VALUES["pe_array"]
NOC_BANDWIDTHS = SWITCH_VALUES["noc_bandwidth"]
PE_BUDGETS = SWITCH_VALUES["pe_budget"]
LATENCIES = SWITCH_VALUES["latency"]
SWITCH_DOCS = {
    "dram_bandwidth_limit": "latency >= DRAM traffic / DRAM bus width",
    "inter_layer_reuse": "a layer's output stays on chip for the next layer when both fit",
    "psum_width": "partial sums at the accumulator width, not the data width",
    "pe_array": "PE arrays of rows x columns constrain the spatial unrolling",
    "noc_bandwidth": "each PE receives a bounded number of words per cycle",
    "pe_budget": "the PE budget is area (multiplier-PE units), not a physical PE count",
    "static_energy": "leakage of the PEs and the global buffer over the latency",
    "latency": "the objective's latency: pipelined interval or single-image latency",
}
# The value a sensitivity analysis flips each switch to (the realistic default's alternative).
FLIPPED = {"dram_bandwidth_limit": False, "inter_layer_reuse": False, "psum_width": "data", "pe_array": "flat",
           "noc_bandwidth": "unlimited", "pe_budget": "physical", "static_energy": False, "latency": "single_image"}


@dataclass(frozen=True)
class ModelOptions:
    """The modelling switches (see the module docstring); defaults are the realistic setting."""
    dram_bandwidth_limit: bool = True
    inter_layer_reuse: bool = True
    psum_width: str = "accumulator"
    pe_array: str = "rows_cols"
    noc_bandwidth: str = "limited"
    pe_budget: str = "equal_area"
    static_energy: bool = True
    latency: str = "pipelined_interval"

    def __post_init__(self) -> None:
        for name, valid in SWITCH_VALUES.items():
            value = getattr(self, name)
            ok = any(value is v if isinstance(v, bool) else (not isinstance(value, bool) and value == v)
                     for v in valid)
            if not ok:
                raise ValueError(f"{name}={value!r} is not valid; valid values: {', '.join(map(str, valid))}")

    @classmethod
    def from_dict(cls, d: dict, where: str = "options") -> "ModelOptions":
        """From a mapping of switch name to value; a missing or unknown key fails naming ``where.key``."""
        if not isinstance(d, dict):
            raise ValueError(f"{where} must be a mapping of switch name to value; switches: {', '.join(SWITCH_VALUES)}")
        unknown = sorted(set(d) - set(SWITCH_VALUES))
        if unknown:
            raise ValueError(f"{where}.{unknown[0]} is not a switch; valid switches: {', '.join(SWITCH_VALUES)}")
        missing = [k for k in SWITCH_VALUES if k not in d]
        if missing:
            raise ValueError(f"{where}.{missing[0]} is missing; valid values: "
                             f"{', '.join(map(str, SWITCH_VALUES[missing[0]]))}")
        try:
            return cls(**d)
        except ValueError as exc:
            raise ValueError(f"{where}.{exc}") from None

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    def replace(self, **changes) -> "ModelOptions":
        return dataclasses.replace(self, **changes)

    def flipped(self, switch: str) -> "ModelOptions":
        """This setting with ``switch`` at its alternative value (the realistic default's flip, or back)."""
        if switch not in SWITCH_VALUES:
            raise ValueError(f"switch={switch!r} is not known; valid switches: {', '.join(SWITCH_VALUES)}")
        default = SWITCH_VALUES[switch][0]
        value = FLIPPED[switch] if getattr(self, switch) == default else default
        return self.replace(**{switch: value})


# NASA-F's assumptions (SOURCES.md [NASA-F] chip_predictor.py): no bandwidth limit anywhere, every
# layer through DRAM, psums at the data width, a flat PE pool, its area-budget PE rule, no leakage,
# latency = the slowest chunk (chunks pipelined on successive images).
NASAF_COMPATIBLE = ModelOptions(dram_bandwidth_limit=False, inter_layer_reuse=False, psum_width="data",
                                pe_array="flat", noc_bandwidth="unlimited", pe_budget="nasaf_area",
                                static_energy=False, latency="pipelined_interval")
# The model before the switches existed: network cost = sum of per-layer table entries.
PER_LAYER = ModelOptions(dram_bandwidth_limit=True, inter_layer_reuse=False, psum_width="data", pe_array="flat",
                         noc_bandwidth="unlimited", pe_budget="physical", static_energy=False,
                         latency="pipelined_interval")


def as_options(options) -> ModelOptions:
    """``None`` -> the realistic default; a dict -> validated switches; a ModelOptions passes."""
    if options is None:
        return ModelOptions()
    if isinstance(options, ModelOptions):
        return options
    return ModelOptions.from_dict(options)
