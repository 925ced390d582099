"""The adder convolution: forward and AdderNet gradients against the formulas, every backend.

Gradient references are written here from the formulas (explicit loops over kernel taps and
filters), independently of the implementations under test.  Float64 checks are exact to
rounding; float32 checks hold every implementation to 1e-4 relative of the float64 reference.
"""
from __future__ import annotations

import importlib.util
import json
import math
import os
import subprocess
import sys
import textwrap
import warnings

import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode

from nasa_lib.ops import _adder_cpu
from nasa_lib.ops.adder import Adder2d, _adder2d, adder2d, adder2d_reference

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# (N, C, H, W, K, kernel, stride, padding, groups): dense, strided, grouped, depthwise, 1x1
CASES = [
    (2, 4, 6, 6, 5, 3, 1, 1, 1),
    (2, 4, 7, 7, 6, 3, 2, 1, 1),
    (2, 4, 6, 5, 6, 3, 1, 0, 2),
    (2, 6, 8, 8, 4, 3, 2, 1, 2),
    (2, 5, 9, 9, 5, 5, 2, 2, 5),   # depthwise 5x5 stride 2
    (2, 4, 6, 6, 8, 3, 1, 1, 4),   # depthwise with channel multiplier 2
    (2, 7, 5, 5, 9, 1, 1, 0, 1),   # pointwise
    (1, 3, 8, 8, 4, 2, 3, 1, 1),   # stride 3, even kernel
    # depthwise with 256 output positions per plane: on CUDA the weight gradient takes the
    # convolution backward, not the Triton partial sums (_adder_triton.CONFIG["dw_conv_wgrad_min_pq"])
    (2, 3, 16, 16, 3, 3, 1, 1, 3),
    (1, 2, 16, 16, 4, 5, 1, 2, 2),
]
CASE_IDS = ["dense", "dense-s2", "g2-nopad", "g2-s2", "dw5-s2", "dw-mult2", "1x1", "k2-s3", "dw-16x16",
            "dw5-mult2-16x16"]
CPU_BACKENDS = ["native", "torch"] if _adder_cpu.available() else ["torch"]


def _data(case, dtype, seed=0):
    n, c, h, w, k, ks, stride, padding, groups = case
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, c, h, w, generator=gen, dtype=dtype)
    weight = torch.randn(k, c // groups, ks, ks, generator=gen, dtype=dtype)
    p = (h + 2 * padding - ks) // stride + 1
    q = (w + 2 * padding - ks) // stride + 1
    grad_y = torch.randn(n, k, p, q, generator=gen, dtype=dtype)
    return x, weight, grad_y, stride, padding, groups


def _formula_grads(x, weight, grad_y, stride, padding, groups):
    """dW = sum (X_pad - W) * dY and dX = sum HardTanh(W - X_pad) * dY, tap by tap."""
    n, c, h, w = x.shape
    k, cg, r_size, s_size = weight.shape
    _, _, p, q = grad_y.shape
    kg = k // groups
    x_pad = torch.nn.functional.pad(x, (padding,) * 4)
    gw = torch.zeros_like(weight)
    gx_pad = torch.zeros_like(x_pad)
    for r in range(r_size):
        for s in range(s_size):
            rows = slice(r, r + stride * (p - 1) + 1, stride)
            cols = slice(s, s + stride * (q - 1) + 1, stride)
            for kk in range(k):
                c0 = (kk // kg) * cg
                field = x_pad[:, c0:c0 + cg, rows, cols]                  # [N, Cg, P, Q]
                wv = weight[kk, :, r, s].view(1, cg, 1, 1)
                g = grad_y[:, kk:kk + 1]                                  # [N, 1, P, Q]
                gw[kk, :, r, s] = ((field - wv) * g).sum(dim=(0, 2, 3))
                gx_pad[:, c0:c0 + cg, rows, cols] += (wv - field).clamp(-1, 1) * g
    return gx_pad[:, :, padding:padding + h, padding:padding + w], gw


def _run(backend, x, weight, grad_y, stride, padding, groups, eta=None):
    x = x.clone().requires_grad_(True)
    weight = weight.clone().requires_grad_(True)
    y = _adder2d(x, weight, stride, padding, groups, eta, backend=backend)
    y.backward(grad_y)
    return y.detach(), x.grad, weight.grad


def _rel(a, b):
    return ((a.double() - b.double()).norm() / b.double().norm()).item()


# ---- golden numbers by hand -------------------------------------------------------------------
def test_forward_golden_by_hand():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    w = torch.tensor([[[[0.0, 1.0], [1.0, 0.0]]]])
    # no padding: -(|1-0| + |2-1| + |3-1| + |4-0|) = -(1 + 1 + 2 + 4) = -8
    assert adder2d(x, w).item() == -8.0
    # padding 1, top-left output: window [[0, 0], [0, 1]] -> -(0 + 1 + 1 + 1) = -3;
    # centre output is the unpadded window -> -8
    y = adder2d(x, w, padding=1)
    assert y.shape == (1, 1, 3, 3)
    assert y[0, 0, 0, 0].item() == -3.0 and y[0, 0, 1, 1].item() == -8.0
    assert torch.equal(adder2d_reference(x, w, padding=1), y)


def test_gradients_golden_by_hand():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], requires_grad=True)
    w = torch.tensor([[[[0.0, 1.0], [1.0, 0.5]]]], requires_grad=True)
    adder2d(x, w, eta=None).backward(torch.tensor([[[[2.0]]]]))
    # dW = (x - w) * 2 = [[2, 2], [4, 7]];  dX = HardTanh(w - x) * 2 = clamp([[-1, -1], [-2, -3.5]]) * 2
    assert torch.equal(w.grad, torch.tensor([[[[2.0, 2.0], [4.0, 7.0]]]]))
    assert torch.equal(x.grad, torch.tensor([[[[-2.0, -2.0], [-2.0, -2.0]]]]))


