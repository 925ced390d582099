"""DANCE ground truth: the cost tables against nasa_lib.hw itself, infeasible pairs, the data set
(determinism whatever the number of workers, byte-identical files), baselines by brute force."""
import numpy as np
import pytest

from nasa_lib import hw
from nasa_lib.dance import (CostTables, DanceDataset, best_design, cost_value, design_sensitivity,
                            enumerate_architectures, generate_dataset, joint_optimum, matched_accuracy_comparison,
                            sample_architectures)
from nasa_lib.dance.costtables import specs_of_pair
from nasa_lib.dance.design_space import DESIGN_SPACE_DIR
from nasa_lib.ops.registry import get_op
from nasa_lib.space import FBNetLayout

TINY = FBNetLayout(width_mult=0.25, depth_mult=0.25, in_channels=1, input_size=8, num_classes=3)
TWO_LAYERS = FBNetLayout(stage_layers=(1, 1), stage_channels=(8, 16), stage_strides=(1, 2), header_channels=32,
                         in_channels=1, input_size=8, num_classes=3)


@pytest.fixture(scope="module")
def eyeriss_tables():
    return CostTables("OnlyConv", TINY, "eyeriss_dance", workers=1)


@pytest.fixture(scope="module")
def chunk_tables():
    return CostTables("Hybrid-All", TINY, "chunk_dance", adder_free_ends=0, workers=1)


def _pairs(tables, n, seed):
    rng = np.random.default_rng(seed)
    return sample_architectures(tables.candidates, n, rng), tables.ds.sample(n, rng)


def test_eyeriss_costs_equal_map_network(eyeriss_tables):
    archs, designs = _pairs(eyeriss_tables, 4, 0)
    got = eyeriss_tables.costs(archs, designs)
    for i in range(4):
        specs, accel, pes, flows = specs_of_pair(eyeriss_tables, archs[i], designs[i])
        ref = hw.map_network(specs, accel, dataflow=flows["pe_array"], pe_split=pes, options=hw.PER_LAYER)
        assert got["latency_ms"][i] == pytest.approx(ref.latency_ms, rel=1e-9)
        assert got["energy_uj"][i] == pytest.approx(ref.energy_uj, rel=1e-9)
        assert got["area_mm2"][i] == pytest.approx(ref.area_mm2, rel=1e-12)


def test_chunk_costs_equal_map_network_with_one_dataflow(chunk_tables):
    archs, designs = _pairs(chunk_tables, 4, 1)
    names = chunk_tables.ds.names
    for j, name in enumerate(names):          # one dataflow for every chunk: what map_network can take
        if name.startswith("dataflow_"):
            designs[:, j] = designs[:, names.index("dataflow_conv")]
    got = chunk_tables.costs(archs, designs)
    for i in range(4):
        specs, accel, pes, flows = specs_of_pair(chunk_tables, archs[i], designs[i])
        ref = hw.map_network(specs, accel, dataflow=flows["conv"], pe_split=pes, options=hw.PER_LAYER)
        assert got["latency_ms"][i] == pytest.approx(ref.latency_ms, rel=1e-9)
        assert got["energy_uj"][i] == pytest.approx(ref.energy_uj, rel=1e-9)
        assert got["area_mm2"][i] == pytest.approx(ref.area_mm2, rel=1e-12)


def test_chunk_costs_with_a_dataflow_per_chunk_equal_layer_by_layer_mapping(chunk_tables):
    """map_network takes one dataflow for all chunks, so rebuild the network cost from map_layer:
    energy sums, chunk latencies sum, network latency = max(slowest chunk, DRAM bits / bandwidth)."""
    archs, designs = _pairs(chunk_tables, 3, 2)
    got = chunk_tables.costs(archs, designs)
    for i in range(3):
        specs, accel, pes, flows = specs_of_pair(chunk_tables, archs[i], designs[i])
        chunk_of = hw.assign_chunks(specs, accel)
        busy = [c for c in accel.chunk_names if c in chunk_of]
        units = dict(zip(busy, hw.largest_remainder([pes[c] for c in busy], 8)))
        energy, lat, dram = 0.0, {c: 0.0 for c in busy}, 0.0
        for s, c in zip(specs, chunk_of):
            cost = hw.map_layer(s, accel, chunk=c, n_pe=pes[c], buffer_kb=units[c] * accel.gb_bytes / 8 / 1024,
                                dataflow=flows[c], objective="edp", options=hw.PER_LAYER)
            energy += cost.energy_total_pj
            lat[c] += cost.latency_cycles
            dram += cost.dram_bits
        cycles = max(max(lat.values()), dram / accel.dram_bits_per_cycle)
        assert got["latency_cycles"][i] == pytest.approx(cycles, rel=1e-9)
        assert got["energy_uj"][i] == pytest.approx(energy * 1e-6, rel=1e-9)


def test_a_design_that_cannot_run_a_layer_costs_inf_and_is_dropped(tmp_path):
    # WS keeps R x S of the input window in the register file: 9 entries for a 3x3 kernel > 8
    text = (DESIGN_SPACE_DIR / "eyeriss_dance.yaml").read_text()
    text = text.replace("{ifmap_entries: 32, weight_entries: 56, psum_entries: 12}",
                        "{ifmap_entries: 8, weight_entries: 56, psum_entries: 12}")
    path = tmp_path / "small_rf.yaml"
    path.write_text(text)
    tables = CostTables("OnlyConv", TINY, path, workers=1)
    arch = tables.arch_indices(["k3_e1"] * len(tables.candidates))
    ds = tables.ds
    small_ws = ds.index_of({**ds.point(ds.reference_index), "register_file": {"ifmap_entries": 8, "weight_entries": 56,
                                                                             "psum_entries": 12}, "dataflow": "WS"})
    assert np.isinf(tables.costs(arch, small_ws)["energy_uj"][0])
    assert np.isfinite(tables.costs(arch, ds.reference_index)["energy_uj"][0])
    data = generate_dataset(tables, 40, 6, seed=0)
    assert data.meta["dropped_infeasible"] > 0
    assert data.meta["rows"] == len(data) == 240 - data.meta["dropped_infeasible"]
    assert np.isfinite(data.metrics).all()


