"""The base class of every hybrid convolution: a weight that can be run on its leading slice.

The weight-sharing supernet runs an e1 or e3 candidate on the first ``C_in * e`` channels of the
e6 block of the same operator type (channel-wise sharing, SOURCES.md [NASA-code] operations_ws.py).
Every operator therefore takes
``forward(x, out_channels=None, in_channels=None, kernel=None, groups=None)`` and computes with a
*view* of its stored weight (:meth:`SliceableConv2d.view`):

* ``weight[:out_channels, :in_channels]``: the leading channels (a depthwise layer slices its
  channels and its groups together);
* ``kernel`` smaller than the stored one: the centre ``kernel x kernel`` taps (OFA's elastic kernel:
  a k3 candidate is the centre of the shared k5 kernel), with 'same' padding for that kernel;
* ``groups`` > 1 on a dense layer: its block-diagonal part (a grouped 1x1 convolution is the dense
  one with the off-diagonal blocks zero).

The views are differentiable slices, so every candidate trains the one stored weight.  Subclasses
say how the viewed weight is transformed (quantised, rounded to powers of two) and how the layer
is computed (convolution, shifts, adder).
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

    def resolve_view(self, kernel: int | None, groups: int | None) -> tuple[int, int | None]:
        """(kernel, groups of a dense layer's block-diagonal view or None) of a requested view."""
        k = self.kernel_size if kernel is None else kernel
        if not isinstance(k, int) or k < 1 or k > self.kernel_size or (self.kernel_size - k) % 2:
            valid = list(range(self.kernel_size % 2 or 2, self.kernel_size + 1, 2))
            raise ValueError(f"kernel={kernel!r} is not valid for a {self.kernel_size}x{self.kernel_size} layer; "
                             f"valid: {valid}")
        if groups is None or groups == self.groups or self.depthwise:
            return k, None
        if self.groups != 1:
            raise ValueError(f"groups={groups} is not valid for a layer stored with groups={self.groups}; "
                             f"valid: {self.groups} (only a dense layer has grouped views)")
        return k, groups

    def view(self, param: torch.Tensor, out_channels: int, in_channels: int, kernel: int,
             dense_groups: int | None = None) -> torch.Tensor:
        """The view of a stored ``[K, C/g, R, S]`` parameter that a slice computes with: leading
        ``out_channels`` x ``in_channels`` (``in_channels`` per group as stored), the centre
        ``kernel`` taps, and for ``dense_groups`` the block-diagonal ``[K', C'/g', k, k]`` part."""
        w = param[:out_channels, :in_channels]
        if dense_groups is not None and dense_groups > 1:
            g = dense_groups
            if out_channels % g or in_channels % g:
                raise ValueError(f"groups={g} does not divide the slice's {out_channels} x {in_channels} channels")
            o, i = out_channels // g, in_channels // g
            blocks = w.reshape(g, o, g, i, *w.shape[2:])
            # diagonal over the two group axes -> [o, i, R, S, g] -> [g * o, i, R, S]
            w = torch.diagonal(blocks, dim1=0, dim2=2).permute(4, 0, 1, 2, 3).reshape(out_channels, i, *w.shape[2:])
        if kernel < w.shape[-1]:
            off = (w.shape[-1] - kernel) // 2
            w = w[..., off:off + kernel, off:off + kernel]
        return w

    def forward(self, x: torch.Tensor, out_channels: int | None = None, in_channels: int | None = None,
                kernel: int | None = None, groups: int | None = None, as_kind: str | None = None):
        if as_kind is not None and as_kind != self.kind:
            return self.forward_as(as_kind, x, out_channels, in_channels, kernel, groups)
        out_c, w_in, g, in_c = self.resolve_slice(out_channels, in_channels)
        k, dense_groups = self.resolve_view(kernel, groups)
        if x.shape[1] != in_c:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[1]} channels, expected {in_c}")
        if dense_groups is not None:
            w_in, g = in_c, dense_groups  # the view takes the whole input, then its diagonal blocks
        padding = self.padding - (self.kernel_size - k) // 2
        return self.compute(x, self.sliced_weight(out_c, w_in, k, dense_groups), g, out_c, padding)

    def forward_as(self, kind: str, x, out_channels, in_channels, kernel, groups):
        """Compute as a layer of another operator kind that shares these weights (only the
        multiplication layer can: as a shift layer, ``nasa_lib.ops.shift.as_shift``)."""
        if not hasattr(self, "run_as") or kind != "shift":
            raise ValueError(f"a {self.kind} layer cannot run as kind {kind!r}; only mult layers run as shift")
        self.run_as = kind
        try:
            return self.forward(x, out_channels, in_channels, kernel, groups)
        finally:
            self.run_as = None

    def sliced_weight(self, out_channels: int, in_channels: int, kernel: int | None = None,
                      dense_groups: int | None = None) -> torch.Tensor:
        raise NotImplementedError

    def compute(self, x, weight, groups, out_channels, padding):
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
