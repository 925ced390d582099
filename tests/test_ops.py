"""Operators and the op registry: every registered op builds, runs forward and backward, and
reports exact operation counts; shift weights are powers of two; fake quantisation is exact."""
import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

from nasa_lib.layerspec import LayerSpec, total_op_counts
from nasa_lib.ops import (OPS, conv_out_size, QConv2d, RunningRangeQuantizer, Shift2d, build_block,
                          fake_quant_weight_per_channel, fixed_point, get_op, op_layer_specs,
                          round_power_of_two)
from nasa_lib.ops.base import check_conv_args

ALL_OPS = sorted(OPS)


def test_registry_has_every_paper_op():
    # 4 kinds x 2 kernels x {e1, e1_g2, e3, e6} + skip (SOURCES.md [NASA-code] genotypes.py)
    assert len(OPS) == 33
    for name in ("k3_e6", "shift_k5_e3", "add_k3_e1", "shiftadd_k3_e3", "k5_e1_g2", "add_k5_e1_g2", "skip"):
        assert name in OPS


@pytest.mark.parametrize("op", ALL_OPS)
@pytest.mark.parametrize("c_in,c_out,stride", [(8, 8, 1), (8, 16, 2)])
def test_op_builds_runs_and_backprops(op, c_in, c_out, stride):
    torch.manual_seed(0)
    block = build_block(op, c_in, c_out, stride)
    x = torch.randn(2, c_in, 9, 9, requires_grad=True)
    y = block(x)
    assert y.shape == (2, c_out, 5 if stride == 2 else 9, 5 if stride == 2 else 9)
    y.square().mean().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    for name, p in block.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name


@pytest.mark.parametrize("op", ALL_OPS)
def test_op_specs_chain_and_counts_are_consistent(op):
    specs = op_layer_specs(op, 16, 24, 2, 8, 8)
    block = build_block(op, 16, 24, 2)
    assert specs == block.layer_specs(8, 8)
    assert total_op_counts(specs) == block.op_counts(8, 8)
    convs = [s for s in specs if s.op != "eltwise"]
    for a, b in zip(convs, convs[1:]):  # each layer consumes what the previous one produced
        assert b.C == a.K and conv_out_size(a.P, b.R, b.stride, b.padding) == b.P
    kind = get_op(op).kind
    counts = total_op_counts(specs)
    if kind in ("mult", "skip"):
        assert counts["shift"] == 0
    else:
        assert counts["mult"] == 0
        assert (counts["shift"] > 0) == (kind in ("shift", "shiftadd"))


def test_residual_blocks_start_as_the_identity():
    block = build_block("add_k3_e3", 8, 8, 1)
    x = torch.randn(2, 8, 5, 5)
    assert torch.equal(block(x), x)


def test_conv_block_counts_match_hand_calculation():
    # k3_e6, 16 -> 16 channels, stride 1, 8x8 input: mid = 96 channels
    #   pw1: 96 * 16 * 8*8          = 98,304 multiplications
    #   dw : 96 * 1 * 3*3 * 8*8     = 55,296
    #   pw2: 16 * 96 * 8*8          = 98,304
    # each product is accumulated (one addition each) + residual add 16*8*8 = 1,024 additions
    counts = build_block("k3_e6", 16, 16, 1).op_counts(8, 8)
    assert counts == {"mult": 251_904, "add": 251_904 + 1_024, "shift": 0}


