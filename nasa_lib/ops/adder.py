"""AdderNet's adder convolution: ``Y = -sum |X - W|`` over each receptive field.

Forward (Chen et al., AdderNet, CVPR'20; SOURCES.md [AdderNet] adder.py)::

    Y[n, k, p, q] = -sum_{c, r, s} |X_pad[n, g*C/G + c, p*stride + r, q*stride + s] - W[k, c, r, s]|

with ``g = k // (K/G)`` the filter's group; zero padding contributes ``-|W|``.  Backward (AdderNet's
"full-precision" gradients, not the sign of the forward's derivative)::

    dL/dW[k, c, r, s] = sum_{n, p, q} (X_pad - W) * dL/dY
    dL/dX[n, c, h, w] = sum_{k, r, s}  HardTanh(W - X) * dL/dY
    dW <- eta * sqrt(numel(W)) / ||dW||_2 * dW          (per call; eta=None disables it)

The weight gradient is a convolution weight-gradient (``sum X * dY``, done by oneDNN / cuDNN)
minus ``W * sum(dY)``; only the input gradient needs an elementwise pass (the HardTanh), which is
where the kernels are.  For depthwise layers, whose library weight-gradients are slow, the C and
Triton kernels compute ``sum (X - W) * dY`` themselves.  On CUDA the Triton module also fuses the
``- W * sum(dY)`` term and the rescale into one launch (``weight_grad_rescaled``) and reads
weight views by their strides: small layers are bound by the host's launch time there.

Implementations, picked by :func:`adder2d` from the input's device and dtype:

* CUDA float32/16/bf16: Triton kernels (``_adder_triton``), float32 accumulation;
* CPU float32/float64: C kernels built with gcc at first use (``_adder_cpu``);
* otherwise, or where those are unavailable: a memory-bounded pure-torch path
  (``_adder_torch``, chunked ``cdist`` + chunked clamp).

None of them makes an ``N*K*C*R*S*P*Q`` tensor.  ``NASA_LIB_ADDER_CPU=torch`` forces the
pure-torch path on CPU (the C path is then never built).
"""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn.functional as F
from torch import nn

from . import _adder_cpu, _adder_torch
from ._lazy_kernels import LazyKernels

__all__ = ["adder2d", "Adder2d", "adder2d_reference"]

BACKENDS = ("auto", "native", "triton", "torch")
_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_TRITON = LazyKernels("._adder_triton", "the pure-torch path on CUDA")


# ---- argument checks ------------------------------------------------------------------------
def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_args(x, weight, stride, padding, groups, eta) -> None:
    """Raise a one-line ValueError naming the bad parameter and its valid values."""
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ValueError(f"adder2d: x={shape} is not valid; valid values: a 4-D tensor [N, C, H, W]")
    if not isinstance(weight, torch.Tensor) or weight.dim() != 4:
        shape = tuple(weight.shape) if isinstance(weight, torch.Tensor) else type(weight).__name__
        raise ValueError(f"adder2d: weight={shape} is not valid; valid values: a 4-D tensor "
                         "[K, C // groups, R, S]")
    if x.dtype not in _FLOAT_DTYPES or weight.dtype != x.dtype:
        raise ValueError(f"adder2d: dtypes x={x.dtype}, weight={weight.dtype} are not valid; valid "
                         "values: one floating dtype for both (float16, bfloat16, float32, float64)")
    if weight.device != x.device:
        raise ValueError(f"adder2d: weight.device={weight.device} is not valid; valid values: "
                         f"x's device ({x.device})")
    if not _is_int(stride) or stride < 1:
        raise ValueError(f"adder2d: stride={stride!r} is not valid; valid values: an integer >= 1")
    if not _is_int(padding) or padding < 0:
        raise ValueError(f"adder2d: padding={padding!r} is not valid; valid values: an integer >= 0")
    n, c, h, w = x.shape
    k, cg, r, s = weight.shape
    if not _is_int(groups) or groups < 1 or c % groups or k % groups:
        raise ValueError(f"adder2d: groups={groups!r} is not valid; valid values: a positive "
                         f"integer dividing both C={c} and K={k}")
    if cg != c // groups:
        raise ValueError(f"adder2d: weight.shape[1]={cg} is not valid; valid values: "
                         f"C // groups = {c // groups}")
    if min(x.shape) < 1 or min(weight.shape) < 1:
        raise ValueError(f"adder2d: empty x={tuple(x.shape)} or weight={tuple(weight.shape)} is "
                         "not valid; valid values: every dimension >= 1")
    if r > h + 2 * padding or s > w + 2 * padding:
        raise ValueError(f"adder2d: kernel {r}x{s} is not valid for the padded input "
                         f"{h + 2 * padding}x{w + 2 * padding}; valid values: R <= H + 2*padding "
                         "and S <= W + 2*padding")
    if eta is not None and (not isinstance(eta, numbers.Real) or isinstance(eta, bool)
                            or not math.isfinite(eta) or eta <= 0):
        raise ValueError(f"adder2d: eta={eta!r} is not valid; valid values: a finite number > 0, "
                         "or None to disable the gradient rescale")


