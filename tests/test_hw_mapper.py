"""The per-layer auto-mapper: its choice equals a brute-force enumeration written with plain loops
and the reference formulas, its tables agree with the reference formulas, and more PEs or a
bigger buffer never make its best result worse."""
import itertools
import math

import numpy as np
import pytest

from nasa_lib.hw import PER_LAYER as OPT
from nasa_lib.hw import (DATAFLOW_NAMES, DATAFLOWS, Mapping, ModelOptions, best_mapping, evaluate_mapping,
                         layer_table, load_accelerator, map_layer, pe_counts)
from nasa_lib.hw.costmodel import DIMS, SPLIT_DIMS, LayerShape, mapping_problems
from nasa_lib.layerspec import LayerSpec

NASA = load_accelerator("nasa_chunk")
SMALL = [
    LayerSpec("conv3x3", "mult", N=1, K=3, C=2, P=3, Q=3, R=3, S=3, padding=1),
    LayerSpec("dw_s2", "shift", N=1, K=4, C=4, P=2, Q=2, R=3, S=3, stride=2, padding=1, groups=4, bits_w=6, bits_a=6),
    LayerSpec("pw_g2", "adder", N=1, K=4, C=6, P=2, Q=3, groups=2, bits_w=6, bits_a=6),
]


def objective_value(cost, objective):
    e, lat = cost.energy_total_pj, cost.latency_cycles
    return {"edp": e * lat, "energy": e, "latency": lat}[objective]


# the model before the switches, and the realistic setting (array rows x columns, 24-bit psums,
# NoC and DRAM limits, leakage): the mapper must be exact under both
SETTINGS = {"per_layer": OPT, "realistic": ModelOptions()}


def brute_force(spec, chunk, dataflow, objective, n_pe, buffer_bytes, options=OPT):
    """Every valid mapping, enumerated with plain loops over all integers, costed one by one."""
    shape = LayerShape.from_spec(spec)
    df = DATAFLOWS[dataflow]
    size = {d: shape.dim(d) for d in DIMS}
    rf_choices = [range(1, size[d] + 1) if d in df.rf_free else [size[d] if d in df.rf_full else 1] for d in DIMS]
    best = math.inf
    for rf_vals in itertools.product(*rf_choices):
        rf = dict(zip(DIMS, rf_vals))
        sp_choices = []
        for d in DIMS:
            limit = math.ceil(size[d] / rf[d])
            sp_choices.append([limit] if d in df.spatial_full else range(1, limit + 1) if d in df.spatial else [1])
        for sp_vals in itertools.product(*sp_choices):
            sp = dict(zip(DIMS, sp_vals))
            if math.prod(sp_vals) > n_pe:
                continue      # (with an array shape, mapping_problems also checks rows and columns)
            cuts = [(None, 0)]
            for d in SPLIT_DIMS:
                ta = rf[d] * sp[d]
                cuts += [(d, g) for g in range(ta, size[d], ta)]
            for d, g in cuts:
                m = Mapping(dataflow, rf, sp, d, g)
                if mapping_problems(shape, NASA, m, n_pe, buffer_bytes, chunk.bits, options,
                                    NASA.accumulator_bits if options.psum_width == "accumulator" else chunk.bits):
                    continue
                cost = evaluate_mapping(spec, NASA, chunk, m, n_pe, buffer_bytes, check=False, options=options)
                best = min(best, objective_value(cost, objective))
    return best


