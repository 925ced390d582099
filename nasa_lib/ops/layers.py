"""The adder and shift-then-adder layers in sliceable form, and the factory by operator kind."""
from __future__ import annotations

import torch
import torch.nn as nn

from ..opkinds import mbconv_kinds, op_kind
from .adder import adder2d
from .base import SliceableConv2d
from .quant import QConv2d, RunningRangeQuantizer, fake_quant_weight_per_channel
from .shift import Shift2d


class AdderConv2d(SliceableConv2d):
    """AdderNet layer, ``-sum |x - w|``, runnable on a leading slice of its weight.

    ``quantize=True`` fake-quantises weights (per output channel) and inputs (per tensor) to
    ``bits`` bits, NASA's 6-bit adder retraining setting.
    """

    kind = "adder"

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, groups=1,
                 eta: float | None = 0.2, quantize: bool = False, bits: int = op_kind("adder").bits):
        super().__init__(in_channels, out_channels, kernel_size, stride, padding, groups,
                         bits_w=bits, bits_a=bits)
        self.eta = eta
        self.quantize = quantize
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels // groups, kernel_size, kernel_size))
        self.act_quant = RunningRangeQuantizer(bits)

    def sliced_weight(self, out_channels: int, in_channels: int, kernel: int | None = None,
                      dense_groups: int | None = None) -> torch.Tensor:
        w = self.view(self.weight, out_channels, in_channels, kernel or self.kernel_size, dense_groups)
        return fake_quant_weight_per_channel(w, self.bits_w) if self.quantize else w

    def compute(self, x, weight, groups, out_channels, padding=None):
        if self.quantize:
            x = self.act_quant(x)
        return adder2d(x, weight, self.stride, self.padding if padding is None else padding, groups, self.eta)


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

    def forward(self, x, out_channels=None, in_channels=None, kernel=None, groups=None, as_kind=None):
        if as_kind not in (None, self.kind):
            raise ValueError(f"a shiftadd layer cannot run as kind {as_kind!r}")
        y = self.shift(x, out_channels, in_channels, kernel, groups)
        return self.adder(y, out_channels, out_channels, kernel, groups)


# How each layer class takes the two options of a block (quantised retraining, shift mode); the
# class's ``kind`` says which operator kind it implements.
_LAYER_OPTIONS = {
    QConv2d: lambda quantize, shift_mode: {"quantize": quantize},
    Shift2d: lambda quantize, shift_mode: {"mode": shift_mode},
    AdderConv2d: lambda quantize, shift_mode: {"quantize": quantize},
    ShiftAddConv2d: lambda quantize, shift_mode: {"shift": {"mode": shift_mode}, "adder": {"quantize": quantize}},
}


def _layer_classes_by_kind() -> dict[str, type]:
    """Kind -> layer class, for every MBConv kind of the op-kind table (in its order).  A kind of
    the table without a layer class, or a layer class of no kind, stops the import here."""
    by_kind = {cls.kind: cls for cls in _LAYER_OPTIONS}
    missing = [k for k in mbconv_kinds() if k not in by_kind]
    unknown = [k for k in by_kind if k not in mbconv_kinds()]
    if missing or unknown:
        raise RuntimeError(f"layer classes and op kinds disagree: kinds without a layer class {missing}, "
                           f"layer classes of no MBConv kind {unknown}")
    return {kind: by_kind[kind] for kind in mbconv_kinds()}


CONV_LAYERS = _layer_classes_by_kind()
CONV_KINDS = tuple(CONV_LAYERS)


def make_conv(kind: str, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1,
              groups: int = 1, quantize: bool = False, shift_mode: str = "q") -> nn.Module:
    """A sliceable convolution of operator ``kind`` with 'same' padding."""
    if kind not in CONV_LAYERS:
        raise ValueError(f"kind={kind!r} is not valid; valid values: {', '.join(CONV_KINDS)}")
    cls = CONV_LAYERS[kind]
    return cls(in_channels, out_channels, kernel_size, stride, kernel_size // 2, groups,
               **_LAYER_OPTIONS[cls](quantize, shift_mode))