# ---- implementation choice ------------------------------------------------------------------
def _triton():
    """The Triton kernels module, or None (with a one-time warning) when Triton is unusable."""
    return _TRITON(stacklevel=4)


def _pick_backend(x: torch.Tensor, backend: str) -> str:
    if backend not in BACKENDS:
        raise ValueError(f"adder2d: backend={backend!r} is not valid; valid values: {BACKENDS}")
    if backend == "native" and (x.device.type != "cpu" or not _adder_cpu.available()):
        raise ValueError(f"adder2d: backend='native' is not valid here (device {x.device}, C "
                         f"kernels available: {_adder_cpu.available()}); valid values: 'auto', "
                         "'torch', or 'native' for CPU tensors where gcc built the kernels")
    if backend == "triton" and _triton() is None:
        raise ValueError(f"adder2d: backend='triton' is not valid here ({_TRITON.error}); valid "
                         "values: 'auto', 'torch', 'native' (CPU)")
    if backend != "auto":
        return backend
    if x.is_cuda:
        return "triton" if x.dtype != torch.float64 and _triton() is not None else "torch"
    if x.device.type == "cpu" and _adder_cpu.available():
        return "native"
    return "torch"


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """Half inputs are computed (and accumulated) in float32; float64 stays float64."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _module_for(backend: str):
    if backend == "native":
        return _adder_cpu
    if backend == "triton":
        return _triton()
    return _adder_torch


def _conv_weight_grad(x, weight, grad_y, stride, padding, groups) -> torch.Tensor:
    """sum X * dY through the convolution backward (oneDNN / cuDNN).  cuDNN may use TF32 for
    float32 convolutions by default (~1e-3 error); the weight gradient must be float32-exact, so
    TF32 is off for the duration of the call."""
    tf32 = x.is_cuda and torch.backends.cudnn.allow_tf32
    if tf32:
        torch.backends.cudnn.allow_tf32 = False
    try:
        return torch.ops.aten.convolution_backward(
            grad_y, x, weight, None, [stride, stride], [padding, padding], [1, 1], False, [0, 0],
            groups, [False, True, False])[1]
    finally:
        if tf32:
            torch.backends.cudnn.allow_tf32 = True


def _as(t: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``t.to(dtype).contiguous()`` without the cost of a no-op ``to`` (a few us per call)."""
    return (t if t.dtype == dtype else t.to(dtype)).contiguous()


