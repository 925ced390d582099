"""Inverted-residual (MBConv) blocks of any operator kind, the skip block, and their layer specs.

A candidate block (SOURCES.md [NASA-code] operations_ws.py): 1x1 (C_in -> C_in*e), BN, ReLU;
[channel shuffle when the 1x1 convolutions are grouped]; kxk depthwise at stride s, BN, ReLU; 1x1
(-> C_out), BN; residual add when C_in == C_out and s == 1.  In a shift, adder or shift-adder block
all three convolutions are of that kind.  A block built at expansion e_max, kernel k_max and dense
1x1 convolutions can run as any smaller candidate of its kind (the supernet's weight sharing, see
``nasa_lib.ops.base``): expansion e <= e_max on the leading channels, kernel k <= k_max on the
centre taps of the depthwise kernel, groups g on the block-diagonal part of the 1x1 weights.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from ..layerspec import LayerSpec, total_op_counts
from ..opkinds import layer_op_kinds, op_kind
from .layers import make_conv
from .quant import QConv2d

# Bit widths the hardware runs each layer op at (NASA's quantised retraining, SOURCES.md [NASA-code]
# operations.py), from the op-kind table's kinds that are layer ops themselves.
HW_BITS = {k.name: k.bits for k in layer_op_kinds()}


def conv_out_size(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    n, c, h, w = x.shape
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


def sliced_batch_norm(bn: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor:
    """BatchNorm on the first ``x.shape[1]`` channels of ``bn`` (statistics update in place)."""
    c = x.shape[1]
    if c == bn.num_features:
        return bn(x)
    training = bn.training or bn.running_mean is None
    return F.batch_norm(x, bn.running_mean[:c], bn.running_var[:c], bn.weight[:c], bn.bias[:c],
                        training, bn.momentum, bn.eps)


class CountsOps:
    """Blocks report their exact counts of multiplications, additions and shifts per image
    (the counting convention of ``nasa_lib.layerspec``), from their layer specs."""

    def op_counts(self, height: int, width: int, batch: int = 1, expansion: int | None = None) -> dict:
        return total_op_counts(self.layer_specs(height, width, batch, expansion))


class MBConvBlock(CountsOps, nn.Module):
    def __init__(self, kind: str, in_channels: int, out_channels: int, kernel_size: int,
                 expansion: int, stride: int, groups: int = 1, quantize: bool = False,
                 shift_mode: str = "q"):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f"stride={stride!r} is not valid; valid values: 1, 2")
        self.kind, self.kernel_size, self.stride, self.groups = kind, kernel_size, stride, groups
        self.in_channels, self.out_channels, self.expansion = in_channels, out_channels, expansion
        mid = in_channels * expansion
        opts = dict(quantize=quantize, shift_mode=shift_mode)
        self.pw1 = make_conv(kind, in_channels, mid, 1, 1, groups, **opts)
        self.bn1 = nn.BatchNorm2d(mid)
        self.dw = make_conv(kind, mid, mid, kernel_size, stride, mid, **opts)
        self.bn2 = nn.BatchNorm2d(mid)
        self.pw2 = make_conv(kind, mid, out_channels, 1, 1, groups, **opts)
        self.bn3 = nn.BatchNorm2d(out_channels)
        self.use_residual = in_channels == out_channels and stride == 1
        if self.use_residual:
            # A residual block starts as the identity (last BN's scale 0): a supernet whose paths are
            # sampled at random then trains from the first steps instead of stalling at chance.
            nn.init.zeros_(self.bn3.weight)

    def forward(self, x: torch.Tensor, expansion: int | None = None, kernel: int | None = None,
                groups: int | None = None, as_kind: str | None = None) -> torch.Tensor:
        """Run as the candidate (expansion, kernel, groups); ``None`` = the block's own value.
        ``as_kind="shift"`` runs a multiplication block as the shift block sharing its weights.
        The same as ``project(depthwise(expand(x, ...), ...), x, ...)``."""
        g = self.groups if groups is None else groups
        y = self.expand(x, expansion, g, as_kind)
        y = self.depthwise(y, kernel, as_kind)
        return self.project(y, x, g, as_kind)

    # The three stages of :meth:`forward`; ``MixedLayer`` runs them separately to share the first
    # two among the candidates of one block (see :meth:`channelwise_stages`).
    def resolve_expansion(self, expansion: int | None, groups: int | None) -> tuple[int, int]:
        """(expansion, groups) of a candidate; ``None`` = the block's own value."""
        e = self.expansion if expansion is None else expansion
        g = self.groups if groups is None else groups
        if e > self.expansion or (self.groups > 1 and e != self.expansion):
            raise ValueError(f"expansion={e} is not valid for this block; valid: <= {self.expansion}"
                             + (" (grouped blocks run at their own width only)" if self.groups > 1 else ""))
        return e, g

    def expand(self, x: torch.Tensor, expansion: int | None = None, groups: int | None = None,
               as_kind: str | None = None) -> torch.Tensor:
        """1x1 (C_in -> C_in*e), BN, ReLU [, channel shuffle when grouped]."""
        e, g = self.resolve_expansion(expansion, groups)
        mid = self.in_channels * e
        # in place: BatchNorm's backward reads its input, not its output (no copy of every activation)
        y = sliced_batch_norm(self.bn1, self.pw1(x, mid, self.in_channels, groups=g, as_kind=as_kind))
        y = F.relu(y, inplace=True)
        if g > 1:
            y = channel_shuffle(y, g)
        return y

    def depthwise(self, y: torch.Tensor, kernel: int | None = None, as_kind: str | None = None) -> torch.Tensor:
        """kxk depthwise at the block's stride, BN, ReLU, on the ``y.shape[1]`` expanded channels."""
        mid = y.shape[1]
        return F.relu(sliced_batch_norm(self.bn2, self.dw(y, mid, mid, kernel=kernel, as_kind=as_kind)), inplace=True)

    def project(self, y: torch.Tensor, x: torch.Tensor, groups: int | None = None,
                as_kind: str | None = None) -> torch.Tensor:
        """1x1 (-> C_out), BN [, + the block's input ``x`` when residual]."""
        g = self.groups if groups is None else groups
        y = self.bn3(self.pw2(y, self.out_channels, y.shape[1], groups=g, as_kind=as_kind))
        return y + x if self.use_residual else y

    def channelwise_stages(self) -> bool:
        """Whether :meth:`expand` and :meth:`depthwise` are channel-wise, with nothing per call:
        each output channel (and the gradients it sends back) depends only on its own weights and
        BN, so a candidate of expansion e gets the leading ``C_in*e`` channels of the same stage run
        at a larger expansion (same kernel, groups and ``as_kind``), and one run serves several
        candidates with the same outputs and gradients.  True for float (unquantised) mult and
        shift blocks (also as the shift view), and adder blocks without AdderNet's per-call weight
        gradient rescale (``eta=None``).  Not for: quantised blocks (per-tensor activation ranges,
        updated per call), adder blocks with ``eta`` (the gradient's rescale depends on which
        candidates' gradients are summed in one call), shift-adder blocks (their 1x1's adder part
        mixes all expanded channels)."""
        for conv in (self.pw1, self.dw):
            if getattr(conv, "quantize", False):
                return False
            if conv.kind == "adder":
                if getattr(conv, "eta", None) is not None:
                    return False
            elif conv.kind not in ("mult", "shift"):
                return False
        return True

    def layer_specs(self, height: int, width: int, batch: int = 1, expansion: int | None = None,
                    prefix: str = "") -> list[LayerSpec]:
        return mbconv_layer_specs(self.kind, self.in_channels, self.out_channels, self.kernel_size,
                                  self.expansion if expansion is None else expansion, self.stride,
                                  self.groups, height, width, batch, prefix)