def test_dataset_is_the_same_whatever_the_workers_and_files_are_byte_identical(tmp_path, chunk_tables):
    two = CostTables("Hybrid-All", TINY, "chunk_dance", adder_free_ends=0, workers=2)
    for a, b in zip(chunk_tables.slot_tables, two.slot_tables):
        assert np.array_equal(a, b)
    d1 = generate_dataset(chunk_tables, 30, 4, seed=3)
    d2 = generate_dataset(two, 30, 4, seed=3)
    for field in ("archs", "designs", "metrics", "split"):
        assert np.array_equal(getattr(d1, field), getattr(d2, field))
    d1.save(tmp_path / "a.npz")
    d2.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    back = DanceDataset.load(tmp_path / "a.npz")
    assert np.array_equal(back.metrics, d1.metrics) and back.meta == d1.meta
    # every architecture's pairs sit in one split, and every split is used
    for arch in np.unique(d1.archs, axis=0):
        assert len(set(d1.split[(d1.archs == arch).all(1)])) == 1
    assert set(d1.split) == {0, 1, 2}
    assert not np.array_equal(generate_dataset(chunk_tables, 30, 4, seed=4).archs, d1.archs)


def test_sampled_architectures_are_valid_and_reach_the_extremes(chunk_tables):
    archs = sample_architectures(chunk_tables.candidates, 400, np.random.default_rng(0))
    chunk_tables.check_archs(archs)
    kinds = np.array([[get_op(chunk_tables.candidates[i][j]).kind for i, j in enumerate(a)] for a in archs])
    top_share = np.array([max(np.mean(row == k) for k in set(row)) for row in kinds])
    assert (top_share >= 6 / 7).sum() >= 10          # nearly single-kind networks are drawn too
    assert (top_share <= 3 / 7).sum() >= 10          # and well-mixed hybrids


def test_best_design_is_the_brute_force_minimum(eyeriss_tables):
    arch = eyeriss_tables.arch_names(_pairs(eyeriss_tables, 1, 5)[0][0])
    every = eyeriss_tables.costs(eyeriss_tables.arch_indices(arch), eyeriss_tables.ds.enumerate())
    for cost in ("latency", "energy", "edp", "edap"):
        found = best_design(eyeriss_tables, arch, cost)
        assert found["cost_value"] == pytest.approx(cost_value(every, cost).min())
        assert found["designs_searched"] == 324


def test_joint_optimum_and_matched_comparison_by_hand():
    tables = CostTables("OnlyConv", TWO_LAYERS, "eyeriss_dance", workers=1)
    archs = enumerate_architectures(tables.candidates, 100)
    assert len(archs) == 81
    with pytest.raises(ValueError, match="81 architectures, more than the limit of 80"):
        enumerate_architectures(tables.candidates, 80)
    acc = np.linspace(0.5, 0.9, 81)[np.random.default_rng(0).permutation(81)]
    res = joint_optimum(tables, archs, acc, "edap", min_accuracy=0.8)
    every = np.array([cost_value(tables.costs(a, tables.ds.enumerate()), "edap").min() for a in archs])
    ok = acc >= 0.8
    assert res["optimum"]["cost_value"] == pytest.approx(every[ok].min())
    front = res["pareto_front"]
    assert [p["accuracy"] for p in front] == sorted(p["accuracy"] for p in front)
    assert all(a["cost_value"] <= b["cost_value"] for a, b in zip(front, front[1:]))
    co = [{"lam": 1, "accuracy": 97.0, "edap": 2.0}, {"lam": 3, "accuracy": 96.0, "edap": 1.0}]
    seq = [{"lam": 1, "accuracy": 97.2, "edap": 3.0}, {"lam": 3, "accuracy": 99.0, "edap": 1.5}]
    m = matched_accuracy_comparison(co, seq, 0.5)
    assert m[0]["coexplore_lam"] == 1 and m[0]["ratio"] == pytest.approx(2 / 3)
    assert m[1]["coexplore"] is None and m[1]["ratio"] is None


def test_design_sensitivity_is_consistent_with_brute_force(eyeriss_tables):
    res = design_sensitivity(eyeriss_tables, n_archs=12, seed=1, costs=("edap", "latency"))
    archs = sample_architectures(eyeriss_tables.candidates, 12, np.random.default_rng(1))
    designs = eyeriss_tables.ds.enumerate()
    for cost, r in res["costs"].items():
        values = np.stack([cost_value(eyeriss_tables.costs(a, designs), cost) for a in archs])
        best = values.argmin(1)
        assert r["distinct_best_designs"] == len(set(best.tolist()))
        assert sum(m["networks"] for m in r["most_common_best"]) <= 12
        other = values[np.arange(12), np.roll(best, -1)] / values.min(1)
        assert r["other_networks_best_ratio_max"] == pytest.approx(other.max()) and other.min() >= 1.0
