"""Whole networks: Hybrid-All vs all-conv, the auto-mapper vs its ablations, the PE split, the
result's bookkeeping and the per-op cost table."""
import json
import math

import pytest

from nasa_lib.hw import NASAF_COMPATIBLE
from nasa_lib.hw import PER_LAYER as OPT
from nasa_lib.hw.reference import nasaf_block_specs
from nasa_lib.hw import (DATAFLOW_NAMES, FLOPS_DIVISOR, assign_chunks, largest_remainder, load_accelerator,
                         map_layer, map_network, op_cost_table)
from nasa_lib.layerspec import LayerSpec
from nasa_lib.space import arch_layer_specs, candidate_layer_specs, check_arch

# a fixed Hybrid-All network: 7 conv, 8 shift and 7 adder blocks (the mix of the network measured
# on the NASA-F simulator, SOURCES.md [NASA-F-run]), no adders in the first and last 3 layers
HYBRID_ALL = ["k3_e1", "shift_k3_e3", "k3_e3", "shift_k5_e3", "add_k3_e3", "k5_e6", "shift_k3_e6", "add_k5_e3",
              "k3_e6", "add_k3_e6", "shift_k3_e3", "add_k3_e3", "k5_e3", "shift_k5_e6", "add_k5_e6", "shift_k3_e6",
              "add_k3_e6", "k3_e6", "add_k3_e3", "shift_k3_e6", "k3_e6", "shift_k3_e6"]
ALL_CONV = [op.replace("shift_", "").replace("add_", "") for op in HYBRID_ALL]
NASA = load_accelerator("nasa_chunk")


@pytest.fixture(scope="module")
def hybrid_specs():
    from nasa_lib.space import FBNetLayout
    check_arch(HYBRID_ALL, FBNetLayout(), space="Hybrid-All")
    return arch_layer_specs(HYBRID_ALL)


@pytest.fixture(scope="module")
def hybrid_on_nasa(hybrid_specs):
    return map_network(hybrid_specs, NASA, options=OPT)


def test_hybrid_all_costs_less_energy_than_all_conv_on_the_chunk_accelerator(hybrid_specs, hybrid_on_nasa):
    conv = map_network(arch_layer_specs(ALL_CONV), NASA, options=OPT)
    assert hybrid_on_nasa.energy_uj < conv.energy_uj
    assert conv.pe_split == {"conv": 168, "shift": 0, "adder": 0}
    # on the multiplier-only baseline, shift and adder layers are 8-bit MACs of the same shapes:
    # the two networks cost exactly the same
    a = map_network(hybrid_specs, "eyeriss_like", options=OPT)
    b = map_network(arch_layer_specs(ALL_CONV), "eyeriss_like", options=OPT)
    assert a.energy_uj == pytest.approx(b.energy_uj, rel=1e-12)
    assert a.latency_cycles == pytest.approx(b.latency_cycles, rel=1e-12)


def test_auto_mapper_is_no_worse_than_its_ablations(hybrid_specs, hybrid_on_nasa):
    best = hybrid_on_nasa.edp_uj_ms
    for dataflow in DATAFLOW_NAMES:
        fixed = map_network(hybrid_specs, NASA, dataflow=dataflow, options=OPT)
        assert set(v for v in fixed.dataflow.values() if v) == {dataflow}
        assert best <= fixed.edp_uj_ms * (1 + 1e-9), dataflow
    flops = map_network(hybrid_specs, NASA, pe_split="flops_proportional", options=OPT)
    assert best <= flops.edp_uj_ms * (1 + 1e-9)
    # with a physical PE count, the FLOPs-proportional split is PEs in proportion to raw MACs
    macs = {c: 0 for c in NASA.chunk_names}
    for spec, chunk in zip(hybrid_specs, assign_chunks(hybrid_specs, NASA)):
        macs[chunk] += spec.macs
    raw = [168 * macs[c] / sum(macs.values()) for c in NASA.chunk_names]
    assert sum(flops.pe_split.values()) == 168
    assert all(abs(n - r) < 1 for n, r in zip(flops.pe_split.values(), raw))


