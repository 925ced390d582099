"""Golden tests of the cost model: access counts, energy and latency of small layers under given
mappings equal hand calculations written out here from what the hardware does."""
import pytest

from nasa_lib.hw import PER_LAYER as OPT
from nasa_lib.hw import Mapping, eltwise_cost, evaluate_mapping, executed_op_counts, load_accelerator
from nasa_lib.layerspec import LayerSpec

NASA = load_accelerator("nasa_chunk")
CONV = NASA.chunk("conv")      # 8-bit: every access costs its 16-bit value * 8 / 16
EYERISS = load_accelerator("eyeriss_like")


def full(**dims):
    d = {k: 1 for k in "KCDPQRS"}
    d.update(dims)
    return d


def test_weight_stationary_1x1_conv_by_hand():
    # 1x1 conv, 2 -> 4 channels, 2 x 2 outputs: 32 MACs.  WS on 4 PEs: PE (k-pair j, channel c)
    # keeps w[2j:2j+2, c] in its RF while the 4 output pixels stream past.
    spec = LayerSpec("pw", "mult", N=1, K=4, C=2, P=2, Q=2)
    m = Mapping("WS", rf=full(K=2), spatial=full(K=2, C=2))
    cost = evaluate_mapping(spec, NASA, CONV, m, n_pe=4, buffer_bytes=1024, options=OPT)
    acc = cost.accesses
    # weights: each PE is filled once with its 2 weights (8 in all); the GB reads each weight once
    # for the array and once when it arrives from DRAM
    assert acc["rf"]["W"] == 4 * 2 and acc["noc"]["W"] == 8 and acc["gb"]["W"] == 8 + 8
    # inputs: per pixel the 2 channel values go to the 2 PEs of each channel: 4 PEs x 4 pixels;
    # the GB reads 2 values per pixel (multicast) plus the 8 written from DRAM
    assert acc["rf"]["I"] == 16 and acc["noc"]["I"] == 16 and acc["gb"]["I"] == 2 * 4 + 8
    # psums: each PE drains 2 psums per pixel (32), reduced over the 2 channel PEs into 4 outputs
    # per pixel written to the GB (16), later read out to DRAM (16); nothing is reloaded
    assert acc["rf"]["O"] == 32 and acc["noc"]["O"] == 32 and acc["gb"]["O"] == 16 + 16
    assert acc["rf"]["mac"] == 4 * 32                       # 4 RF accesses per MAC
    assert acc["dram"] == {"W": 8, "I": 8, "O": 16}
    e = cost.energy_pj
    assert e["compute"] == pytest.approx(32 * 0.2 + 32 * 0.03)        # 8-bit mult + add per MAC
    assert e["rf"] == pytest.approx((128 + 8 + 16 + 32) * 1 * 0.5)
    assert e["noc"] == pytest.approx((8 + 16 + 32) * 2 * 0.5)
    assert e["gb"] == pytest.approx((16 + 16 + 32) * 6 * 0.5)
    assert e["dram"] == pytest.approx(32 * 200 * 0.5)
    assert cost.energy_total_pj == pytest.approx(7.36 + 92 + 56 + 192 + 3200)
    # 4 steps (pixels) x 2 MACs per PE = 8 cycles; GB 64 words * 8 bit / 192; DRAM 32 * 8 / 64
    assert cost.cycles == pytest.approx({"compute": 8, "gb": 64 * 8 / 192, "dram": 4, "total": 8})
    assert cost.pes_used == 4 and cost.pe_utilisation == 1.0
    assert cost.buffer_bytes == 8 + 8 + 16                  # whole tensors at one byte each