def test_adder_and_shift_block_counts_match_hand_calculation():
    # add_k5_e1, 8 -> 16, stride 2, 10x10 input: mid 8, output 5x5
    #   pw1: 8*8*10*10 = 6,400 positions; dw: 8*25*5*5 = 5,000; pw2: 16*8*5*5 = 3,200
    #   adder: 2 additions per position (subtract + accumulate), no residual (shape changes)
    assert build_block("add_k5_e1", 8, 16, 2).op_counts(10, 10) == {"mult": 0, "add": 2 * 14_600, "shift": 0}
    # shift_k3_e3_g? -> shift_k3_e1_g2, 8 -> 8 stride 1, 4x4: pw1 groups 2: 8*(8/2)*16 = 512,
    #   dw 8*9*16 = 1,152, pw2 512; one shift + one addition per position; residual 8*16 = 128 adds
    assert build_block("shift_k3_e1_g2", 8, 8, 1).op_counts(4, 4) == {"mult": 0, "add": 2_176 + 128, "shift": 2_176}
    # shiftadd_k3_e1, 8 -> 8, stride 1, 4x4 (dense 1x1s): each conv is a shift conv then an adder
    #   conv of the same kernel and groups on its output: shift 8*8*16 + 8*9*16 + 8*8*16 = 3,200
    #   shifts (+3,200 adds); adder 3,200 positions -> 6,400 adds; residual 128
    assert build_block("shiftadd_k3_e1", 8, 8, 1).op_counts(4, 4) == {"mult": 0, "add": 3_200 + 6_400 + 128, "shift": 3_200}
    # skip with a shape change is a 1x1 conv projection: 16*8*2*2 = 512 multiplications
    assert build_block("skip", 8, 16, 2).op_counts(4, 4) == {"mult": 512, "add": 512, "shift": 0}
    assert build_block("skip", 8, 8, 1).op_counts(4, 4) == {"mult": 0, "add": 0, "shift": 0}


@pytest.mark.parametrize("op", [o for o in ALL_OPS if get_op(o).kind == "mult"] + ["skip"])
def test_mult_counts_equal_the_flops_torch_executes(op):
    # torch's flop counter counts 2 FLOPs per multiply-accumulate of every convolution it runs
    block = build_block(op, 8, 16, 2).eval()
    x = torch.randn(1, 8, 12, 12)
    with FlopCounterMode(display=False) as counter:
        block(x)
    conv_flops = sum(v for k, v in counter.get_flop_counts()["Global"].items() if "convolution" in str(k))
    assert conv_flops == 2 * block.op_counts(12, 12)["mult"]


@pytest.mark.parametrize("mode", ["q", "ps"])
@pytest.mark.parametrize("bits", [5, 6])
def test_shift_weights_are_exact_powers_of_two(mode, bits):
    torch.manual_seed(0)
    layer = Shift2d(8, 16, 3, padding=1, mode=mode, weight_bits=bits)
    w = layer.effective_weight().detach()
    nonzero = w[w != 0]
    assert nonzero.numel() > 0.5 * w.numel()
    p = torch.log2(nonzero.abs())
    assert torch.equal(p, torch.round(p))
    assert p.min() >= -(2 ** (bits - 1) - 1) and p.max() <= 0
    # the layer computes exactly a convolution with those weights on fixed-point activations
    x = torch.randn(2, 8, 6, 6)
    expected = F.conv2d(torch.round(x * 2 ** 16) / 2 ** 16, w, padding=1)
    assert torch.allclose(layer(x), expected, atol=1e-5)


@pytest.mark.parametrize("mode", ["q", "ps"])
def test_shift_gradients_pass_straight_through(mode):
    layer = Shift2d(4, 4, 1, mode=mode)
    x = torch.randn(3, 4, 5, 5)
    layer(x).sum().backward()
    grads = [p.grad for p in layer.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in grads)


def test_round_power_of_two_values():
    w = torch.tensor([0.3, -0.74, 1.6, 1e-9, 1e-12, -0.0001])
    # log2: -1.74 -> -2; -0.43 -> 0; 0.68 -> 1, clamped to 0; -29.9 -> -30; -39.9 clamps at -31
    # (6 bits: p in [-31, 0]); -13.3 -> -13
    expected = torch.tensor([0.25, -1.0, 1.0, 2.0 ** -30, 2.0 ** -31, -(2.0 ** -13)])
    assert torch.equal(round_power_of_two(w, 6), expected)


def test_fixed_point_grid():
    x = torch.tensor([1.0 + 2 ** -17, -3.3, 1e6])
    y = fixed_point(x)
    assert y[0] == 1.0 or y[0] == 1.0 + 2 ** -16
    assert torch.equal(y * 2 ** 16, torch.round(y * 2 ** 16))
    assert y[2] == 2 ** 15 - 2 ** -16