def test_flops_proportional_split_is_nasaf_rule_on_its_reference_network():
    """Bug (b) of issue 17: NASA-F gives PEs in proportion to raw work under an area budget in which a
    shift or adder PE costs 1/1.88 of a multiplier PE; it reports 106 / 60 / 56 on this network.  The
    old rule divided shift and adder work by 1.88 and split 168 physical PEs (107 / 32 / 29)."""
    specs = nasaf_block_specs()
    r = map_network(specs, NASA, pe_split="flops_proportional", options=NASAF_COMPATIBLE)
    macs = {c: 0 for c in NASA.chunk_names}
    for spec, chunk in zip(specs, assign_chunks(specs, NASA)):
        macs[chunk] += spec.macs
    area = {"conv": 1.0, "shift": 1 / FLOPS_DIVISOR, "adder": 1 / FLOPS_DIVISOR}
    lam = 168 / sum(macs[c] * area[c] for c in macs)
    for c in NASA.chunk_names:                   # within one PE of the exact share
        assert abs(r.pe_split[c] - lam * macs[c]) < 1, c
    assert r.pe_budget_used == pytest.approx(sum(r.pe_split[c] * area[c] for c in macs)) and r.pe_budget_used <= 168 + 1e-9
    assert all(abs(r.pe_split[c] - n) <= 1 for c, n in (("conv", 106), ("shift", 60), ("adder", 56)))


def test_result_bookkeeping(hybrid_specs, hybrid_on_nasa):
    r = hybrid_on_nasa
    assert sum(r.pe_split.values()) == 168 and min(r.pe_split.values()) >= 1
    assert sum(r.buffer_split_kb.values()) == pytest.approx(128)
    assert sum(r.energy_breakdown_uj.values()) == pytest.approx(r.energy_uj)
    assert sum(layer["energy_pj"] for layer in r.layers) * 1e-6 == pytest.approx(r.energy_uj)
    assert r.latency_cycles == max(max(r.chunk_latency_cycles.values()), r.dram_bound_cycles)
    assert r.latency_ms == pytest.approx(r.latency_cycles / 250e3)
    assert r.throughput_images_per_s == pytest.approx(250e6 / r.latency_cycles)
    assert r.edp_uj_ms == pytest.approx(r.energy_uj * r.latency_ms)
    pe_area = sum(r.pe_split[c.name] * NASA.pe_area_um2(c) for c in NASA.chunks) * 1e-6
    assert r.area_mm2 == pytest.approx(pe_area + 128 * NASA.sram_area_mm2_per_kb)
    assert len(r.layers) == len(hybrid_specs)
    for layer in r.layers:
        assert layer["pes_used"] <= r.pe_split[layer["chunk"]]
        assert layer["buffer_bytes"] <= r.buffer_split_kb[layer["chunk"]] * 1024
        if layer["op"] != "eltwise":
            assert layer["dataflow"] == r.dataflow[layer["chunk"]]
    json.dumps(r.to_dict())
    assert "uJ" in r.summary()


def test_residual_adds_run_on_the_producing_chunk(hybrid_specs):
    chunks = dict(zip((s.name for s in hybrid_specs), assign_chunks(hybrid_specs, NASA)))
    assert chunks["layer0.pw1"] == "conv"
    assert chunks["layer2.residual"] == "conv" and chunks["layer8.residual"] == "conv"
    assert chunks["layer10.residual"] == "shift" and chunks["layer11.residual"] == "adder"
    assert all(chunks[s.name] == {"mult": "conv", "shift": "shift", "adder": "adder"}[s.op]
               for s in hybrid_specs if s.op != "eltwise")


