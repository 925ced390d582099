"""Issue 17: the three cost-model bugs (each with the case that failed before) and the modelling
switches, each changing what it should and nothing else, with golden numbers worked out by hand."""
import pytest

from nasa_lib.hw import (NASAF_COMPATIBLE, PER_LAYER, Mapping, ModelOptions, eltwise_cost, evaluate_mapping,
                         load_accelerator, map_layer, map_network, proportional_split)
from nasa_lib.layerspec import LayerSpec
from nasa_lib.ops.blocks import conv_layer_specs

NASA = load_accelerator("nasa_chunk")
EYERISS = load_accelerator("eyeriss_like")
CONV = NASA.chunk("conv")
# the 1x1 layer of test_hw_costmodel's weight-stationary golden test: 32 MACs on 4 PEs
PW = LayerSpec("pw", "mult", N=1, K=4, C=2, P=2, Q=2)
PW_WS = Mapping("WS", rf={"K": 2, "C": 1, "D": 1, "P": 1, "Q": 1, "R": 1, "S": 1},
                spatial={"K": 2, "C": 2, "D": 1, "P": 1, "Q": 1, "R": 1, "S": 1})


def ws(options, n_pe=4, **kw):
    return evaluate_mapping(PW, NASA, CONV, PW_WS, n_pe=n_pe, buffer_bytes=1024, options=options, **kw)


# ---- bug (a): input size of stride-2 layers ----------------------------------------------------
def test_stride2_layers_read_the_whole_input():
    # a 3x3 stride-2 depthwise layer on a 32 x 32 input: 16 x 16 outputs.  The size derived from the
    # outputs, (16 - 1) * 2 + 3 - 2 = 31, was one row short; the exporter now records 32.
    (spec,) = conv_layer_specs("mult", "dw", 8, 8, 3, 2, 8, 32, 32, 1)
    assert (spec.P, spec.H, spec.W) == (16, 32, 32)
    derived = LayerSpec("dw", "mult", N=1, K=8, C=8, P=16, Q=16, R=3, S=3, stride=2, padding=1, groups=8)
    assert derived.H == 31                        # what every stride-2 layer used to get
    cost = map_layer(spec, NASA, options=PER_LAYER)
    assert cost.accesses["dram"]["I"] == 8 * 32 * 32           # was 8 * 31 * 31 (-6 %)
    with pytest.raises(ValueError, match="H_in=30 does not give 16 outputs"):
        LayerSpec("dw", "mult", N=1, K=8, C=8, P=16, Q=16, R=3, S=3, stride=2, padding=1, groups=8, H_in=30)


# ---- bug (c): leakage keeps the energy objective from crawling ---------------------------------
def test_static_energy_keeps_energy_mapping_near_edp_latency_on_compute_bound_layer():
    spec = LayerSpec("c3", "mult", N=1, K=64, C=64, P=16, Q=16, R=3, S=3, padding=1, H_in=16, W_in=16)
    ratios = {}
    for static in (False, True):
        options = ModelOptions(static_energy=static)
        edp = map_layer(spec, EYERISS, objective="edp", options=options)
        energy = map_layer(spec, EYERISS, objective="energy", options=options)
        assert edp.cycles["total"] == edp.cycles["compute"]        # compute-bound
        ratios[static] = energy.latency_cycles / edp.latency_cycles
    assert ratios[True] <= 1.5
    assert ratios[False] > 1.5                    # without leakage: a few PEs, many times slower


def test_static_energy_by_hand():
    # 8 cycles x (4 PEs x 6206 um^2 x 5 mW/mm^2 + 1 KB x 20 uW/KB) / 250 MHz
    pe_pj = 6206e-6 * 5.0 * 1e3 / 250                                  # 0.12412 pJ per PE-cycle
    kb_pj = 20 / 250                                                     # 0.08 pJ per KB-cycle
    on, off = ws(PER_LAYER.replace(static_energy=True)), ws(PER_LAYER)
    assert on.energy_pj["static"] == pytest.approx(8 * (4 * pe_pj + kb_pj))
    assert off.energy_pj["static"] == 0.0
    assert {k: v for k, v in on.energy_pj.items() if k != "static"} == \
        {k: v for k, v in off.energy_pj.items() if k != "static"}
    assert on.cycles == off.cycles