# ---- every backend against the formulas -------------------------------------------------------
@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float64_matches_formulas(backend, case):
    x, weight, grad_y, stride, padding, groups = _data(case, torch.float64)
    y, gx, gw = _run(backend, x, weight, grad_y, stride, padding, groups)
    torch.testing.assert_close(y, adder2d_reference(x, weight, stride, padding, groups),
                               rtol=1e-12, atol=1e-12)
    gx_ref, gw_ref = _formula_grads(x, weight, grad_y, stride, padding, groups)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-10, atol=1e-10)
    torch.testing.assert_close(gw, gw_ref, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("backend", CPU_BACKENDS)
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float32_within_1e4_of_float64_reference(backend, case):
    x, weight, grad_y, stride, padding, groups = _data(case, torch.float64, seed=1)
    y, gx, gw = _run(backend, x.float(), weight.float(), grad_y.float(), stride, padding, groups)
    gx_ref, gw_ref = _formula_grads(x, weight, grad_y, stride, padding, groups)
    assert y.dtype == gx.dtype == gw.dtype == torch.float32
    assert _rel(y, adder2d_reference(x, weight, stride, padding, groups)) < 1e-4
    assert _rel(gx, gx_ref) < 1e-4
    assert _rel(gw, gw_ref) < 1e-4


def test_weight_gradient_rescaled_to_eta_sqrt_numel():
    x, weight, grad_y, stride, padding, groups = _data(CASES[0], torch.float64, seed=2)
    _, gw_ref = _formula_grads(x, weight, grad_y, stride, padding, groups)
    for eta in (0.2, 1.5):
        _, gx, gw = _run("auto", x, weight, grad_y, stride, padding, groups, eta=eta)
        # norm eta * sqrt(numel(W)), direction of the raw formula gradient
        assert gw.norm().item() == pytest.approx(eta * math.sqrt(weight.numel()), rel=1e-12)
        torch.testing.assert_close(gw, gw_ref * (gw.norm() / gw_ref.norm()), rtol=1e-10, atol=1e-12)
    # the input gradient is never rescaled
    gx_ref, _ = _formula_grads(x, weight, grad_y, stride, padding, groups)
    torch.testing.assert_close(gx, gx_ref, rtol=1e-10, atol=1e-10)


def test_zero_gradient_stays_zero_under_rescale():
    x, weight, grad_y, stride, padding, groups = _data(CASES[0], torch.float32)
    _, gx, gw = _run("auto", x, weight, torch.zeros_like(grad_y), stride, padding, groups, eta=0.2)
    assert torch.count_nonzero(gw) == 0 and torch.count_nonzero(gx) == 0


def test_sliced_weight_view_sends_gradient_to_parent():
    gen = torch.Generator().manual_seed(3)
    parent = torch.nn.Parameter(torch.randn(8, 6, 3, 3, generator=gen))
    x = torch.randn(2, 3, 6, 6, generator=gen)
    view = parent[:4, :3]                        # an e1 candidate on an e6 block's weight
    assert not view.is_contiguous()
    y = adder2d(x, view, 1, 1, 1, None)
    grad_y = torch.randn(y.shape, generator=gen)
    y.backward(grad_y)
    _, gw_ref = _formula_grads(x, view.detach(), grad_y, 1, 1, 1)
    torch.testing.assert_close(parent.grad[:4, :3], gw_ref, rtol=1e-4, atol=1e-4)
    assert torch.count_nonzero(parent.grad[4:]) == 0 and torch.count_nonzero(parent.grad[:, 3:]) == 0
    torch.testing.assert_close(y, adder2d(x, view.detach().contiguous(), 1, 1, 1, None))


def test_half_inputs_computed_in_float32():
    x, weight, grad_y, stride, padding, groups = _data(CASES[1], torch.float32)
    y16 = adder2d(x.bfloat16(), weight.bfloat16(), stride, padding, groups)
    assert y16.dtype == torch.bfloat16
    y32 = adder2d(x.bfloat16().float(), weight.bfloat16().float(), stride, padding, groups)
    torch.testing.assert_close(y16.float(), y32, rtol=1e-2, atol=0)


# ---- memory stays bounded --------------------------------------------------------------------
class _LargestTensor(TorchDispatchMode):
    """Records the element count of the largest tensor any aten op returns."""

    def __init__(self):
        super().__init__()
        self.largest = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                self.largest = max(self.largest, t.numel())
        return out


@pytest.mark.parametrize("backend", CPU_BACKENDS)
def test_no_tensor_scales_with_n_k_c_r_s_p_q(backend, monkeypatch):
    monkeypatch.setattr(torch, "get_num_threads", lambda: 1)  # C path runs in this thread
    x, weight, grad_y, stride, padding, groups = _data((16, 32, 16, 16, 32, 3, 1, 1, 1),
                                                       torch.float32)
    naive = 16 * 32 * 32 * 9 * 16 * 16                       # N*K*C*R*S*P*Q = 37.7 M elements
    x.requires_grad_(True)
    weight.requires_grad_(True)
    with _LargestTensor() as mode:
        _adder2d(x, weight, stride, padding, groups, backend=backend).backward(grad_y)
    # the largest temporary stays within the input + output size (the torch path's budget) or
    # 1 Mi elements, far from the naive N*K*C*R*S*P*Q
    assert mode.largest <= max(x.numel() + grad_y.numel(), 1 << 20)
    assert mode.largest * 30 < naive


# ---- the C path and its fallback ---------------------------------------------------------------
def test_cpu_path_falls_back_to_torch_when_compiler_missing(monkeypatch):
    monkeypatch.setattr(_adder_cpu, "_lib", None)
    monkeypatch.setattr(_adder_cpu, "_load_error", None)
    monkeypatch.setenv("CC", "/nonexistent/cc")
    with pytest.warns(RuntimeWarning, match="fast CPU kernels unavailable"):
        assert not _adder_cpu.available()
    x, weight, _, stride, padding, groups = _data(CASES[0], torch.float64)
    torch.testing.assert_close(adder2d(x, weight, stride, padding, groups),
                               adder2d_reference(x, weight, stride, padding, groups))


@pytest.mark.skipif(not (_adder_cpu.available() and _adder_cpu._openmp), reason="C kernels built without OpenMP")
@pytest.mark.parametrize("case", [(7, 6, 9, 9, 12, 3, 1, 1, 1), (7, 12, 9, 9, 12, 3, 2, 1, 12),
                                  (5, 8, 10, 10, 16, 5, 1, 2, 8), (3, 8, 8, 8, 4, 1, 1, 0, 1)])
def test_openmp_and_thread_pool_paths_agree_bit_for_bit(case, monkeypatch):
    """The OpenMP kernels split the images among threads exactly as the Python pool does."""
    monkeypatch.setattr(torch, "get_num_threads", lambda: 3)
    x, weight, grad_y, stride, padding, groups = _data(case, torch.float32)
    results = []
    for openmp in (True, False):
        monkeypatch.setattr(_adder_cpu, "_openmp", openmp)
        results.append((_adder_cpu.forward(x, weight, stride, padding, groups),
                        _adder_cpu.grad_input(x, weight, grad_y, stride, padding, groups),
                        _adder_cpu.grad_weight(x, weight, grad_y, stride, padding, groups)))
    for with_openmp, with_pool in zip(*results):
        assert (with_openmp is None and with_pool is None) or torch.equal(with_openmp, with_pool)


def test_env_forces_torch_path(monkeypatch):
    monkeypatch.setenv("NASA_LIB_ADDER_CPU", "torch")
    assert not _adder_cpu.available()
    x, weight, _, stride, padding, groups = _data(CASES[0], torch.float32)
    with pytest.raises(ValueError, match="backend='native' is not valid"):
        _adder2d(x, weight, stride, padding, groups, backend="native")
    with pytest.raises(ValueError, match="valid values"):
        _adder2d(x, weight, stride, padding, groups, backend="cuda")


# ---- argument errors --------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, name", [
    (dict(stride=0), "stride"), (dict(stride=1.5), "stride"), (dict(padding=-1), "padding"),
    (dict(groups=3), "groups"), (dict(groups=0), "groups"), (dict(eta=0.0), "eta"),
    (dict(eta=float("nan")), "eta"), (dict(weight=torch.randn(4, 3, 3, 3)), "weight.shape[1]"),
    (dict(weight=torch.randn(4, 4, 3)), "weight"), (dict(x=torch.randn(4, 6, 6)), "x"),
    (dict(weight=torch.randn(4, 4, 9, 9)), "kernel"),
    (dict(x=torch.randn(1, 4, 6, 6, dtype=torch.float64)), "dtypes"),
    (dict(x=torch.ones(1, 4, 6, 6, dtype=torch.int64)), "dtypes"),
])
def test_bad_arguments_raise_one_line_value_error(kwargs, name):
    args = dict(x=torch.randn(1, 4, 6, 6), weight=torch.randn(4, 4, 3, 3), stride=1, padding=1,
                groups=1, eta=0.2)
    args.update(kwargs)
    with pytest.raises(ValueError) as info:
        adder2d(**args)
    message = str(info.value)
    assert name in message and "valid values" in message and "\n" not in message