@pytest.mark.parametrize("spec", SMALL, ids=lambda s: s.name)
@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
@pytest.mark.parametrize("setting", list(SETTINGS))
def test_mapper_choice_equals_brute_force(spec, objective, setting):
    options = SETTINGS[setting]
    chunk = NASA.chunk({"mult": "conv", "shift": "shift", "adder": "adder"}[spec.op])
    shape = LayerShape.from_spec(spec)
    pbits = NASA.accumulator_bits if options.psum_width == "accumulator" else chunk.bits
    whole = shape.footprint_bytes(None, 0, chunk.bits, pbits)
    pes = (5, 12) if options.pe_array == "flat" else (12, 24)      # whole 12-row columns with an array
    for dataflow in DATAFLOW_NAMES:
        for n_pe, buffer_bytes in ((pes[0], whole), (pes[1], 0.6 * whole)):   # the tight buffer forces a cut
            expected = brute_force(spec, chunk, dataflow, objective, n_pe, buffer_bytes, options)
            assert math.isfinite(expected)
            try:
                got = objective_value(best_mapping(spec, NASA, chunk, dataflow, objective, n_pe, buffer_bytes,
                                                   options=options), objective)
            except ValueError:
                got = math.inf
            assert got == pytest.approx(expected, rel=1e-7), (dataflow, n_pe, buffer_bytes)


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_tables_agree_with_reference_formulas_on_network_layers(setting):
    options = SETTINGS[setting]
    chunk = NASA.chunk("conv")
    specs = [LayerSpec("pw1", "mult", N=1, K=96, C=16, P=32, Q=32),
             LayerSpec("dw", "mult", N=1, K=144, C=144, P=16, Q=16, R=5, S=5, stride=2, padding=2, groups=144),
             LayerSpec("pw_g2", "mult", N=1, K=64, C=112, P=8, Q=8, groups=2),
             LayerSpec("fc", "mult", N=1, K=10, C=1504, P=1, Q=1)]
    caps = tuple(u * 16 * 1024 for u in range(9))
    rng = np.random.default_rng(0)
    for spec in specs:
        for dataflow in DATAFLOW_NAMES:
            table = layer_table(spec, NASA, chunk, dataflow, "edp", caps, 168, options=options)
            counts = pe_counts(NASA, 168, options)
            for b, n in zip(rng.integers(1, 9, 4), rng.choice(counts, 4)):
                cost = best_mapping(spec, NASA, chunk, dataflow, "edp", int(n), caps[b], options=options)
                # the table holds the dynamic energy; its objective also charged the leakage
                assert cost.energy_total_pj - cost.energy_pj["static"] == pytest.approx(table.energy[b, n], rel=1e-12)
                assert cost.latency_cycles == pytest.approx(table.latency[b, n], rel=1e-12)


@pytest.mark.parametrize("objective", ["edp", "energy", "latency"])
def test_more_pes_or_buffer_never_make_a_layer_worse(objective):
    chunk = NASA.chunk("conv")
    spec = LayerSpec("pw2", "mult", N=1, K=24, C=144, P=32, Q=32)
    values = []
    for n_pe, kb in ((8, 16), (8, 64), (40, 16), (40, 64), (168, 64), (168, 128)):
        cost = map_layer(spec, NASA, n_pe=n_pe, buffer_kb=kb, objective=objective, options=OPT)
        values.append(objective_value(cost, objective))
    v = dict(zip(((8, 16), (8, 64), (40, 16), (40, 64), (168, 64), (168, 128)), values))
    for (n1, b1), (n2, b2) in itertools.product(v, v):
        if n1 <= n2 and b1 <= b2:
            assert v[n2, b2] <= v[n1, b1] * (1 + 1e-9), ((n1, b1), (n2, b2))
    # and the table over every PE count and buffer share is monotone as well
    caps = tuple(u * 16 * 1024 for u in range(9))
    obj = layer_table(spec, NASA, chunk, "RS", objective, caps, 168, options=OPT).obj
    finite = np.where(np.isfinite(obj), obj, 1e300)
    assert np.all(np.diff(finite, axis=1) <= 1e-9 * finite[:, 1:])
    assert np.all(np.diff(finite, axis=0) <= 1e-9 * finite[1:, :])
    # a bigger accelerator (more PEs than the NASA budget) only helps
    big = NASA.replace(pe_budget=336)
    assert objective_value(map_layer(spec, big, n_pe=336, objective=objective, options=OPT), objective) <= \
        objective_value(map_layer(spec, NASA, objective=objective, options=OPT), objective) * (1 + 1e-9)


def test_map_layer_picks_the_chunk_and_reports_its_mapping():
    spec = LayerSpec("shift_pw", "shift", N=1, K=32, C=16, P=8, Q=8, bits_w=6, bits_a=6)
    cost = map_layer(spec, "nasa_chunk", options=OPT)
    assert cost.chunk == "shift" and cost.dataflow in DATAFLOW_NAMES
    m = Mapping(cost.mapping["dataflow"], cost.mapping["rf"], cost.mapping["spatial"],
                cost.mapping["split_dim"], cost.mapping["split_extent"])
    again = evaluate_mapping(spec, NASA, NASA.chunk("shift"), m, NASA.pe_budget, options=OPT)
    assert again.energy_total_pj == pytest.approx(cost.energy_total_pj)
    fixed = map_layer(spec, "nasa_chunk", dataflow="WS", options=OPT)
    assert fixed.dataflow == "WS" and objective_value(fixed, "edp") >= objective_value(cost, "edp") * (1 - 1e-12)