def test_output_stationary_with_channel_cut_reloads_psums():
    # 3x3 conv, 4 -> 2 channels, 2 x 2 outputs, padding 1 (input 2 x 2): 288 MACs.  OS on 2 PEs
    # (one per output row); each PE keeps 2 channels x 2 columns of outputs.  The buffer holds
    # 2 of the 4 input channels at a time (cut C, g = 2): outputs leave the PEs after each half.
    spec = LayerSpec("conv", "mult", N=1, K=2, C=4, P=2, Q=2, R=3, S=3, padding=1)
    m = Mapping("OS", rf=full(K=2, Q=2, R=3, S=3), spatial=full(P=2), split_dim="C", split_extent=2)
    cost = evaluate_mapping(spec, NASA, CONV, m, n_pe=2, buffer_bytes=1024, options=OPT)
    acc = cost.accesses
    # 4 steps (one input channel each); each PE gets 2 x 9 weights per step, and a 2 x 2 input
    # patch (rows and columns clipped to the 2 x 2 input)
    assert acc["rf"]["W"] == 2 * 18 * 4 and acc["rf"]["I"] == 2 * 4 * 4
    # the GB sends the 18 weights once per step (both PEs need them) and the 2 x 2 input plane
    assert acc["gb"]["W"] == 18 * 4 + 72 and acc["gb"]["I"] == 4 * 4 + 16
    # psums leave the PEs twice (after channels 0-1 and 2-3): 2 PEs x 4 psums x 2 = 16 drains,
    # 8 outputs x 2 GB writes, the 8 partial outputs reloaded once, 8 final outputs read for DRAM
    assert acc["rf"]["O"] == 16 + 8 and acc["noc"]["O"] == 16 + 8
    assert acc["gb"]["O"] == 8 * 2 + 8 + 8
    assert acc["dram"] == {"W": 72, "I": 16, "O": 8}
    assert acc["rf"]["mac"] == 4 * 288
    rf_total = 4 * 288 + 144 + 32 + 24
    assert cost.energy_pj["rf"] == pytest.approx(rf_total * 0.5)
    assert cost.energy_pj["noc"] == pytest.approx((144 + 32 + 24) * 2 * 0.5)
    assert cost.energy_pj["gb"] == pytest.approx((144 + 32 + 32) * 6 * 0.5)
    assert cost.energy_pj["dram"] == pytest.approx(96 * 100)
    assert cost.energy_pj["compute"] == pytest.approx(288 * 0.23)
    # 4 steps x (2 x 2 x 3 x 3 = 36) MACs per PE
    assert cost.cycles["compute"] == 144 and cost.cycles["total"] == 144
    assert cost.extra["buffer_tiles"] == 2 and cost.extra["gamma"] == 2
    # buffer: weights and inputs of 2 channels (36 + 8) and all 8 outputs
    assert cost.buffer_bytes == 36 + 8 + 8


def test_row_stationary_3x3_conv_by_hand():
    # single-channel 3x3 conv on a 4 x 4 input (padding 1): 144 MACs.  RS: 3 filter rows x 4
    # output rows = 12 PEs; each PE convolves one filter row (3 weights) with one input row (4
    # values) into one psum row (4 values).
    spec = LayerSpec("rs", "mult", N=1, K=1, C=1, P=4, Q=4, R=3, S=3, padding=1)
    m = Mapping("RS", rf=full(Q=4, S=3), spatial=full(R=3, P=4))
    cost = evaluate_mapping(spec, NASA, CONV, m, n_pe=12, buffer_bytes=1024, options=OPT)
    acc = cost.accesses
    assert acc["rf"]["W"] == 12 * 3 and acc["rf"]["I"] == 12 * 4 and acc["rf"]["O"] == 12 * 4
    # the GB reads the 9 weights and the 4 distinct input rows once (diagonal reuse), and gets
    # the 16 outputs after the psum rows are summed down the 3 filter-row PEs
    assert acc["gb"] == {"W": 9 + 9, "I": 16 + 16, "O": 16 + 16}
    assert acc["dram"] == {"W": 9, "I": 16, "O": 16}
    assert cost.cycles["compute"] == 4 * 3 and cost.pe_utilisation == 1.0


