"""Fake quantisation with straight-through gradients, and the 8-bit quantised convolution.

NASA retrains its networks quantised: conv 8-bit, adder 6-bit, shift 6-bit (SOURCES.md [NASA-code]
operations.py).
Weights are quantised symmetrically per output channel (min/max of |w|), activations
asymmetrically per tensor from a running (exponential moving average) min/max range.  Rounding
passes the gradient straight through (the STE), so training sees the quantised forward.
"""
from __future__ import annotations

import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..opkinds import op_kind
from ._lazy_kernels import LazyKernels
from .base import SliceableConv2d


def round_ste(x: torch.Tensor) -> torch.Tensor:
    """round() in the forward pass, identity in the backward pass."""
    return x + (torch.round(x) - x).detach()


def fake_quant_weight_per_channel(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Symmetric per-output-channel fake quantisation to ``bits`` bits (STE gradient)."""
    if bits < 2:
        raise ValueError(f"bits={bits} is not valid; need bits >= 2")
    qmax = 2 ** (bits - 1) - 1
    max_abs = weight.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-8)
    scale = (max_abs / qmax).view(-1, *([1] * (weight.dim() - 1)))
    return torch.clamp(round_ste(weight / scale), -qmax, qmax) * scale


def fake_quant_range(x: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, bits: int) -> torch.Tensor:
    """Asymmetric fake quantisation of ``x`` to ``bits`` bits over [lo, hi] (STE gradient).

    Values outside the range are clamped; the STE passes gradients only inside it, as in
    PyTorch's fake-quantise operators.
    """
    levels = 2 ** bits - 1
    span = (hi - lo).clamp_min(1e-8)
    scale = span / levels
    zero_point = torch.round(-lo / scale)
    q = torch.clamp(round_ste(x / scale) + zero_point, 0, levels)
    return (q - zero_point) * scale


class RunningRangeQuantizer(nn.Module):
    """Per-tensor activation fake quantiser with a running min/max range (EMA, momentum 0.1)."""

    def __init__(self, bits: int = 8, momentum: float = 0.1):
        super().__init__()
        if bits < 2:
            raise ValueError(f"bits={bits} is not valid; need bits >= 2")
        self.bits = bits
        self.momentum = momentum
        self.register_buffer("running_min", torch.zeros(()))
        self.register_buffer("running_max", torch.zeros(()))
        self.register_buffer("initialized", torch.zeros((), dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            with torch.no_grad():
                lo, hi = x.min(), x.max()
                if not bool(self.initialized):
                    self.running_min.copy_(lo)
                    self.running_max.copy_(hi)
                    self.initialized.fill_(True)
                else:
                    self.running_min.lerp_(lo, self.momentum)
                    self.running_max.lerp_(hi, self.momentum)
        if not bool(self.initialized):
            return x  # never calibrated: nothing to quantise against
        return fake_quant_range(x, self.running_min, self.running_max, self.bits)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, momentum={self.momentum}"


class QConv2d(SliceableConv2d):
    """Convolution with optional 8-bit fake quantisation (the multiplication-based operator).

    ``quantize=False`` gives a plain float convolution (used during search);
    ``quantize=True`` quantises weights per output channel and the input per tensor.
    """

    kind = "mult"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 bias=False, quantize=False, bits_w=op_kind("mult").bits, bits_a=op_kind("mult").bits):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         bits_w=bits_w, bits_a=bits_a)
        self.quantize = quantize
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels // groups, kernel_size, kernel_size))
        nn.init.kaiming_normal_(self.weight, mode="fan_out", nonlinearity="relu")
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.act_quant = RunningRangeQuantizer(bits_a)
        self.run_as = None      # "shift": compute as the DeepShift-Q view of this layer (set per call)

    def sliced_weight(self, out_channels: int, in_channels: int, kernel: int | None = None,
                      dense_groups: int | None = None) -> torch.Tensor:
        w = self.view(self.weight, out_channels, in_channels, kernel or self.kernel_size, dense_groups)
        return fake_quant_weight_per_channel(w, self.bits_w) if self.quantize else w

    def compute(self, x, weight, groups, out_channels, padding=None):
        if self.run_as == "shift":       # a shift candidate sharing this layer's weights
            x, weight = as_shift(x, weight)
        elif self.quantize:
            x = self.act_quant(x)
        bias = None if self.bias is None else self.bias[:out_channels]
        return F.conv2d(x, weight, bias, self.stride, self.padding if padding is None else padding, 1, groups)


# ---- DeepShift-Q: power-of-two weights, fixed-point activations (the shift layers and the
# supernet's shift views of conv weights use the same functions) ----------------------------------
def shift_range(weight_bits: int) -> tuple[int, int]:
    """The (min, max) integer shift p representable with ``weight_bits`` bits."""
    if not isinstance(weight_bits, int) or weight_bits < 2:
        raise ValueError(f"weight_bits={weight_bits!r} is not valid; need an integer >= 2")
    return -(2 ** (weight_bits - 1) - 1), 0


# CUDA float32 tensors take one Triton kernel per quantiser (``_quant_triton``: the same values,
# bit for bit, in one launch instead of six or ten); NASA_LIB_FUSED_QUANT=0 keeps the PyTorch
# operators (for A/B timing: benchmarks/shift_quant_fused.py).  The CPU path is always PyTorch's.
FUSED_QUANT = os.environ.get("NASA_LIB_FUSED_QUANT", "1") != "0"
_FUSED = LazyKernels("._quant_triton", "PyTorch operators")


def _fused(t: torch.Tensor, p_min: int | None = None):
    """The fused kernels' module when ``t`` (and the power-of-two range from ``p_min``) can use
    them, else None."""
    if not (FUSED_QUANT and t.is_cuda):
        return None
    fused = _FUSED(stacklevel=3)
    return fused if fused is not None and fused.supports(t, p_min) else None


def round_power_of_two(weight: torch.Tensor, weight_bits: int = 6) -> torch.Tensor:
    """DeepShift-Q: sign(w) * 2^clamp(round(log2|w|)), straight-through gradient to ``w``."""
    p_min, p_max = shift_range(weight_bits)
    fused = _fused(weight, p_min)
    if fused is not None:
        return fused.round_power_of_two(weight, p_min, p_max)
    # (q - w) is built in place under no_grad: one temporary and one autograd node instead of a
    # chain of each; the value is the same, bit for bit, as weight + (q - weight).detach()
    with torch.no_grad():
        p = weight.abs().clamp_min_(2.0 ** (p_min - 1)).log2_().round_().clamp_(p_min, p_max)
        q = torch.sign(weight).mul_(torch.pow(2.0, p)).sub_(weight)
    return weight + q


def fixed_point(x: torch.Tensor, integer_bits: int = 16, fraction_bits: int = 16) -> torch.Tensor:
    """Round to a signed fixed-point grid of step 2^-fraction_bits, clamp, straight-through."""
    fused = _fused(x)
    if fused is not None:
        return fused.fixed_point(x, integer_bits, fraction_bits)
    step = 2.0 ** (-fraction_bits)
    bound = 2.0 ** (integer_bits - 1)
    # as round_power_of_two: x + (q - x).detach() with (q - x) made in place, in one temporary of
    # x's size (the activations are the large tensors of a shift layer), bit for bit the same value
    with torch.no_grad():
        q = torch.div(x, step).round_().mul_(step).clamp_(-bound, bound - step).sub_(x)
    return x + q


def as_shift(x: torch.Tensor, weight: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A convolution's (input, weight) as the default DeepShift-Q layer computes with them:
    16.16 fixed-point input, power-of-two weight of 6 bits (:class:`Shift2d`'s defaults).  The
    supernet's ``elastic_kinds`` sharing runs a shift candidate as this view of the conv block."""
    return fixed_point(x, 16, 16), round_power_of_two(weight, 6)