@pytest.mark.parametrize("scale", [1e-7, 1e-3, 1.0, 300.0, 1e5])
def test_straight_through_rounding_is_the_textbook_formula_bit_for_bit(scale):
    """fixed_point and round_power_of_two build (q - x) in place under no_grad (one temporary, one
    autograd node): the value is exactly x + (q - x).detach() with q from the textbook formula, the
    gradient passes straight through, and the layout (channels_last) is kept."""
    g = torch.Generator().manual_seed(int(scale * 1e7) % 1000)
    x = (torch.randn(4, 6, 5, 5, generator=g) * scale).contiguous(memory_format=torch.channels_last).requires_grad_()
    step, bound = 2.0 ** -16, 2.0 ** 15
    q = torch.clamp(torch.round(x.detach() / step) * step, -bound, bound - step)
    y = fixed_point(x, 16, 16)
    assert torch.equal(y, x.detach() + (q - x.detach())) and y.is_contiguous(memory_format=torch.channels_last)
    gy = torch.randn(y.shape, generator=g)
    y.backward(gy)
    assert torch.equal(x.grad, gy)
    w = (torch.randn(6, 3, 3, 3, generator=g) * scale * 1e-2).requires_grad_()
    with torch.no_grad():
        w[0, 0, 0, 0] = 0.0
    p = torch.round(torch.log2(w.detach().abs().clamp_min(2.0 ** -32))).clamp(-31, 0)
    q = torch.sign(w.detach()) * torch.pow(2.0, p)
    y = round_power_of_two(w, 6)
    assert torch.equal(y, w.detach() + (q - w.detach())) and y[0, 0, 0, 0] == 0
    y.backward(torch.ones_like(y))
    assert torch.equal(w.grad, torch.ones_like(w))


def test_weight_fake_quant_is_per_channel_8bit_with_ste():
    torch.manual_seed(0)
    w = torch.randn(4, 3, 3, 3, requires_grad=True)
    q = fake_quant_weight_per_channel(w, 8)
    for k in range(4):
        scale = w[k].abs().max().item() / 127
        levels = torch.round(q[k].detach() / scale)
        assert torch.allclose(levels * scale, q[k].detach(), atol=1e-6)
        assert levels.abs().max() == 127
    q.sum().backward()
    assert torch.equal(w.grad, torch.ones_like(w))  # straight-through


def test_activation_quantizer_tracks_running_range():
    aq = RunningRangeQuantizer(bits=8, momentum=0.5)
    aq.train()
    aq(torch.tensor([0.0, 2.0]))
    aq(torch.tensor([0.0, 4.0]))
    assert aq.running_min == 0.0 and aq.running_max == 3.0  # 2 + 0.5 * (4 - 2)
    aq.eval()
    y = aq(torch.tensor([1.0, 5.0]))
    assert y[1] == 3.0  # clamped to the running range
    assert abs(y[0] - 1.0) <= 3.0 / 255 / 2 + 1e-6


def test_qconv_quantized_matches_manual():
    torch.manual_seed(0)
    conv = QConv2d(3, 4, 3, padding=1, quantize=True)
    x = torch.rand(2, 3, 5, 5)
    conv.train()
    y = conv(x)
    wq = fake_quant_weight_per_channel(conv.weight, 8)
    xq = torch.round(x / (x.max() - x.min()) * 255) * (x.max() - x.min()) / 255
    assert torch.allclose(y, F.conv2d(xq, wq, padding=1), atol=1e-5)


def test_unknown_op_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"op 'k7_e6' is not registered; valid ops: .*k3_e6.*skip"):
        build_block("k7_e6", 8, 8, 1)


def test_groups_that_do_not_divide_channels_are_rejected():
    with pytest.raises(ValueError, match=r"groups=3 does not divide in_channels=8 .*valid groups: \[1, 2, 4, 8\]"):
        check_conv_args(8, 8, 3, 1, 1, 3)
    with pytest.raises(ValueError, match="groups=3"):
        QConv2d(8, 8, 3, groups=3)


def test_layerspec_rejects_bad_fields():
    with pytest.raises(ValueError, match=r"LayerSpec.op='conv' is not valid; valid values: mult, shift, adder, eltwise"):
        LayerSpec(name="x", op="conv", N=1, K=1, C=1, P=1, Q=1)
    with pytest.raises(ValueError, match="groups=3 must divide"):
        LayerSpec(name="x", op="mult", N=1, K=8, C=8, P=1, Q=1, groups=3)