@pytest.mark.parametrize("kwargs", [dict(groups=3), dict(kernel_size=0), dict(stride=0),
                                    dict(padding=-2), dict(eta=-1.0), dict(in_channels=0)])
def test_module_bad_arguments(kwargs):
    args = dict(in_channels=4, out_channels=8, kernel_size=3)
    args.update(kwargs)
    with pytest.raises(ValueError, match="valid values"):
        Adder2d(**args)


# ---- the module ---------------------------------------------------------------------------------
def test_module_init_forward_and_repr():
    torch.manual_seed(7)
    layer = Adder2d(4, 8, 3, stride=2, padding=1, groups=2)
    torch.manual_seed(7)
    expected = torch.randn(8, 2, 3, 3)                      # N(0, 1) from the caller's RNG
    assert torch.equal(layer.weight.detach(), expected)
    assert all(name != "bias" for name, _ in layer.named_parameters())
    x = torch.randn(2, 4, 7, 7)
    torch.testing.assert_close(layer(x), adder2d(x, layer.weight.detach(), 2, 1, 2))
    text = repr(layer)
    for part in ("4, 8", "kernel_size=(3, 3)", "stride=2", "padding=1", "groups=2", "eta=0.2"):
        assert part in text


# ---- the Triton kernels ----------------------------------------------------------------------
_TRITON_CHECK = textwrap.dedent("""
    import json, os, sys
    import torch
    import triton.runtime.interpreter as interp
    # numpy >= 2.4 refuses int() of a 1-element array, which Triton 3.6's interpreter does for
    # loop bounds; take the element explicitly (interpreter-only shim, no effect on GPU runs).
    _orig = interp._patch_lang_tensor
    def _patched(tensor, scope):
        _orig(tensor, scope)
        scope.set_attr(tensor, "__index__", lambda self: int(self.handle.data.reshape(-1)[0]))
    interp._patch_lang_tensor = _patched
    from nasa_lib.ops import _adder_torch, _adder_triton
    from nasa_lib.ops.adder import _weight_grad
    from nasa_lib.ops.adder import _rescale
    out = []
    for n, c, h, w, k, ks, st, pad, g in json.loads(sys.argv[1]):
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(n, c, h, w, generator=gen, dtype=torch.float64)
        # a strided view (leading channels, centre taps), as the supernet's candidates pass it
        cg_parent = 1 if c // g == 1 else c // g + 2
        parent = torch.randn(k + 3, cg_parent, ks + 2, ks + 2, generator=gen, dtype=torch.float64)
        wt = parent[:k, :c // g, 1:1 + ks, 1:1 + ks]
        y_ref = _adder_torch.forward(x, wt, st, pad, g)
        gy = torch.randn(y_ref.shape, generator=gen, dtype=torch.float64)
        dx_ref = _adder_torch.grad_input(x, wt, gy, st, pad, g)
        y = _adder_triton.forward(x.float(), wt.float(), st, pad, g)
        dx = _adder_triton.grad_input(x.float(), wt.float(), gy.float(), st, pad, g)
        rel = lambda a, b: ((a.double() - b).norm() / b.norm()).item()
        errors = [rel(y, y_ref), rel(dx, dx_ref)]
        dw_ref = _weight_grad(x, wt.contiguous(), gy, st, pad, g)
        for eta in (None, 0.2):  # the fused weight gradient (+ rescale) of the CUDA path
            dw = _adder_triton.weight_grad_rescaled(x.float(), wt.float(), gy.float(), st, pad, g, eta)
            errors.append(rel(dw, dw_ref if eta is None else _rescale(dw_ref.clone(), eta)))
        dw = _adder_triton.grad_weight(x.float(), wt.float(), gy.float(), st, pad, g)
        if dw is not None:  # the Triton weight gradient exists for depthwise layers
            errors.append(rel(dw, dw_ref))
        out.append(errors)
    print(json.dumps({"errors": out, "dw_min_pq": _adder_triton.CONFIG["dw_conv_wgrad_min_pq"]}))
""")