def test_p_cut_rereads_the_halo_rows():
    # 3x3, stride 1: cutting 4 output rows into 2 buffer tiles re-reads R - s = 2 input rows
    spec = LayerSpec("rs", "mult", N=1, K=1, C=2, P=4, Q=4, R=3, S=3, padding=1)
    whole = Mapping("OS", rf=full(Q=4, R=3, S=3), spatial=full(P=2))
    cut = Mapping("OS", rf=full(Q=4, R=3, S=3), spatial=full(P=2), split_dim="P", split_extent=2)
    a = evaluate_mapping(spec, NASA, CONV, whole, n_pe=2, options=OPT)
    b = evaluate_mapping(spec, NASA, CONV, cut, n_pe=2, options=OPT)
    assert a.accesses["dram"]["I"] == 2 * 4 * 4
    assert b.accesses["dram"]["I"] == 2 * (4 + 2) * 4


def test_eltwise_by_hand():
    spec = LayerSpec("res", "eltwise", N=1, K=4, C=4, P=2, Q=2)
    cost = eltwise_cost(spec, NASA, CONV, n_pe=4, options=OPT)           # E = 16 sums
    assert cost.accesses == {"rf": {"O": 96}, "noc": {"O": 48}, "gb": {"O": 96}, "dram": {"I": 32, "O": 16}}
    assert cost.energy_pj == pytest.approx({"compute": 16 * 0.03, "rf": 96 * 0.5, "noc": 48 * 1.0,
                                            "gb": 96 * 3.0, "dram": 48 * 100.0, "static": 0.0})
    assert cost.cycles == pytest.approx({"compute": 4, "gb": 96 * 8 / 192, "dram": 48 * 8 / 64, "total": 6})


def test_executed_ops_follow_the_pe_type():
    shift = LayerSpec("s", "shift", N=2, K=4, C=4, P=2, Q=2, bits_w=6, bits_a=6)
    adder = LayerSpec("a", "adder", N=1, K=4, C=4, P=2, Q=2, bits_w=6, bits_a=6)
    assert executed_op_counts(shift, NASA.chunk("shift")) == {"mult": 0, "add": 128, "shift": 128}
    assert executed_op_counts(adder, NASA.chunk("adder")) == {"mult": 0, "add": 128, "shift": 0}
    # the multiplier-only baseline runs them as multiply-accumulates
    assert executed_op_counts(shift, EYERISS.chunk("pe_array")) == {"mult": 128, "add": 128, "shift": 0}
    with pytest.raises(ValueError, match="cannot run on chunk 'conv'"):
        executed_op_counts(shift, CONV)


def test_invalid_mappings_are_rejected_with_the_reason():
    spec = LayerSpec("pw", "mult", N=1, K=4, C=2, P=2, Q=2)
    with pytest.raises(ValueError, match="uses 4 PEs, more than the 3 available"):
        evaluate_mapping(spec, NASA, CONV, Mapping("WS", full(K=2), full(K=2, C=2)), n_pe=3, options=OPT)
    with pytest.raises(ValueError, match=r"spatial\[P\]=2 must be 1 under WS"):
        evaluate_mapping(spec, NASA, CONV, Mapping("WS", full(), full(P=2)), n_pe=4, options=OPT)
    with pytest.raises(ValueError, match="needs 32 buffer bytes, more than the 31 available"):
        evaluate_mapping(spec, NASA, CONV, Mapping("WS", full(), full()), n_pe=4, buffer_bytes=31, options=OPT)
    big = LayerSpec("big", "mult", N=1, K=64, C=64, P=1, Q=1)
    with pytest.raises(ValueError, match="RF weight tile of 4096 entries exceeds 112"):
        evaluate_mapping(big, NASA, CONV, Mapping("WS", full(K=64, C=64), full()), n_pe=1, options=OPT)
