"""DeepShift shift convolution: every weight is sign * 2^p with an integer p.

Two training modes (Elhoushi et al., DeepShift):

* ``"q"`` (DeepShift-Q): a real weight is trained; the forward pass rounds it to the nearest
  power of two (in the log domain) with a straight-through gradient.
* ``"ps"`` (DeepShift-PS): the shift ``p`` and the sign are the trained parameters; the forward
  pass rounds ``p`` to an integer and the sign to {-1, 0, +1}, both with straight-through
  gradients.

With ``weight_bits = b`` (one sign bit, b-1 bits of shift) p lies in [-(2^(b-1)-1), 0].
Activations are rounded to fixed point (16 integer, 16 fraction bits by default), so a
multiplication by a weight is exactly an arithmetic shift of a fixed-point number.
"""
from __future__ import annotations


import torch
import torch.nn as nn
import torch.nn.functional as F

from ..opkinds import op_kind
from .base import SliceableConv2d
from .quant import fixed_point, round_power_of_two, round_ste, shift_range  # noqa: F401 (re-exported)

SHIFT_MODES = ("q", "ps")


class Shift2d(SliceableConv2d):
    """Shift convolution (DeepShift-Q or DeepShift-PS)."""

    kind = "shift"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 mode: str = "q", weight_bits: int = 6, act_integer_bits: int | None = 16,
                 act_fraction_bits: int = 16, hw_bits: int = op_kind("shift").bits):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         bits_w=hw_bits, bits_a=hw_bits)
        if mode not in SHIFT_MODES:
            raise ValueError(f"mode={mode!r} is not valid; valid values: {', '.join(SHIFT_MODES)}")
        self.mode = mode
        self.weight_bits = weight_bits
        self.p_min, self.p_max = shift_range(weight_bits)
        self.act_integer_bits = act_integer_bits
        self.act_fraction_bits = act_fraction_bits
        shape = (out_channels, in_channels // groups, kernel_size, kernel_size)
        init = torch.empty(shape)
        nn.init.kaiming_normal_(init, mode="fan_out", nonlinearity="relu")
        if mode == "q":
            self.weight = nn.Parameter(init)
        else:
            self.shift = nn.Parameter(torch.log2(init.abs().clamp_min(2.0 ** self.p_min)).clamp(self.p_min, self.p_max))
            self.sign = nn.Parameter(torch.sign(init))

    def sliced_weight(self, out_channels: int, in_channels: int, kernel: int | None = None,
                      dense_groups: int | None = None) -> torch.Tensor:
        k = kernel or self.kernel_size
        if self.mode == "q":
            return round_power_of_two(self.view(self.weight, out_channels, in_channels, k, dense_groups),
                                      self.weight_bits)
        shift = self.view(self.shift, out_channels, in_channels, k, dense_groups)
        sign = self.view(self.sign, out_channels, in_channels, k, dense_groups)
        p = torch.clamp(round_ste(shift), self.p_min, self.p_max)
        s = round_ste(torch.clamp(sign, -1.0, 1.0))  # ternary sign in {-1, 0, +1}
        return s * torch.pow(2.0, p)

    def effective_weight(self) -> torch.Tensor:
        """The weight the layer computes with: every entry is 0 or +-2^p, p in [p_min, p_max]."""
        return self.sliced_weight(self.out_channels, self.in_channels // self.groups)

    def compute(self, x, weight, groups, out_channels, padding=None):
        if self.act_integer_bits is not None:
            x = fixed_point(x, self.act_integer_bits, self.act_fraction_bits)
        return F.conv2d(x, weight, None, self.stride, self.padding if padding is None else padding, 1, groups)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", mode={self.mode!r}, weight_bits={self.weight_bits}"




__all__ = ["Shift2d", "round_power_of_two", "fixed_point", "shift_range", "SHIFT_MODES"]