# ---- the switches, one layer each ---------------------------------------------------------------
def test_psum_width_by_hand():
    acc = ws(PER_LAYER.replace(psum_width="accumulator"))
    data = ws(PER_LAYER)
    # RF: 24 W/I fills at 8 bits (0.5 pJ) + 32 psum drains at 24 bits (1.5 pJ) + 128 MAC accesses,
    # half at 8 bits and half (psum read / write) at 24 bits
    assert acc.energy_pj["rf"] == pytest.approx(24 * 0.5 + 32 * 1.5 + 64 * 0.5 + 64 * 1.5)
    assert data.energy_pj["rf"] == pytest.approx((128 + 8 + 16 + 32) * 0.5)
    # NoC (2 pJ / 16 bits): 24 words at 8 bits, 32 psums at 24 bits
    assert acc.energy_pj["noc"] == pytest.approx(24 * 1.0 + 32 * 3.0)
    # GB (6 pJ / 16 bits): 32 W/I accesses and the 16 reads for DRAM at 8 bits, 16 psum writes at 24
    assert acc.energy_pj["gb"] == pytest.approx(48 * 3.0 + 16 * 9.0)
    assert acc.cycles["gb"] == pytest.approx((48 * 8 + 16 * 24) / 192)
    assert acc.buffer_bytes == 8 + 8 + 16 * 3
    for part in ("compute", "dram", "static"):
        assert acc.energy_pj[part] == data.energy_pj[part]
    assert acc.accesses == data.accesses and acc.cycles["compute"] == data.cycles["compute"]


def test_noc_bandwidth_by_hand():
    limited = ws(PER_LAYER.replace(noc_bandwidth="limited"))
    free = ws(PER_LAYER)
    # 8 + 16 + 32 words to 4 PEs at 3 words per PE per cycle
    assert limited.cycles["noc"] == pytest.approx(56 / 4 / 3)
    assert "noc" not in free.cycles
    assert limited.energy_pj == free.energy_pj and limited.cycles["total"] == free.cycles["total"] == 8


def test_dram_bandwidth_limit_by_hand():
    fc = LayerSpec("fc", "mult", N=1, K=10, C=1504, P=1, Q=1)
    m = Mapping("WS", rf={"K": 1, "C": 1, "D": 1, "P": 1, "Q": 1, "R": 1, "S": 1},
                spatial={"K": 10, "C": 16, "D": 1, "P": 1, "Q": 1, "R": 1, "S": 1})
    on = evaluate_mapping(fc, NASA, CONV, m, 168, options=PER_LAYER)
    off = evaluate_mapping(fc, NASA, CONV, m, 168, options=PER_LAYER.replace(dram_bandwidth_limit=False))
    # DRAM: 15040 weights + 1504 inputs + 10 outputs at 8 bits over a 64-bit bus
    assert on.cycles["dram"] == pytest.approx(16554 * 8 / 64) and on.cycles["total"] == on.cycles["dram"]
    assert "dram" not in off.cycles and off.cycles["total"] == max(off.cycles["compute"], off.cycles["gb"])
    assert on.energy_pj == off.energy_pj


def test_pe_array_rows_and_columns():
    options = PER_LAYER.replace(pe_array="rows_cols")
    # WS unrolls C (2) down the rows and K (2) across the columns: 2 columns of 12 PEs
    with pytest.raises(ValueError, match="spans 2 columns of 12 PEs, more than the 4 PEs available"):
        ws(options)
    assert ws(options, n_pe=24).energy_pj == ws(PER_LAYER, n_pe=24).energy_pj
    # a 48 -> 4 pointwise layer: the flat pool unrolls C = 48 x K = 2 (96 PEs); the 12-row array
    # takes at most 12 of C down its rows, so it needs more steps
    spec = LayerSpec("pw", "mult", N=1, K=4, C=48, P=8, Q=8)
    free = PER_LAYER.replace(dram_bandwidth_limit=False)
    flat = map_layer(spec, EYERISS, dataflow="WS", objective="latency", options=free)
    arr = map_layer(spec, EYERISS, dataflow="WS", objective="latency", options=free.replace(pe_array="rows_cols"))
    assert arr.mapping["spatial"]["C"] <= 12 < flat.mapping["spatial"]["C"]
    assert arr.latency_cycles >= flat.latency_cycles            # a subset of the flat pool's mappings
    wide = Mapping("WS", rf={d: 1 for d in "KCDPQRS"}, spatial={**{d: 1 for d in "KCDPQRS"}, "C": 24, "K": 4})
    assert evaluate_mapping(spec, EYERISS, EYERISS.chunks[0], wide, 168, options=free).pes_used == 96
    with pytest.raises(ValueError, match="unrolls 24 along the array's rows, more than its 12 rows"):
        evaluate_mapping(spec, EYERISS, EYERISS.chunks[0], wide, 168, options=free.replace(pe_array="rows_cols"))


def test_inter_layer_reuse_saves_the_tensor_round_trip():
    a = LayerSpec("a", "mult", N=1, K=8, C=4, P=4, Q=4, H_in=4, W_in=4)
    b = LayerSpec("b", "mult", N=1, K=4, C=8, P=4, Q=4, H_in=4, W_in=4)
    # objective energy: the DRAM traffic does not depend on the tiling, so both map alike
    on = map_network([a, b], EYERISS, objective="energy", options=PER_LAYER.replace(inter_layer_reuse=True))
    off = map_network([a, b], EYERISS, objective="energy", options=PER_LAYER)
    assert [layer["mapping"] for layer in on.layers] == [layer["mapping"] for layer in off.layers]
    assert (on.layers[0]["output_to_dram"], on.layers[1]["input_from_dram"]) == (False, False)
    # the 128-element intermediate tensor is neither written to nor read from DRAM, and neither is
    # its DRAM-side buffer access: 2 x 128 x (100 + 3) pJ at 8 bits
    assert sum(x["dram_bits"] for x in off.layers) - sum(x["dram_bits"] for x in on.layers) == 2 * 128 * 8
    assert (off.energy_uj - on.energy_uj) * 1e6 == pytest.approx(2 * 128 * 103)