def test_bad_arguments_name_the_parameter():
    spec = SMALL[0]
    with pytest.raises(ValueError, match="objective='speed' is not valid; valid values: edp, energy, latency"):
        map_layer(spec, NASA, objective="speed", options=OPT)
    with pytest.raises(ValueError, match="dataflow='XS' is not valid; valid values: auto, RS, WS, OS, IS"):
        map_layer(spec, NASA, dataflow="XS", options=OPT)
    with pytest.raises(ValueError, match="chunk='adder' does not run op 'mult'"):
        map_layer(spec, NASA, chunk="adder", options=OPT)
    with pytest.raises(ValueError, match="n_pe=0 must be >= 1"):
        map_layer(spec, NASA, n_pe=0, options=OPT)
    with pytest.raises(ValueError, match="has no valid mapping"):
        map_layer(spec, NASA, buffer_kb=0.01, options=OPT)


def test_costs_are_per_image_whatever_the_batch():
    one = LayerSpec("pw", "mult", N=1, K=32, C=16, P=8, Q=8)
    four = LayerSpec("pw", "mult", N=4, K=32, C=16, P=8, Q=8)
    a, b = map_layer(one, NASA, options=OPT), map_layer(four, NASA, options=OPT)
    assert b.energy_total_pj == pytest.approx(a.energy_total_pj) and b.latency_cycles == a.latency_cycles
    assert b.energy_pj["compute"] == pytest.approx(32 * 16 * 64 * (0.2 + 0.03))


@pytest.mark.parametrize("spec", SMALL, ids=lambda s: s.name)
@pytest.mark.parametrize("setting", sorted(SETTINGS))
def test_cached_candidates_for_fewer_pes_equal_a_fresh_enumeration(spec, setting):
    """The mapper reuses the candidates enumerated for more PEs (a prefix) and the enumeration across
    word widths; either must give exactly the arrays a fresh enumeration gives."""
    from nasa_lib.hw import mapper as M
    from nasa_lib.hw.costmodel import psum_bits
    options = SETTINGS[setting]
    chunk = NASA.chunk(M.chunk_for(spec, NASA).name)
    M.clear_cache()
    for dataflow in DATAFLOW_NAMES:
        for objective in ("edp",):
            ctx = M._Context.make(spec, NASA, chunk, objective, options)
            M._cands_for(ctx, dataflow, NASA.pe_budget)                  # the widest first
            for n in (1, 5, 12, 13, 40, NASA.pe_budget):
                got = M._cands_for(ctx, dataflow, n)
                a = NASA
                mem = tuple(dict(a.memory_energy_pj_per_16bit)[k] for k in ("dram", "register_file", "noc",
                                                                          "global_buffer"))
                rows = a.pe_array_rows if options.pe_array == "rows_cols" else 0
                want = M.candidates.__wrapped__(ctx.shape, dataflow, (a.rf_ifmap_entries, a.rf_weight_entries,
                                                a.rf_psum_entries), n, chunk.bits, mem,
                                                psum_bits(NASA, chunk, options), rows)
                assert (got is None) == (want is None)
                if want is None:
                    continue
                for f in ("pes", "used", "compute", "e_a", "e_b", "gb_a", "gb_b", "noc_a", "noc_b"):
                    assert np.array_equal(getattr(got, f), getattr(want, f)), f
                for f in ("rf", "sp", "ta"):
                    for d in DIMS:
                        assert np.array_equal(getattr(got, f)[d], getattr(want, f)[d]), (f, d)


def test_settings_that_differ_only_in_network_level_switches_share_identical_tables():
    """layer_table ignores the switches only map_network reads: a table built fresh under each of them
    equals the shared one, bit for bit."""
    from nasa_lib.hw import mapper as M
    base = ModelOptions()
    chunk = M.chunk_for(SMALL[0], NASA)
    caps = (0.0, 4096.0, 65536.0)
    M.clear_cache()
    shared = layer_table(SMALL[0], NASA, chunk, "RS", "edp", caps, 24, base)
    for switch in M._NETWORK_ONLY:
        M.clear_cache()
        fresh = layer_table(SMALL[0], NASA, chunk, "RS", "edp", caps, 24, base.flipped(switch))
        for f in ("obj", "energy", "latency", "dram_bits"):
            assert np.array_equal(getattr(fresh, f), getattr(shared, f)), (switch, f)
    M.clear_cache()