def test_more_pes_or_buffer_never_raise_network_energy(hybrid_specs):
    specs = hybrid_specs[:24]   # stem and the first blocks: conv, shift and adder layers

    def energy(accel):
        return map_network(specs, accel, objective="energy", dataflow="RS", options=OPT).energy_uj

    base = energy(NASA)
    assert energy(NASA.replace(pe_budget=200)) <= base * (1 + 1e-9)
    assert energy(NASA.replace(gb_bytes=256 * 1024)) <= base * (1 + 1e-9)
    assert base <= energy(NASA.replace(gb_bytes=64 * 1024)) * (1 + 1e-9)


def test_largest_remainder_sums_exactly():
    assert largest_remainder([1, 1, 1], 168) == [56, 56, 56]
    assert largest_remainder([3.0, 1.0], 10) == [8, 2] or largest_remainder([3.0, 1.0], 10) == [7, 3]
    assert sum(largest_remainder([1000, 1, 1], 168)) == 168 and min(largest_remainder([1000, 1, 1], 168)) == 1
    with pytest.raises(ValueError, match="at least one unit"):
        largest_remainder([1, 1, 1], 2)


def test_op_cost_table():
    candidates = candidate_layer_specs("Hybrid-All")[5:7]   # layer 5 changes shape, layer 6 does not
    table = op_cost_table(candidates, NASA, metric="energy", options=OPT)
    assert [set(row) for row in table] == [set(c) for c in candidates]
    assert table[0]["skip"] > 0 and len(candidates[0]["skip"]) == 1     # a 1x1 projection
    assert table[1]["skip"] == 0.0 and candidates[1]["skip"] == []      # the identity
    for row, cand in zip(table, candidates):
        for k in (3, 5):
            for e in (1, 3, 6):
                conv, shift, add = row[f"k{k}_e{e}"], row[f"shift_k{k}_e{e}"], row[f"add_k{k}_e{e}"]
                assert shift < conv and add < conv
        # one entry restated: the sum of its layers mapped for energy on their chunks, full resources
        op = "shift_k5_e3"
        expected = sum(map_layer(s, NASA, chunk=c, objective="energy", options=OPT).energy_total_pj
                       for s, c in zip(cand[op], assign_chunks(cand[op], NASA)))
        assert row[op] == pytest.approx(expected)
    latency = op_cost_table(candidates, NASA, metric="latency", options=OPT)
    assert all(v > 0 for row in latency for op, v in row.items() if op != "skip")
    with pytest.raises(ValueError, match="metric='edp' is not valid; valid values: energy, latency"):
        op_cost_table(candidates, NASA, metric="edp", options=OPT)


def test_bad_network_arguments(hybrid_specs):
    with pytest.raises(ValueError, match="pe_split='even' is not valid"):
        map_network(hybrid_specs, NASA, pe_split="even", options=OPT)
    with pytest.raises(ValueError, match="objective='fast' is not valid"):
        map_network(hybrid_specs, NASA, objective="fast", options=OPT)
    with pytest.raises(ValueError, match="buffer_units=2 must be at least the number of busy chunks"):
        map_network(hybrid_specs, NASA, buffer_units=2, options=OPT)
    with pytest.raises(ValueError, match="every busy chunk"):
        map_network(hybrid_specs, NASA, pe_split={"conv": 100, "shift": 68}, options=OPT)
    fixed = map_network(hybrid_specs, NASA, pe_split={"conv": 100, "shift": 40, "adder": 28}, dataflow="RS", options=OPT)
    assert fixed.pe_split == {"conv": 100, "shift": 40, "adder": 28} and fixed.pe_split_mode == "given"
    assert not math.isnan(fixed.energy_uj)
    spec = LayerSpec("x", "mult", N=1, K=4, C=4, P=2, Q=2)
    with pytest.raises(ValueError, match="no chunk of .* runs op 'mult'"):
        map_network([spec], load_accelerator("nasa_chunk").replace(chunks=NASA.chunks[1:]), options=OPT)