class SkipBlock(CountsOps, nn.Module):
    """Identity; or 1x1 conv + BN + ReLU (multiplication-based) when the shape changes."""

    kind = "skip"

    def __init__(self, in_channels: int, out_channels: int, stride: int, quantize: bool = False):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.is_identity = in_channels == out_channels and stride == 1
        if not self.is_identity:
            self.conv = QConv2d(in_channels, out_channels, 1, stride, 0, quantize=quantize)
            self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, expansion: int | None = None) -> torch.Tensor:
        if self.is_identity:
            return x
        return F.relu(self.bn(self.conv(x)), inplace=True)

    def layer_specs(self, height, width, batch=1, expansion=None, prefix="") -> list[LayerSpec]:
        return skip_layer_specs(self.in_channels, self.out_channels, self.stride, height, width, batch, prefix)


def conv_layer_specs(kind: str, name: str, in_channels: int, out_channels: int, kernel: int,
                     stride: int, groups: int, height: int, width: int, batch: int) -> list[LayerSpec]:
    """Specs of one convolution of ``kind`` (a shift-adder convolution gives two layers)."""
    pad = kernel // 2
    p, q = conv_out_size(height, kernel, stride, pad), conv_out_size(width, kernel, stride, pad)
    if kind == "shiftadd":
        adder_groups = out_channels if groups == in_channels == out_channels and groups > 1 else groups
        return (conv_layer_specs("shift", name + ".shift", in_channels, out_channels, kernel, stride,
                                 groups, height, width, batch)
                + conv_layer_specs("adder", name + ".adder", out_channels, out_channels, kernel, 1,
                                   adder_groups, p, q, batch))
    bits = HW_BITS[kind]
    return [LayerSpec(name=name, op=kind, N=batch, K=out_channels, C=in_channels, P=p, Q=q, R=kernel,
                      S=kernel, stride=stride, padding=pad, groups=groups, bits_w=bits, bits_a=bits,
                      H_in=height, W_in=width)]


def mbconv_layer_specs(kind, in_channels, out_channels, kernel, expansion, stride, groups, height,
                       width, batch=1, prefix="") -> list[LayerSpec]:
    mid = in_channels * expansion
    specs = conv_layer_specs(kind, prefix + "pw1", in_channels, mid, 1, 1, groups, height, width, batch)
    specs += conv_layer_specs(kind, prefix + "dw", mid, mid, kernel, stride, mid, height, width, batch)
    p, q = specs[-1].P, specs[-1].Q
    specs += conv_layer_specs(kind, prefix + "pw2", mid, out_channels, 1, 1, groups, p, q, batch)
    if in_channels == out_channels and stride == 1:
        bits = op_kind(kind).bits
        specs.append(LayerSpec(name=prefix + "residual", op="eltwise", N=batch, K=out_channels,
                               C=out_channels, P=p, Q=q, bits_w=bits, bits_a=bits))
    return specs


def skip_layer_specs(in_channels, out_channels, stride, height, width, batch=1, prefix="") -> list[LayerSpec]:
    if in_channels == out_channels and stride == 1:
        return []
    return conv_layer_specs("mult", prefix + "proj", in_channels, out_channels, 1, stride, 1, height, width, batch)
