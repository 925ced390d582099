"""The adder and shift-then-adder layers in sliceable form, and the factory by operator kind."""
from __future__ import annotations

import torch
import torch.nn as nn

from .adder import adder2d
from .base import SliceableConv2d
from .quant import QConv2d, RunningRangeQuantizer, fake_quant_weight_per_channel
from .shift import Shift2d

CONV_KINDS = ("mult", "shift", "adder", "shiftadd")


class AdderConv2d(SliceableConv2d):
    """AdderNet layer, ``-sum |x - w|``, runnable on a leading slice of its weight.

    ``quantize=True`` fake-quantises weights (per output channel) and inputs (per tensor) to
    ``bits`` bits, NASA's 6-bit adder retraining setting.
    """

    kind = "adder"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 eta: float | None = 0.2, quantize: bool = False, bits: int = 6):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         bits_w=bits, bits_a=bits)
        self.eta = eta
        self.quantize = quantize
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels // groups, kernel_size, kernel_size))
        self.act_quant = RunningRangeQuantizer(bits)

    def sliced_weight(self, out_channels: int, in_channels: int) -> torch.Tensor:
        w = self.weight[:out_channels, :in_channels]
        return fake_quant_weight_per_channel(w, self.bits_w) if self.quantize else w

    def compute(self, x, weight, groups, out_channels):
        if self.quantize:
            x = self.act_quant(x)
        return adder2d(x, weight, self.stride, self.padding, groups, self.eta)


class ShiftAddConv2d(nn.Module):
    """ShiftAddNet's layer: a shift convolution followed by an adder convolution.

    The shift part maps C_in -> C_out with the given kernel, stride and groups; the adder part
    maps C_out -> C_out with the same kernel and groups at stride 1 and 'same' padding (so a
    depthwise layer stays depthwise).  Both parts slice together.
    """

    kind = "shiftadd"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1, **kw):
        super().__init__()
        self.shift = Shift2d(in_channels, out_channels, kernel_size, stride, padding, groups,
                             **kw.get("shift", {}))
        adder_groups = out_channels if self.shift.depthwise else groups
        self.adder = AdderConv2d(out_channels, out_channels, kernel_size, 1, kernel_size // 2,
                                 adder_groups, **kw.get("adder", {}))
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.padding, self.groups = kernel_size, stride, padding, groups

    def forward(self, x, out_channels=None, in_channels=None):
        y = self.shift(x, out_channels, in_channels)
        return self.adder(y, out_channels, out_channels)


def make_conv(kind: str, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
              groups: int = 1, quantize: bool = False, shift_mode: str = "q") -> nn.Module:
    """A sliceable convolution of operator ``kind`` with 'same' padding."""
    padding = kernel_size // 2
    if kind == "mult":
        return QConv2d(in_channels, out_channels, kernel_size, stride, padding, groups, quantize=quantize)
    if kind == "shift":
        return Shift2d(in_channels, out_channels, kernel_size, stride, padding, groups, mode=shift_mode)
    if kind == "adder":
        return AdderConv2d(in_channels, out_channels, kernel_size, stride, padding, groups, quantize=quantize)
    if kind == "shiftadd":
        return ShiftAddConv2d(in_channels, out_channels, kernel_size, stride, padding, groups,
                              shift={"mode": shift_mode}, adder={"quantize": quantize})
    raise ValueError(f"kind={kind!r} is not valid; valid values: {', '.join(CONV_KINDS)}")
