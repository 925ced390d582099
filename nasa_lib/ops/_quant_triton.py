"""Triton kernels of the DeepShift-Q quantisers for CUDA float32 tensors: one launch each.

``quant.fixed_point`` and ``quant.round_power_of_two`` in PyTorch operators are six and ten
element-wise launches (each a pass over the tensor), and a soft-mode Hybrid-All search step calls
them 792 times per forward pass (every shift candidate's input and weight), which made them a
third of that step's ~29k kernel launches on an H200 (benchmarks/results/
adder_soft_host_h200_issue19_final5.json).  Here each is one kernel computing the same float32
operations in the same order -- libdevice's log2 and rint are CUDA's log2f and rintf, which
PyTorch's operators call; scaling by 2^16 is exact, as PyTorch's division by 2^-16 -- so the
values are the PyTorch path's bit for bit (tests/test_quant_fused.py).  The straight-through
gradient is the identity, as ``x + (q - x).detach()``'s.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl
from triton.language.extra import libdevice

from ._triton_launch import grid3, launch

_BLOCK = 1024


@triton.jit
def _offsets(offs, D1, D2, D3, s0, s1, s2, s3, DENSE: tl.constexpr):
    """Element offsets of flat indices ``offs`` in a (padded to) 4-d tensor of the given strides;
    DENSE: the tensor's storage is dense (contiguous in some dimension order), read it flat."""
    if DENSE:
        o = offs
    else:
        i3 = offs % D3
        r = offs // D3
        i2 = r % D2
        r = r // D2
        i1 = r % D1
        i0 = r // D1
        o = i0 * s0 + i1 * s1 + i2 * s2 + i3 * s3
    return o


@triton.jit
def _fixed_point_kernel(x_ptr, y_ptr, numel, D1, D2, D3, xs0, xs1, xs2, xs3, ys0, ys1, ys2, ys3,
                        scale, step, lo, hi, DENSE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < numel
    x = tl.load(x_ptr + _offsets(offs, D1, D2, D3, xs0, xs1, xs2, xs3, DENSE), mask=m)
    q = libdevice.rint(x * scale) * step          # torch.div(x, step).round_().mul_(step)
    q = tl.minimum(tl.maximum(q, lo, propagate_nan=tl.PropagateNan.ALL), hi,
                   propagate_nan=tl.PropagateNan.ALL)  # .clamp_(-bound, bound - step)
    y = x + (q - x)                                # .sub_(x), then x + q
    tl.store(y_ptr + _offsets(offs, D1, D2, D3, ys0, ys1, ys2, ys3, DENSE), y, mask=m)


@triton.jit
def _power_of_two_kernel(w_ptr, y_ptr, numel, D1, D2, D3, ws0, ws1, ws2, ws3, ys0, ys1, ys2, ys3,
                         floor, p_min, p_max, DENSE: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    m = offs < numel
    w = tl.load(w_ptr + _offsets(offs, D1, D2, D3, ws0, ws1, ws2, ws3, DENSE), mask=m)
    a = tl.maximum(tl.abs(w), floor, propagate_nan=tl.PropagateNan.ALL)  # abs().clamp_min_()
    p = libdevice.rint(libdevice.log2(a))                                 # .log2_().round_()
    p = tl.minimum(tl.maximum(p, p_min), p_max)                           # .clamp_(p_min, p_max)
    s = tl.where(w > 0, 1.0, tl.where(w < 0, -1.0, 0.0))                 # torch.sign (NaN: 0)
    q = s * libdevice.exp2(p)                      # .mul_(torch.pow(2.0, p)): exact for integer p
    y = w + (q - w)                                # .sub_(weight), then weight + q
    tl.store(y_ptr + _offsets(offs, D1, D2, D3, ys0, ys1, ys2, ys3, DENSE), y, mask=m)


def _dense(t: torch.Tensor) -> bool:
    """Storage dense and non-overlapping (contiguous in some order of the dimensions)."""
    expected = 1
    for size, stride in sorted(zip(t.shape, t.stride()), key=lambda ss: ss[1]):
        if size != 1 and stride != expected:
            return False
        expected *= size
    return True


def _geometry(x: torch.Tensor, y: torch.Tensor):
    """(dense?, sizes of dims 1..3, x's four strides, y's four strides), padded to 4-d."""
    pad = 4 - x.dim()
    sizes = (1,) * pad + tuple(x.shape)
    xs = (0,) * pad + tuple(x.stride())
    ys = (0,) * pad + tuple(y.stride())
    return xs == ys and _dense(x), sizes[1:], xs, ys


def _run(name, kernel, x: torch.Tensor, scalars: tuple) -> torch.Tensor:
    y = torch.empty_like(x)  # x's layout where x is dense (as PyTorch's element-wise output)
    numel = x.numel()
    if numel == 0:
        return y
    dense, dims, xs, ys = _geometry(x, y)
    launch(name, kernel, grid3(triton.cdiv(numel, _BLOCK)), (x, y),
           (numel, *dims, *xs, *ys, *scalars), (dense, _BLOCK), 4)
    return y


class _FixedPoint(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, integer_bits, fraction_bits):
        step = 2.0 ** (-fraction_bits)
        bound = 2.0 ** (integer_bits - 1)
        return _run("fixed_point", _fixed_point_kernel, x,
                    (2.0 ** fraction_bits, step, -bound, bound - step))

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None


class _PowerOfTwo(torch.autograd.Function):
    @staticmethod
    def forward(ctx, weight, p_min, p_max):
        return _run("power_of_two", _power_of_two_kernel, weight,
                    (2.0 ** (p_min - 1), float(p_min), float(p_max)))

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None


def supports(t: torch.Tensor, p_min: int | None = None) -> bool:
    """The kernels take CUDA float32 tensors of at most 4 dimensions with int32 offsets; the
    power-of-two kernel (``p_min`` given) only ranges whose floor 2^(p_min - 1) is a normal
    float32: it flushes subnormal powers of two to zero, where PyTorch's operators keep them."""
    if p_min is not None and p_min - 1 < -126:
        return False
    reach = sum((n - 1) * abs(s) for n, s in zip(t.shape, t.stride()))
    return t.is_cuda and t.dtype == torch.float32 and t.dim() <= 4 and max(t.numel(), reach + 1) < 2 ** 31


def fixed_point(x: torch.Tensor, integer_bits: int, fraction_bits: int) -> torch.Tensor:
    return _FixedPoint.apply(x, integer_bits, fraction_bits)


def round_power_of_two(weight: torch.Tensor, p_min: int, p_max: int) -> torch.Tensor:
    return _PowerOfTwo.apply(weight, p_min, p_max)