def _weight_as(impl, weight: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """The weight in the compute dtype; a strided view stays a view for implementations that
    index it by its strides (the Triton kernels: no copy launch per call), else contiguous."""
    if getattr(impl, "ACCEPTS_STRIDED_WEIGHT", False):
        return weight if weight.dtype == dtype else weight.to(dtype)
    return _as(weight, dtype)


def _weight_grad(x, weight, grad_y, stride, padding, groups, impl=None) -> torch.Tensor:
    """sum_{n,p,q} (X_pad - W) * dY = (convolution weight-gradient) - W * sum_{n,p,q} dY.

    ``impl.grad_weight`` (the Triton module's, for depthwise layers) takes over where it
    returns a tensor."""
    own = getattr(impl, "grad_weight", None)
    gw = own(x, weight, grad_y, stride, padding, groups) if own is not None else None
    if gw is not None:
        return gw
    gw = _conv_weight_grad(x, weight, grad_y, stride, padding, groups)
    return gw.addcmul_(weight, grad_y.sum(dim=(0, 2, 3)).view(-1, 1, 1, 1), value=-1)


# Guards the division for an all-zero gradient (which stays zero); a real gradient is far larger.
_TINY_NORM = 1e-30
# The order of the CUDA backward's two gradients (see _AdderFunction.backward): weight gradient
# first (measured: peak memory <= cuDNN's on every benchmark shape); benchmarks flip it.
_DX_FIRST = False


def _rescale(gw: torch.Tensor, eta: float | None) -> torch.Tensor:
    """AdderNet's adaptive learning-rate scaling: eta * sqrt(numel) / ||gw||_2 * gw (0 stays 0).

    Done on the device without a host sync: a zero gradient is multiplied by a finite factor."""
    if eta is None:
        return gw
    norm = torch.linalg.vector_norm(gw)  # gw is float32 or float64 (the compute dtype)
    return gw.mul_(eta * math.sqrt(gw.numel())).div_(norm.clamp_min_(_TINY_NORM))


class _AdderFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, stride, padding, groups, eta, backend):
        impl = _module_for(backend)
        cdt = _compute_dtype(x.dtype)
        y = impl.forward(_as(x, cdt), _weight_as(impl, weight, cdt), stride, padding, groups)
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, groups, eta, backend)
        return _as(y, x.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensors
        stride, padding, groups, eta, backend = ctx.conf
        cdt = _compute_dtype(x.dtype)
        impl = _module_for(backend)
        xc, wc, gy = _as(x, cdt), _weight_as(impl, weight, cdt), _as(grad_y, cdt)
        gx = gw = None
        fused = getattr(impl, "weight_grad_rescaled", None)  # the Triton module's, few launches
        # CUDA: the input-gradient kernel (the longer one) is queued first when _DX_FIRST, so the
        # GPU runs it while the host makes the weight gradient's (cuDNN) call; else the weight
        # gradient first, so that its temporaries are freed before dx is allocated
        dx_first = _DX_FIRST and fused is not None
        if dx_first and ctx.needs_input_grad[0]:
            gx = _as(impl.grad_input(xc, wc, gy, stride, padding, groups), x.dtype)
        if ctx.needs_input_grad[1] and fused is not None:
            gw = _as(fused(xc, wc, gy, stride, padding, groups, eta), weight.dtype)
        if not dx_first and ctx.needs_input_grad[0]:
            gx = _as(impl.grad_input(xc, wc, gy, stride, padding, groups), x.dtype)
        if ctx.needs_input_grad[1] and fused is None:
            gw = _as(_rescale(_weight_grad(xc, wc, gy, stride, padding, groups, impl), eta),
                     weight.dtype)
        return gx, gw, None, None, None, None, None


# CUDA calls whose arguments passed _check_args, by shapes, dtypes, devices and the scalar
# arguments (exact ints, a float or None), -> the implementation _pick_backend chose: a layer's
# later calls skip both (host time, issue 19; a small layer's CUDA call is bound by it).  The
# CPU path always checks (unchanged).
_VALIDATED: dict = {}
_VALIDATED_MAX = 1 << 12


def _adder2d(x, weight, stride=1, padding=0, groups=1, eta=0.2, backend="auto") -> torch.Tensor:
    """:func:`adder2d` with an explicit implementation (tests and benchmarks use this)."""
    if (type(stride) is int and type(padding) is int and type(groups) is int
            and (eta is None or type(eta) is float) and isinstance(x, torch.Tensor)
            and isinstance(weight, torch.Tensor) and x.is_cuda):
        key = (x.shape, weight.shape, x.dtype, weight.dtype, x.device, weight.device, stride, padding,
               groups, eta, backend)
        picked = _VALIDATED.get(key)
        if picked is None:
            _check_args(x, weight, stride, padding, groups, eta)
            picked = _pick_backend(x, backend)
            if len(_VALIDATED) >= _VALIDATED_MAX:
                _VALIDATED.clear()
            _VALIDATED[key] = picked
        return _AdderFunction.apply(x, weight, stride, padding, groups, eta, picked)
    _check_args(x, weight, stride, padding, groups, eta)
    return _AdderFunction.apply(x, weight, int(stride), int(padding), int(groups),
                                None if eta is None else float(eta), _pick_backend(x, backend))


def adder2d(x: torch.Tensor, weight: torch.Tensor, stride: int = 1, padding: int = 0,
            groups: int = 1, eta: float | None = 0.2) -> torch.Tensor:
    """Adder convolution of ``x [N, C, H, W]`` with ``weight [K, C // groups, R, S]``.

    Returns ``[N, K, P, Q]`` with ``P = (H + 2*padding - R) // stride + 1`` (likewise Q).
    Gradients follow AdderNet (module docstring); ``eta`` scales the weight gradient to norm
    ``eta * sqrt(numel(W))`` (None: unscaled).  ``weight`` may be a non-contiguous view (a slice
    of a larger parameter); its gradient flows back into the parent.
    """
    return _adder2d(x, weight, stride, padding, groups, eta)


def adder2d_reference(x: torch.Tensor, weight: torch.Tensor, stride: int = 1, padding: int = 0,
                      groups: int = 1) -> torch.Tensor:
    """The forward written straight from the formula, one output position at a time (slow; tests)."""
    _check_args(x, weight, stride, padding, groups, None)
    n, c, h, w = x.shape
    k, cg, r, s = weight.shape
    p_out = (h + 2 * padding - r) // stride + 1
    q_out = (w + 2 * padding - s) // stride + 1
    x_pad = F.pad(x, (padding, padding, padding, padding))
    y = x.new_zeros(n, k, p_out, q_out)
    kg = k // groups
    for kk in range(k):
        c0 = (kk // kg) * cg  # first input channel of this filter's group
        for p in range(p_out):
            for q in range(q_out):
                field = x_pad[:, c0:c0 + cg, p * stride:p * stride + r, q * stride:q * stride + s]
                y[:, kk, p, q] = -(field - weight[kk]).abs().sum(dim=(1, 2, 3))
    return y


class Adder2d(nn.Module):
    """An adder convolution layer (no bias; AdderNet puts a batch norm after it).

    The weight ``[out_channels, in_channels // groups, R, S]`` is drawn from N(0, 1) with the
    caller's torch RNG, as in AdderNet.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride: int = 1,
                 padding: int = 0, groups: int = 1, eta: float | None = 0.2):
        super().__init__()
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels),
                            ("groups", groups), ("stride", stride)):
            if not _is_int(value) or value < 1:
                raise ValueError(f"Adder2d: {name}={value!r} is not valid; valid values: an "
                                 "integer >= 1")
        if not _is_int(padding) or padding < 0:
            raise ValueError(f"Adder2d: padding={padding!r} is not valid; valid values: an "
                             "integer >= 0")
        ks = (kernel_size, kernel_size) if _is_int(kernel_size) else tuple(kernel_size)
        if len(ks) != 2 or not all(_is_int(v) and v >= 1 for v in ks):
            raise ValueError(f"Adder2d: kernel_size={kernel_size!r} is not valid; valid values: "
                             "an integer >= 1 or a pair of them")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"Adder2d: groups={groups} is not valid; valid values: a divisor of "
                             f"both in_channels={in_channels} and out_channels={out_channels}")
        if eta is not None and (not isinstance(eta, numbers.Real) or not math.isfinite(eta)
                                or eta <= 0):
            raise ValueError(f"Adder2d: eta={eta!r} is not valid; valid values: a finite number "
                             "> 0, or None")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size = (int(ks[0]), int(ks[1]))
        self.stride, self.padding, self.groups, self.eta = stride, padding, groups, eta
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels // groups, *self.kernel_size))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return adder2d(x, self.weight, self.stride, self.padding, self.groups, self.eta)

    def extra_repr(self) -> str:
        return (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
                f"stride={self.stride}, padding={self.padding}, groups={self.groups}, eta={self.eta}")
