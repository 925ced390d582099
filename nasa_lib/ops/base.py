"""The base class of every hybrid convolution: a weight that can be run on its leading slice.

The weight-sharing supernet runs an e1 or e3 candidate on the first ``C_in * e`` channels of the
e6 block of the same operator type and kernel (channel-wise sharing, PAPERS.md section 1).  Every
operator therefore takes ``forward(x, out_channels=None, in_channels=None)`` and uses
``weight[:out_channels, :in_channels]``; a depthwise layer slices its channels and its groups
together.  Subclasses say how the weight is transformed (quantised, rounded to powers of two)
and how the layer is computed (convolution, shifts, adder).
"""
from __future__ import annotations

import torch
import torch.nn as nn


class SliceableConv2d(nn.Module):
    kind = "mult"  # the hardware operator type of this layer (see nasa_lib.layerspec.OP_TYPES)

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
                 padding: int = 0, groups: int = 1, bits_w: int = 8, bits_a: int = 8):
        super().__init__()
        check_conv_args(in_channels, out_channels, kernel_size, stride, padding, groups)
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = kernel_size
        self.stride = stride
        self.padding = padding
        self.groups = groups
        self.bits_w = bits_w
        self.bits_a = bits_a

    @property
    def depthwise(self) -> bool:
        return self.groups > 1 and self.groups == self.in_channels == self.out_channels

    def resolve_slice(self, out_channels: int | None, in_channels: int | None) -> tuple[int, int, int, int]:
        """(out channels, weight in-channels, groups, input channels) of the requested slice."""
        out_c = self.out_channels if out_channels is None else out_channels
        in_c = self.in_channels if in_channels is None else in_channels
        if self.depthwise:
            if out_c != in_c:
                raise ValueError(f"a depthwise slice needs out_channels == in_channels, got {out_c} and {in_c}")
            return out_c, 1, out_c, in_c
        if (out_c, in_c) != (self.out_channels, self.in_channels) and self.groups != 1:
            raise ValueError(f"only dense or depthwise layers can be sliced (groups={self.groups})")
        return out_c, in_c // self.groups, self.groups, in_c

    def forward(self, x: torch.Tensor, out_channels: int | None = None, in_channels: int | None = None):
        out_c, w_in, groups, in_c = self.resolve_slice(out_channels, in_channels)
        if x.shape[1] != in_c:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[1]} channels, expected {in_c}")
        return self.compute(x, self.sliced_weight(out_c, w_in), groups, out_c)

    def sliced_weight(self, out_channels: int, in_channels: int) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, x, weight, groups, out_channels):
        raise NotImplementedError

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, groups={self.groups}")


def check_conv_args(in_channels, out_channels, kernel_size, stride, padding, groups) -> None:
    """One-line errors for impossible layer configurations, before any weight is made."""
    for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("kernel_size", kernel_size), ("stride", stride), ("groups", groups)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r} is not valid; it must be a positive integer")
    if not isinstance(padding, int) or padding < 0:
        raise ValueError(f"padding={padding!r} is not valid; it must be an integer >= 0")
    if in_channels % groups or out_channels % groups:
        valid = [g for g in range(1, min(in_channels, out_channels) + 1)
                 if in_channels % g == 0 and out_channels % g == 0]
        raise ValueError(f"groups={groups} does not divide in_channels={in_channels} and "
                         f"out_channels={out_channels}; valid groups: {valid}")
