"""The fused DeepShift-Q quantisers (``nasa_lib/ops/_quant_triton.py``) give the PyTorch
operators' values bit for bit, in their layout, with the straight-through gradient.

They skip without a GPU (CI).  Unlike the adder's kernels they cannot run in Triton's interpreter
on CPU tensors: bit-exactness needs libdevice's log2 and rint (CUDA's log2f and rintf, what
PyTorch's operators call), and the interpreter has no libdevice."""
from __future__ import annotations

import pytest
import torch

from nasa_lib.ops import quant
from nasa_lib.ops.shift import Shift2d

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")


def _hard_values(seed: int) -> torch.Tensor:
    """Values that stress the rounding: log2 half-way points and their float neighbours, fixed-
    point half steps, zeros of both signs, values beyond the clamps, wide magnitudes."""
    g = torch.Generator().manual_seed(seed)
    k = torch.arange(-40, 4, dtype=torch.float64)
    halfway = (2.0 ** (k + 0.5)).float()
    step_half = (torch.arange(-50, 50, dtype=torch.float64) + 0.5) * 2.0 ** -16
    parts = [halfway, torch.nextafter(halfway, torch.zeros(())), torch.nextafter(halfway, torch.full((), 9.0)),
             step_half.float(), torch.tensor([0.0, -0.0, 32767.99, 32768.0, 40000.0, -40000.0, 1e-30, 3e-39]),
             torch.randn(4000, generator=g) * 10.0 ** torch.randint(-12, 5, (4000,), generator=g)]
    v = torch.cat(parts)
    return torch.cat([v, -v])


def _both(fn, t: torch.Tensor, *args):
    """(PyTorch operators' output, fused output) of ``fn`` on copies of ``t``."""
    old = quant.FUSED_QUANT
    try:
        quant.FUSED_QUANT = False
        ref = fn(t, *args)
        quant.FUSED_QUANT = True
        got = fn(t, *args)
    finally:
        quant.FUSED_QUANT = old
    return ref, got


def _bits_equal(a: torch.Tensor, b: torch.Tensor) -> bool:
    return a.shape == b.shape and torch.equal(a.contiguous().view(torch.int32), b.contiguous().view(torch.int32))


def _layouts(v: torch.Tensor):
    """The same values as contiguous 1-d and 4-d tensors, channels-last, a sliced view (the
    supernet's weight views) and an expanded one."""
    n = v.numel() // 96 * 96
    base = v[:n].cuda()
    four = base.view(-1, 6, 4, 4)
    big = torch.zeros(four.shape[0] + 2, 8, 6, 6, device="cuda")
    big[:four.shape[0], :6, 1:5, 1:5] = four
    return {"flat": base, "nchw": four, "channels_last": four.contiguous(memory_format=torch.channels_last),
            "sliced": big[:four.shape[0], :6, 1:5, 1:5], "expanded": base[:24].view(1, 24, 1, 1).expand(3, 24, 2, 2)}


@cuda
@pytest.mark.parametrize("bits", [2, 4, 6, 8])
def test_power_of_two_matches_pytorch_bit_for_bit(bits):
    for name, t in _layouts(_hard_values(bits)).items():
        ref, got = _both(quant.round_power_of_two, t, bits)
        assert _bits_equal(ref, got), (name, (ref != got).sum().item())
        assert got.stride() == ref.stride(), name
        p_min, p_max = quant.shift_range(bits)
        nz = got[got != 0].abs().log2()
        assert torch.equal(nz, nz.round()) and nz.min() >= p_min and nz.max() <= p_max


@cuda
@pytest.mark.parametrize("integer_bits,fraction_bits", [(16, 16), (8, 8), (4, 2)])
def test_fixed_point_matches_pytorch_bit_for_bit(integer_bits, fraction_bits):
    for name, t in _layouts(_hard_values(integer_bits + fraction_bits)).items():
        ref, got = _both(quant.fixed_point, t, integer_bits, fraction_bits)
        assert _bits_equal(ref, got), (name, (ref != got).sum().item())
        assert got.stride() == ref.stride(), name
        assert torch.equal(got * 2.0 ** fraction_bits, (got * 2.0 ** fraction_bits).round())
        assert got.max() <= 2.0 ** (integer_bits - 1) and got.min() >= -(2.0 ** (integer_bits - 1))


@cuda
@pytest.mark.parametrize("fn,args", [(quant.round_power_of_two, (6,)), (quant.fixed_point, (16, 16))])
def test_fused_gradient_is_straight_through(fn, args):
    x = (torch.randn(8, 6, 5, 5, device="cuda") * 3).requires_grad_(True)
    g = torch.randn_like(x)
    fn(x, *args).backward(g)
    assert torch.equal(x.grad, g)


@cuda
def test_shift_layer_identical_with_and_without_fused_kernels():
    """A DeepShift-Q layer (weight view of a wider layer, as in the supernet): output and both
    gradients are the same bits either way."""
    torch.backends.cudnn.deterministic = True
    torch.manual_seed(0)
    layer = Shift2d(16, 24, 3, padding=1).cuda()
    x = torch.randn(4, 16, 9, 9, device="cuda") * 4
    gy = torch.randn(4, 12, 9, 9, device="cuda")
    out = []
    for fused in (False, True):
        quant.FUSED_QUANT = fused
        try:
            layer.zero_grad(set_to_none=True)
            xx = x.clone().requires_grad_(True)
            w = layer.sliced_weight(12, 16)
            y = layer.compute(xx, w, 1, 12)
            y.backward(gy)
            out.append((y.detach(), xx.grad, layer.weight.grad))
        finally:
            quant.FUSED_QUANT = True
    for a, b in zip(*out):
        assert _bits_equal(a, b)