def _triton_dw_partials(case, min_pq) -> bool:
    """Whether the Triton module computes this case's weight gradient with its own depthwise
    kernel (few output positions) rather than the convolution backward."""
    n, c, h, w, k, ks, stride, padding, groups = case
    p, q = (h + 2 * padding - ks) // stride + 1, (w + 2 * padding - ks) // stride + 1
    return c == groups and p * q < min_pq


@pytest.mark.skipif(importlib.util.find_spec("triton") is None,
                    reason="triton is not installed (CPU-only torch); the Triton kernels are "
                           "checked on CUDA by benchmarks/adder.py --check")
def test_triton_kernels_in_interpreter():
    cases = [list(c) for c in CASES]
    path = os.pathsep.join(p for p in (REPO, os.environ.get("PYTHONPATH")) if p)
    env = dict(os.environ, TRITON_INTERPRET="1", PYTHONPATH=path)
    proc = subprocess.run([sys.executable, "-c", _TRITON_CHECK, json.dumps(cases)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    errors = got["errors"]
    assert len(errors) == len(CASES)
    for case_id, case, errs in zip(CASE_IDS, CASES, errors):
        # grad_weight exists for depthwise layers with few output positions
        assert len(errs) == (5 if _triton_dw_partials(case, got["dw_min_pq"]) else 4), case_id
        assert max(errs) < 1e-5, (case_id, errs)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cuda_strided_weight_view_and_repeated_calls(case):
    """A weight view (as the supernet passes it) gives the contiguous weight's results, also on
    the second call, whose kernels go through the fast launch path."""
    x, weight, grad_y, stride, padding, groups = _data(case, torch.float32, seed=5)
    k, cg, ks = weight.shape[0], weight.shape[1], weight.shape[2]
    ref = _run("auto", x.cuda(), weight.cuda(), grad_y.cuda(), stride, padding, groups, eta=0.2)
    for _ in range(2):
        parent = torch.randn(k + 2, cg if cg == 1 else cg + 1, ks + 2, ks + 2).cuda()
        parent[:k, :cg, 1:1 + ks, 1:1 + ks] = weight.cuda()
        parent.requires_grad_(True)
        xx = x.cuda().requires_grad_(True)
        view = parent[:k, :cg, 1:1 + ks, 1:1 + ks]
        assert not view.is_contiguous()
        y = _adder2d(xx, view, stride, padding, groups, 0.2)
        y.backward(grad_y.cuda())
        got = (y.detach(), xx.grad, parent.grad[:k, :cg, 1:1 + ks, 1:1 + ks])
        for a, b in zip(got, ref):
            assert _rel(a.cpu(), b.cpu()) < 1e-5


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_cases_take_both_depthwise_weight_gradient_routes():
    """The float64 checks below cover both depthwise weight-gradient routes, and the module
    routes each case as the rule says."""
    from nasa_lib.ops import _adder_triton
    min_pq = _adder_triton.CONFIG["dw_conv_wgrad_min_pq"]
    routes = []
    for case in CASES:
        if case[1] != case[8]:
            continue
        x, weight, grad_y, stride, padding, groups = _data(case, torch.float32)
        own = _adder_triton.grad_weight(x.cuda(), weight.cuda(), grad_y.cuda(), stride, padding, groups)
        assert (own is not None) == _triton_dw_partials(case, min_pq), case
        routes.append(own is not None)
    assert set(routes) == {True, False}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_cuda_matches_float64_reference(case):
    x, weight, grad_y, stride, padding, groups = _data(case, torch.float64, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a silent fallback to the torch path would hide a bug
        y, gx, gw = _run("auto", x.float().cuda(), weight.float().cuda(), grad_y.float().cuda(),
                         stride, padding, groups)
    gx_ref, gw_ref = _formula_grads(x, weight, grad_y, stride, padding, groups)
    assert _rel(y.cpu(), adder2d_reference(x, weight, stride, padding, groups)) < 1e-4
    assert _rel(gx.cpu(), gx_ref) < 1e-4 and _rel(gw.cpu(), gw_ref) < 1e-4


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_argument_checks_still_run_after_a_cached_call():
    """The CUDA path remembers argument sets that passed the checks (host time); an argument set
    that differs in any checked way from a remembered one is still checked and refused."""
    x = torch.randn(2, 4, 6, 6, device="cuda")
    w = torch.randn(5, 4, 3, 3, device="cuda")
    _adder2d(x, w, 1, 1, 1, 0.2)  # remembered
    bad = [dict(stride=True), dict(stride=0), dict(padding=-1), dict(groups=3), dict(eta=-0.2),
           dict(eta=float("nan")), dict(w=torch.randn(5, 3, 3, 3, device="cuda")),
           dict(w=w.double()), dict(x=x[0]), dict(w=torch.randn(5, 4, 9, 9, device="cuda"))]
    for change in bad:
        args = dict(x=x, w=w, stride=1, padding=1, groups=1, eta=0.2) | change
        with pytest.raises(ValueError):
            _adder2d(args["x"], args["w"], args["stride"], args["padding"], args["groups"], args["eta"])