def test_eltwise_reuse_by_hand():
    spec = LayerSpec("res", "eltwise", N=1, K=4, C=4, P=2, Q=2)
    kept = eltwise_cost(spec, NASA, CONV, 4, PER_LAYER, input_from_dram=False, output_to_dram=False)
    assert kept.accesses["dram"] == {"I": 16, "O": 0}           # only the skip operand comes from DRAM
    assert kept.energy_pj["dram"] == pytest.approx(16 * 100.0)
    assert kept.energy_pj["gb"] == pytest.approx((48 + 16) * 3.0)


def test_pe_budget_equal_area_and_latency_definitions(hybrid_specs_small):
    assert NASA.pe_area_units(NASA.chunk("shift"), "equal_area") == pytest.approx(4477 / 6206)
    assert NASA.pe_area_units(NASA.chunk("adder"), "nasaf_area") == pytest.approx(1 / 1.88)
    physical = map_network(hybrid_specs_small, NASA, options=PER_LAYER)
    area = map_network(hybrid_specs_small, NASA, options=PER_LAYER.replace(pe_budget="equal_area"))
    assert sum(physical.pe_split.values()) == 168
    assert area.pe_budget_used <= 168 + 1e-9 and sum(area.pe_split.values()) > 168   # cheaper PEs: more of them
    single = map_network(hybrid_specs_small, NASA, options=PER_LAYER.replace(latency="single_image"))
    for r in (physical, single):
        clock = NASA.clock_mhz * 1e3
        assert r.single_image_latency_ms == pytest.approx(sum(r.chunk_latency_cycles.values()) / clock)
        assert r.pipeline_interval_ms == pytest.approx(max(max(r.chunk_latency_cycles.values()),
                                                           r.dram_bound_cycles) / clock)
    assert physical.latency_ms == physical.pipeline_interval_ms
    assert single.latency_ms == single.single_image_latency_ms and single.latency_definition == "single_image"


def test_nasaf_compatible_lands_near_nasaf_on_its_reference_network():
    from nasa_lib.hw.reference import nasaf_block_specs
    r = map_network(nasaf_block_specs(), NASA, pe_split="flops_proportional", options=NASAF_COMPATIBLE)
    # NASA-F: 572 uJ, 1.69 ms, EDP 0.97 mJ x ms (its defects explain the rest: see the report)
    assert r.energy_uj == pytest.approx(572, rel=0.15)
    assert r.latency_ms == pytest.approx(1.69, rel=0.15)
    assert r.edp_uj_ms * 1e-3 == pytest.approx(0.97, rel=0.15)


def test_options_are_checked_in_one_line():
    with pytest.raises(ValueError, match=r"^psum_width='wide' is not valid; valid values: accumulator, data$"):
        ModelOptions(psum_width="wide")
    with pytest.raises(ValueError, match=r"^hw_mapping.model.colour is not a switch; valid switches: "):
        ModelOptions.from_dict({"colour": 1}, "hw_mapping.model")
    with pytest.raises(ValueError, match=r"static_energy=1 is not valid"):
        ModelOptions(static_energy=1)
    assert ModelOptions().flipped("pe_budget").pe_budget == "physical"
    assert ModelOptions().flipped("static_energy").flipped("static_energy") == ModelOptions()


@pytest.fixture(scope="module")
def hybrid_specs_small():
    from nasa_lib.space import FBNetLayout, arch_layer_specs
    layout = FBNetLayout(width_mult=0.25, input_size=16)
    arch = ["k3_e1", "shift_k3_e3", "add_k3_e3", "k3_e3"] + ["shift_k3_e3", "add_k3_e3"] * 9
    return arch_layer_specs(arch, layout)


def test_proportional_split_keeps_small_chunks_within_the_budget():
    # conv's exact share is 168 x 100 / 101.44 / 12 = 13.8 columns of 12 PEs, floored to 13; the shift
    # and adder chunks still get one column each (0.72 of a multiplier PE's area): 156 + 17.28 > 168,
    # so conv gives one column back: 144 + 17.28 <= 168
    assert proportional_split([100.0, 1.0, 1.0], [1.0, 0.72, 0.72], 168, 12) == [144, 12, 12]
    assert proportional_split([10.0, 5.0, 5.0], [1.0, 1.0, 1.0], 168, 1) == [84, 42, 42]
