"""Adder convolution vs convolution: time and peak memory, forward and forward + backward.

    python benchmarks/adder.py                     # this machine's device (cuda if present)
    python benchmarks/adder.py --check --tune      # + GPU correctness check and kernel tuning
    python benchmarks/adder.py --supernet          # + one search step, Hybrid-All vs OnlyConv

Writes ``benchmarks/results/adder_<cuda|cpu>.json`` with the device, the versions and every
figure.  Per shape (N, C, H=W, K, kernel, stride, groups; padding = kernel // 2):

* ``F.conv2d`` (FP32; TF32 off in cuDNN and matmul), the adder (``adder2d``, the dispatching
  path) and AdderNet's own unfold formulation (``_UnfoldAdder`` below: the
  ``N*K*C*R*S*P*Q`` difference tensor, with the AdderNet backward) each timed forward and
  forward + backward (both gradients), median of repeated runs after warm-up (CUDA events on the
  GPU, where conv's and the adder's forward + backward run in 9 interleaved rounds and the
  forward + backward ratio is the median of the per-round ratios, with their range: the host's
  speed drifts within a run, and the small layers' time is mostly the host's; on the CPU
  ``perf_counter``, conv and adder interleaved over 15 rounds so a shared CPU's load hits both alike, with the minima recorded too, and the slow references over 3 rounds;
  on CPU also the pure-torch fallback path, ``torch_chunked``);
* peak memory of one forward + backward: on CUDA ``max_memory_allocated`` minus the memory held
  before the call (inputs, weights, upstream gradient), so it counts the output, both gradients,
  every temporary and cuDNN's workspace; on CPU see ``benchmarks/adder_memory_cpu.py``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nasa_lib.ops import _adder_cpu, _adder_torch  # noqa: E402
from nasa_lib.ops.adder import _adder2d  # noqa: E402

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results")

# (N, C, H=W, K, kernel, stride, groups)
ISSUE_SHAPES = [(128, 64, 16, 64, 3, 1, 1), (128, 96, 32, 24, 1, 1, 1), (128, 144, 16, 48, 1, 1, 1),
                (256, 256, 8, 256, 3, 1, 1), (128, 144, 16, 144, 5, 2, 144)]
OWN_SHAPES = [(128, 32, 32, 32, 3, 1, 1), (128, 64, 16, 128, 3, 2, 1), (128, 64, 16, 64, 1, 1, 2),
              (128, 96, 32, 96, 3, 2, 96), (128, 192, 8, 192, 3, 1, 192)]
CPU_SHAPES = [(32, 64, 16, 64, 3, 1, 1), (32, 96, 32, 24, 1, 1, 1), (32, 144, 16, 144, 5, 2, 144)]


class _UnfoldAdder(torch.autograd.Function):
    """AdderNet's reference implementation: unfold, then the full difference tensor."""

    @staticmethod
    def forward(ctx, x, weight, stride, padding, groups):
        n, c, h, w = x.shape
        k, cg, r, s = weight.shape
        cols = F.unfold(x, (r, s), padding=padding, stride=stride).view(n, groups, 1, cg * r * s, -1)
        diff = cols - weight.view(1, groups, k // groups, cg * r * s, 1)      # [N, G, Kg, J, L]
        ctx.save_for_backward(x, weight)
        ctx.conf = (stride, padding, groups)
        p = (h + 2 * padding - r) // stride + 1
        return -diff.abs().sum(3).view(n, k, p, -1)

    @staticmethod
    def backward(ctx, grad_y):
        x, weight = ctx.saved_tensors
        stride, padding, groups = ctx.conf
        n, c, h, w = x.shape
        k, cg, r, s = weight.shape
        cols = F.unfold(x, (r, s), padding=padding, stride=stride).view(n, groups, 1, cg * r * s, -1)
        diff = cols - weight.view(1, groups, k // groups, cg * r * s, 1)
        g = grad_y.reshape(n, groups, k // groups, 1, -1)
        gw = (diff * g).sum(dim=(0, 4)).view_as(weight)
        gcols = ((-diff).clamp_(-1, 1) * g).sum(2).view(n, c * r * s, -1)
        gx = F.fold(gcols, (h, w), (r, s), padding=padding, stride=stride)
        gw = gw * (0.2 * math.sqrt(gw.numel()) / gw.norm())
        return gx, gw, None, None, None


# ---- the peer: torchshiftadd's adder CUDA extension (GATECH-EIC), built from its sources ----------
PEER = {"ext": None, "build": None}
PEER_GROUPS_NOTE = ("torchshiftadd's kernels handle groups 1, 2 and depthwise with K == C only (other "
                    "groups leave the output unwritten)")


def load_peer(src_dir: str, build_dir: str, skip_verbatim: bool = False) -> dict:
    """Build torchshiftadd's ``adder_cuda`` extension with torch's cpp_extension (nvcc), with the
    flags of its own loader (``torchshiftadd/utils/torch.py``).  The sources are read from
    ``src_dir`` as they are; nothing of them is part of this project.  Returns what happened."""
    from torch.utils.cpp_extension import load
    srcs = [os.path.join(src_dir, "adder_cuda.cpp"), os.path.join(src_dir, "adder_cuda_kernel.cu")]
    info = {"sources": srcs, "nvcc": None}
    try:
        import subprocess
        info["nvcc"] = subprocess.run(["nvcc", "--version"], capture_output=True, text=True).stdout.strip().splitlines()[-1]
    except Exception as exc:  # noqa: BLE001
        info["nvcc"] = f"not found: {exc}"
    def build(sources, folder):
        os.makedirs(folder, exist_ok=True)
        t0 = time.perf_counter()
        try:
            PEER["ext"] = load("adder_cuda", sources,
                               extra_cflags=["-Ofast", "-fopenmp", "-DAT_PARALLEL_OPENMP", "-DCUDA_OP"],
                               extra_cuda_cflags=["-O3"], build_directory=folder, verbose=False)
            return {"built": True, "build_s": time.perf_counter() - t0}
        except Exception as exc:  # noqa: BLE001  (the reason is the finding)
            return {"built": False, "build_s": time.perf_counter() - t0,
                    "error": f"{type(exc).__name__}: {exc}"[-6000:]}

    if skip_verbatim:
        info.update(built=False, error="verbatim build not retried here: it fails on current PyTorch "
                    "(Tensor::type() in AT_DISPATCH_FLOATING_TYPES), see adder_cuda_h200_issue19_baseline.json")
    else:
        info.update(build(srcs, build_dir))
    if not info["built"]:
        # second try: the one API that current PyTorch dropped (Tensor::type() in the dispatch
        # macros) replaced by scalar_type(), in a copy under the build folder
        patched_dir = os.path.join(build_dir, "patched_src")
        os.makedirs(patched_dir, exist_ok=True)
        changed = []
        for src in srcs:
            text = open(src).read()
            new = text.replace("grad_in.type()", "grad_in.scalar_type()").replace(
                "grad_weight.type()", "grad_weight.scalar_type()")
            if new != text:
                changed.append(os.path.basename(src))
            dest = os.path.join(patched_dir, os.path.basename(src))
            if not os.path.exists(dest) or open(dest).read() != new:  # unchanged: ninja keeps its build
                with open(dest, "w") as f:
                    f.write(new)
        info["patched_retry"] = {"change": "Tensor::type() -> scalar_type() in AT_DISPATCH_FLOATING_TYPES",
                                 "files_changed": changed,
                                 **build([os.path.join(patched_dir, os.path.basename(p)) for p in srcs],
                                         os.path.join(build_dir, "patched"))}
    PEER["build"] = info
    print("peer build:", json.dumps(info)[-3000:], flush=True)
    return info


def peer_supports(shape) -> bool:
    n, c, h, k, ks, stride, groups = shape
    return groups in (1, 2) or (groups == c == k)


class _PeerAdder(torch.autograd.Function):
    """This project's own autograd wrapper around the peer's three entry points (forward,
    backward_input, backward_weight), with AdderNet's eta rescale as the peer applies it."""

    @staticmethod
    def forward(ctx, x, w, stride, pad, groups, eta):
        x, w = x.contiguous(), w.contiguous()
        n, c, h, wd = x.shape
        k, cg, r, s = w.shape
        y = x.new_zeros(n, k, (h + 2 * pad - r) // stride + 1, (wd + 2 * pad - s) // stride + 1)
        PEER["ext"].forward(x, w, y, s, r, stride, stride, pad, pad, groups, groups)
        ctx.save_for_backward(x, w)
        ctx.conf = (stride, pad, groups, eta)
        return y

    @staticmethod
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        stride, pad, groups, eta = ctx.conf
        r, s = w.shape[2:]
        gy = gy.contiguous()
        gx, gw = torch.zeros_like(x), torch.zeros_like(w)
        PEER["ext"].backward_input(gy, x, w, gx, s, r, stride, stride, pad, pad, groups, groups)
        PEER["ext"].backward_weight(gy, x, w, gw, s, r, stride, stride, pad, pad, groups, groups)
        if eta is not None:
            gw = eta * math.sqrt(gw.numel()) / gw.norm().clamp(min=1e-12) * gw
        return gx, gw, None, None, None, None


def peer_adder(x, w, stride, pad, groups, eta=0.2):
    return _PeerAdder.apply(x, w, stride, pad, groups, eta)


# ---- timing and memory ---------------------------------------------------------------------
def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def event_ms(fn, calls: int = 1) -> float:
    """CUDA milliseconds from an event recorded before ``calls`` calls of ``fn`` to one recorded
    after them, waited for."""
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    a.record()
    for _ in range(calls):
        fn()
    b.record()
    b.synchronize()
    return a.elapsed_time(b)


def time_ms(fn, device, min_reps=5, max_reps=50, budget_s=0.4) -> float:
    """Median milliseconds of ``fn()`` after two warm-up calls."""
    for _ in range(2):
        fn()
    _sync(device)
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < budget_s):
        if device.type == "cuda":
            times.append(event_ms(fn))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def isolated_event_ms(fn, calls: int) -> float:
    """Median CUDA-event ms of ``calls`` calls of ``fn``, the GPU drained before each."""
    times = []
    for _ in range(calls):
        torch.cuda.synchronize()
        times.append(event_ms(fn))
    return statistics.median(times)


def interleaved_event_ms(fns: dict, rounds: int = 9, per_round: int = 15) -> dict:
    """CUDA: ``rounds`` rounds, each timing every function as :func:`isolated_event_ms` does, the
    order alternating from round to round; per function its per-round medians.  The host's speed
    drifts within a run (a lent machine's by 1.5x between leases, and within one), so a ratio of two
    figures taken minutes apart mixes two speeds; a ratio within a round does not."""
    for f in fns.values():
        f()
    ms = {k: [] for k in fns}
    for i in range(rounds):
        for k in (list(fns) if i % 2 == 0 else list(fns)[::-1]):
            ms[k].append(isolated_event_ms(fns[k], per_round))
    return ms


def ratio_rounds(num: list, den: list) -> dict:
    """Per-round ratios, their median and range."""
    r = [a / b for a, b in zip(num, den)]
    return {"per_round": r, "median": statistics.median(r), "min": min(r), "max": max(r)}


def time_interleaved_ms(fns: dict, device, rounds=7) -> tuple[dict, dict]:
    """CPU: one call of each function per round (shared-CPU fairness); per function the median
    and the minimum (the minimum is the least disturbed by other processes on a shared CPU)."""
    for fn in fns.values():
        fn()
    times = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            t0 = time.perf_counter()
            fn()
            _sync(device)
            times[name].append((time.perf_counter() - t0) * 1e3)
    return ({name: statistics.median(v) for name, v in times.items()},
            {name: min(v) for name, v in times.items()})


def time_cpu(fns: dict, device) -> tuple[dict, dict]:
    """Conv and adder interleaved over many rounds; the slow references over a few."""
    fast = {k: v for k, v in fns.items() if k in ("conv", "adder")}
    slow = {k: v for k, v in fns.items() if k not in fast}
    med, mins = time_interleaved_ms(fast, device, rounds=15)
    if slow:
        med_s, min_s = time_interleaved_ms(slow, device, rounds=3)
        med.update(med_s)
        mins.update(min_s)
    return med, mins


def host_ms(fn, calls=20, warmup=1) -> float:
    """Host milliseconds per call of ``fn`` (the GPU drained before and after)."""
    for _ in range(warmup):
        fn()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    host = (time.perf_counter() - t0) * 1e3 / calls
    torch.cuda.synchronize()
    return host


def cuda_peak_mb(fn, *params) -> float:
    for t in params:  # gradients of an earlier call would count in the baseline
        t.grad = None
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated()
    torch.cuda.reset_peak_memory_stats()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def _make(shape, device, seed=0):
    n, c, h, k, ks, stride, groups = shape
    gen = torch.Generator(device="cpu").manual_seed(seed)
    x = torch.randn(n, c, h, h, generator=gen).to(device).requires_grad_(True)
    w = torch.randn(k, c // groups, ks, ks, generator=gen).to(device).requires_grad_(True)
    p = (h + 2 * (ks // 2) - ks) // stride + 1
    gy = torch.randn(n, k, p, p, generator=gen).to(device)
    return x, w, gy, stride, ks // 2, groups


def _fwd_bwd(op, x, w, gy):
    x.grad = w.grad = None
    op(x, w).backward(gy)


def bench_shape(shape, device, unfold_limit_gb: float) -> dict:
    x, w, gy, stride, pad, groups = _make(shape, device)
    n, c, h, k, ks, _, _ = shape
    p = gy.shape[-1]
    ops = {
        "conv": lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups),
        "adder": lambda a, b: _adder2d(a, b, stride, pad, groups),
    }
    unfold_gb = n * k * (c // groups) * ks * ks * p * p * 4 / 1e9  # one difference tensor
    run_unfold = unfold_gb * 4 <= unfold_limit_gb               # forward+backward holds ~4 of them
    if run_unfold:
        ops["unfold"] = lambda a, b: _UnfoldAdder.apply(a, b, stride, pad, groups)
    if PEER["ext"] is not None and peer_supports(shape):
        ops["peer"] = lambda a, b: peer_adder(a, b, stride, pad, groups)
    if device.type == "cpu":
        ops["torch_chunked"] = lambda a, b: _adder2d(a, b, stride, pad, groups, backend="torch")
    rec = {"shape": dict(N=n, C=c, H=h, W=h, K=k, R=ks, S=ks, stride=stride, padding=pad,
                         groups=groups, P=p, Q=p),
           "macs": n * k * (c // groups) * ks * ks * p * p,
           "unfold_difference_tensor_GB": round(unfold_gb, 3)}
    with torch.no_grad():
        if device.type == "cuda":
            fwd = {name: time_ms(lambda op=op: op(x, w), device) for name, op in ops.items()}
        else:
            fwd, fwd_min = time_cpu({name: (lambda op=op: op(x, w)) for name, op in ops.items()},
                                     device)
    if device.type == "cuda":
        # conv and adder in interleaved rounds (the headline ratio: the median of the per-round
        # ratios); the references, far slower, alone
        rounds = interleaved_event_ms({name: (lambda op=ops[name]: _fwd_bwd(op, x, w, gy))
                                       for name in ("conv", "adder")})
        rec["forward_backward_rounds_ms"] = rounds
        fb = {name: (statistics.median(rounds[name]) if name in rounds else
                     time_ms(lambda op=op: _fwd_bwd(op, x, w, gy), device)) for name, op in ops.items()}
        peak = {name: cuda_peak_mb(lambda op=op: _fwd_bwd(op, x, w, gy), x, w)
                for name, op in ops.items()}
        # where the adder's time goes: forward kernel, input-gradient kernel, weight gradient
        from nasa_lib.ops import adder as A
        impl = A._module_for(A._pick_backend(x, "auto"))
        xd, wd = x.detach(), w.detach()
        # host (CPU) time per forward+backward call with the GPU queue never drained: where it
        # is close to the measured time, the call is launch-bound, not GPU-bound
        rec["host_ms_per_forward_backward"] = {name: host_ms(lambda op=op: _fwd_bwd(op, x, w, gy))
                                               for name, op in ops.items() if name != "unfold"}
        rec["adder_parts_ms"] = {
            "forward": time_ms(lambda: impl.forward(xd, wd, stride, pad, groups), device),
            "grad_input": time_ms(lambda: impl.grad_input(xd, wd, gy, stride, pad, groups), device),
            "grad_weight": time_ms(
                (lambda: impl.weight_grad_rescaled(xd, wd, gy, stride, pad, groups, 0.2))
                if hasattr(impl, "weight_grad_rescaled") else
                (lambda: A._rescale(A._weight_grad(xd, wd, gy, stride, pad, groups), 0.2)), device),
        }
    else:
        fb, fb_min = time_cpu({name: (lambda op=op: _fwd_bwd(op, x, w, gy)) for name, op in ops.items()},
                              device)
        rec["forward_ms_min"] = fwd_min
        rec["forward_backward_ms_min"] = fb_min
        peak = {}
    rec["forward_ms"] = fwd
    rec["forward_backward_ms"] = fb
    if peak:
        rec["peak_MB"] = peak
    if not run_unfold:
        rec["unfold_note"] = (f"unfold reference not run: its difference tensor alone is "
                              f"{unfold_gb:.1f} GB and forward+backward holds about four "
                              f"(limit {unfold_limit_gb:.0f} GB)")
    rec["ratios"] = {"adder_over_conv_forward": fwd["adder"] / fwd["conv"]}
    if "forward_backward_rounds_ms" in rec:  # CUDA: the median of the per-round ratios
        per_round = ratio_rounds(rec["forward_backward_rounds_ms"]["adder"], rec["forward_backward_rounds_ms"]["conv"])
        rec["ratios"]["adder_over_conv_forward_backward"] = per_round["median"]
        rec["ratios"]["adder_over_conv_forward_backward_range"] = [per_round["min"], per_round["max"]]
    else:
        rec["ratios"]["adder_over_conv_forward_backward"] = fb["adder"] / fb["conv"]
    if run_unfold:
        rec["ratios"]["unfold_over_adder_forward_backward"] = fb["unfold"] / fb["adder"]
    if "peer" in fb:
        rec["ratios"]["peer_over_adder_forward_backward"] = fb["peer"] / fb["adder"]
        rec["ratios"]["peer_over_conv_forward_backward"] = fb["peer"] / fb["conv"]
        rec["ratios"]["peer_over_adder_forward"] = fwd["peer"] / fwd["adder"]
    elif PEER["ext"] is not None:
        rec["peer_note"] = PEER_GROUPS_NOTE
    if device.type == "cuda":
        from nasa_lib.ops import _adder_triton as T
        rec["triton_kernels"] = {name: {"registers": ck.n_regs, "spills": ck.n_spills}
                                 for name, ck in T.LAST_COMPILED.items()}
        T.LAST_COMPILED.clear()
    if "forward_backward_ms_min" in rec:
        rec["ratios"]["adder_over_conv_forward_backward_of_minima"] = fb_min["adder"] / fb_min["conv"]
    if "torch_chunked" in fb:
        rec["ratios"]["torch_chunked_over_conv_forward_backward"] = fb["torch_chunked"] / fb["conv"]
    if peak:
        rec["ratios"]["adder_over_conv_peak_memory"] = peak["adder"] / peak["conv"]
    return rec


# ---- GPU correctness ---------------------------------------------------------------------------
CHECK_CASES = [(2, 4, 6, 5, 3, 1, 1), (3, 6, 7, 8, 3, 2, 1), (2, 8, 9, 6, 3, 2, 2), (2, 5, 9, 5, 5, 2, 5),
               (2, 4, 6, 8, 3, 1, 4), (2, 7, 5, 9, 1, 1, 1), (1, 1, 12, 6, 3, 1, 1), (2, 6, 11, 6, 3, 3, 3),
               (4, 40, 9, 70, 3, 1, 1), (2, 130, 5, 20, 1, 1, 1)]


def check_cuda(shapes) -> list:
    """Triton float32 vs the pure-torch path in float64 on the GPU: y, dx, dw (1e-4 relative)."""
    dev = torch.device("cuda")
    out = []
    for shape in CHECK_CASES + shapes:
        poison = torch.full((1 << 26,), float("nan"), device=dev)  # freed NaNs: unwritten outputs show
        del poison
        x, w, gy, stride, pad, groups = _make(shape, dev, seed=len(out) + 11)
        res = {}
        for name, xx, ww, gg, backend in (("triton", x.detach(), w.detach(), gy, "auto"),
                                          ("ref", x.detach().double(), w.detach().double(),
                                           gy.double(), "torch")):
            xx.requires_grad_(True)
            ww.requires_grad_(True)
            y = _adder2d(xx, ww, stride, pad, groups, None, backend=backend)
            y.backward(gg)
            res[name] = (y.detach(), xx.grad, ww.grad)
        rel = [((a.double() - b).norm() / b.norm()).item() for a, b in zip(res["triton"], res["ref"])]
        # the same call again: the kernels are now launched by the fast path (adder_triton._launch)
        xx, ww = x.detach().clone().requires_grad_(True), w.detach().clone().requires_grad_(True)
        y = _adder2d(xx, ww, stride, pad, groups, None)
        y.backward(gy)
        rel2 = [((a.double() - b).norm() / b.norm()).item()
                for a, b in zip((y.detach(), xx.grad, ww.grad), res["ref"])]
        ok = all(e < 1e-4 for e in rel + rel2)  # NaN fails
        out.append({"shape": shape, "rel_err_y_dx_dw": rel, "rel_err_y_dx_dw_second_call": rel2, "ok": ok})
        msg = ""
        if PEER["ext"] is not None:
            if peer_supports(shape):
                xx, ww = x.detach().clone().requires_grad_(True), w.detach().clone().requires_grad_(True)
                y = peer_adder(xx, ww, stride, pad, groups, None)
                y.backward(gy)
                prel = [((a.double() - b).norm() / b.norm()).item()
                        for a, b in zip((y.detach(), xx.grad, ww.grad), res["ref"])]
                out[-1]["peer_rel_err_y_dx_dw"] = prel
                out[-1]["peer_ok"] = all(e < 1e-4 for e in prel)
                msg = f"; peer y {prel[0]:.1e} dx {prel[1]:.1e} dw {prel[2]:.1e} {'ok' if out[-1]['peer_ok'] else 'FAIL'}"
            else:
                out[-1]["peer_note"] = PEER_GROUPS_NOTE
        print(f"check {shape}: rel err y {rel[0]:.1e} dx {rel[1]:.1e} dw {rel[2]:.1e} {'ok' if ok else 'FAIL'}{msg}",
              flush=True)
    return out


def _graph_ms(fn) -> float:
    """Kernel time without the host: ``fn`` captured 20 times in a CUDA graph, median replay / 20
    (the launch-bound small layers would otherwise time the host)."""
    import triton.testing
    fn()
    torch.cuda.synchronize()
    try:
        return triton.testing.do_bench_cudagraph(fn, rep=30, return_mode="median")
    except Exception:  # noqa: BLE001  (no graph capture: plain events)
        return triton.testing.do_bench(fn, warmup=5, rep=30, return_mode="median")


# (BLOCK_M, cap on BLOCK_K / BLOCK_C, num_warps[, num_stages]); the first run's lists are in
# adder_cuda_h200_issue19_iter1.json, the second's (the GPU-bound dense shapes) in ..._iter2.json
TUNE_FWD = [(128, 32, 4), (64, 128, 4), (64, 128, 4, 1), (64, 128, 4, 2), (128, 32, 4, 1), (128, 64, 4, 1),
            (32, 128, 4)]
TUNE_DX = [(128, 32, 4), (128, 32, 4, 1), (128, 16, 4), (256, 16, 4), (256, 32, 8), (64, 16, 2)]


def tune_cuda(shapes, only=None) -> list:
    """Kernel-only times (CUDA graph replays) of the three parts at the current settings for every
    non-depthwise shape, and of (BLOCK_M, BLOCK_K/C cap, warps[, stages]) choices of the forward
    and input-gradient kernels for the dense shapes in ``only`` (all if None)."""
    from nasa_lib.ops import _adder_triton as T
    dev = torch.device("cuda")
    saved = dict(T.CONFIG)
    rows = []
    for shape in shapes:
        if shape[1] // shape[6] == 1:
            continue  # depthwise kernels have no tile choice here
        x, w, gy, stride, pad, groups = _make(shape, dev)
        x, w = x.detach(), w.detach()
        pw = shape[4] == 1 and stride == 1
        row = {"shape": shape, "pointwise": pw, "forward_ms": {}, "grad_input_ms": {}}
        if not pw and (only is None or shape in only):
            for v in TUNE_FWD:
                T.CONFIG.update({"fwd": v, "fwd_wide": v})
                row["forward_ms"][str(v)] = _graph_ms(lambda: T.forward(x, w, stride, pad, groups))
            for v in TUNE_DX:
                T.CONFIG.update({"dx": v, "dx_wide": v, "dx_strided": v})
                row["grad_input_ms"][str(v)] = _graph_ms(lambda: T.grad_input(x, w, gy, stride, pad, groups))
            T.CONFIG.clear()
            T.CONFIG.update(saved)
        row["default_ms"] = {"forward": _graph_ms(lambda: T.forward(x, w, stride, pad, groups)),
                             "grad_input": _graph_ms(lambda: T.grad_input(x, w, gy, stride, pad, groups)),
                             "weight_grad_rescaled": _graph_ms(
                                 lambda: T.weight_grad_rescaled(x, w, gy, stride, pad, groups, 0.2))}
        conv = lambda: F.conv2d(x, w, None, stride, pad, 1, groups)  # noqa: E731
        row["conv_forward_ms"] = _graph_ms(conv)
        rows.append(row)
        print("tune", shape, "fwd", {k: round(v, 4) for k, v in row["forward_ms"].items()}, "dx",
              {k: round(v, 4) for k, v in row["grad_input_ms"].items()},
              "default", {k: round(v, 4) for k, v in row["default_ms"].items()},
              "conv fwd", round(row["conv_forward_ms"], 4), flush=True)
    return rows


# ---- end to end: one search step ------------------------------------------------------------------
def _kernel_category(name: str) -> str:
    n = name.lower()
    if any(t in n for t in ("_fwd_dense", "_dx_dense", "_dx_pw", "_fwd_depthwise", "_dx_depthwise", "_dw_depthwise",
                            "_adder_", "adder")):
        return "adder (Triton)"
    if any(t in n for t in ("conv", "cudnn", "wgrad", "dgrad", "fprop", "implicit", "xmma", "cutlass", "gemm",
                            "sm90", "sm80", "winograd", "fft")):
        return "convolution / GEMM (cuDNN, cuBLAS)"
    if "batch_norm" in n or "batchnorm" in n or "bn_" in n:
        return "batch norm"
    if "reduce" in n:
        return "reductions"
    if "elementwise" in n or "vectorized" in n or "unrolled" in n:
        return "elementwise"
    return "other"


def profile_step(step, device) -> dict:
    """GPU kernel time of one step by category (torch.profiler), and the step's wall time: where
    the kernel time is far below the wall time, the step waits on the host (launches)."""
    from torch.profiler import ProfilerActivity, profile
    _sync(device)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        t0 = time.perf_counter()
        step(10_000)
        _sync(device)
        wall = (time.perf_counter() - t0) * 1e3
    cats, top, launches = {}, {}, 0
    for e in prof.key_averages():
        t = e.self_device_time_total
        if t <= 0 or e.device_type.name != "CUDA":
            continue
        cat = _kernel_category(e.key)
        cats[cat] = cats.get(cat, 0.0) + t / 1e3
        top[e.key[:90]] = (t / 1e3, e.count)
        launches += e.count
    kernel_ms = sum(cats.values())
    return {"wall_ms_profiled": wall, "kernel_ms": kernel_ms, "kernel_launches": launches,
            "kernel_ms_by_category": dict(sorted(cats.items(), key=lambda kv: -kv[1])),
            "top_kernels_ms_calls": dict(sorted(top.items(), key=lambda kv: -kv[1][0])[:15])}


def _supernet_stepper(space: str, device, batch: int, mode: str, act_num: int = 2):
    """(step(i), net) of one search step (weight step + architecture step, NASA's recipe) on the
    paper-size CIFAR layout, warmed up.  ``mode``: "hard" (top-``act_num`` of a Gumbel sample per
    layer, the NASA code's ProxylessNAS-style step) or "soft" (all candidates, FBNet)."""
    from nasa_lib.space import Supernet
    torch.manual_seed(0)
    net = Supernet(space).to(device)
    alphas = [torch.full((len(c),), 1e-3, device=device, requires_grad=True) for c in net.candidates]
    w_opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    a_opt = torch.optim.Adam(alphas, lr=3e-4, betas=(0.5, 0.999))
    gen = torch.Generator(device="cpu").manual_seed(1)
    x = torch.randn(2, batch, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(0, 10, (2, batch), generator=gen).to(device)
    state = {"mode": mode}

    def mixing(sample_gen):
        weights, active = [], []
        for a in alphas:
            if state["mode"] == "soft":
                weights.append(F.softmax(a, -1))
                active.append(None)
                continue
            u = torch.rand(a.shape, generator=sample_gen).to(device)
            top = torch.topk(a.detach() - torch.log(-torch.log(u + 1e-20) + 1e-20), min(act_num, a.numel())).indices
            wv = torch.zeros_like(a).scatter(0, top, F.softmax(a[top], -1))
            weights.append(wv)
            active.append(sorted(top.tolist()))
        return weights, (None if state["mode"] == "soft" else active)

    def step(i):
        sample_gen = torch.Generator().manual_seed(100 + i)
        for part, opt in ((0, w_opt), (1, a_opt)):  # weight step, then architecture step
            weights, active = mixing(sample_gen)
            opt.zero_grad(set_to_none=True)
            loss = F.cross_entropy(net(x[part], weights, active), y[part])
            loss.backward()
            if part == 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()

    if mode == "hard":  # compile every candidate's kernels first (a real search amortises this)
        state["mode"] = "soft"
        step(0)
        state["mode"] = mode
    step(0)
    _sync(device)
    return step, net


def supernet_step(space: str, device, batch: int, mode: str, steps: int, act_num: int = 2,
                  profile: bool = False) -> dict:
    """Mean ms of one search step (see _supernet_stepper) over ``steps`` steps."""
    step, net = _supernet_stepper(space, device, batch, mode, act_num)
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
    _sync(device)
    ms = (time.perf_counter() - t0) * 1e3 / steps
    n_params = sum(p.numel() for p in net.parameters())
    rec = {"space": net.space, "mode": mode, "act_num": act_num if mode == "hard" else None,
           "batch": batch, "steps_timed": steps, "ms_per_step": ms, "parameters": n_params}
    if profile and device.type == "cuda":
        rec["profile"] = profile_step(step, device)
    return rec


def supernet_interleaved(spaces, device, batch: int, mode: str, rounds: int, steps_per_round: int,
                         act_num: int = 2) -> dict:
    """Search steps of several spaces in alternating rounds (space A, then B, then A, ...), so
    that a host-bound step's dependence on the machine's momentary CPU speed (measured: the same
    hard-mode Hybrid-All step at 163 and 251 ms on two H200 machines) hits every space alike.
    Per space the per-round ms per step and their median; ratios of medians to the first space."""
    steppers = {sp: _supernet_stepper(sp, device, batch, mode, act_num)[0] for sp in spaces}
    per_round = {sp: [] for sp in spaces}
    i = 0
    for _ in range(rounds):
        for sp in spaces:
            _sync(device)
            t0 = time.perf_counter()
            for j in range(steps_per_round):
                steppers[sp](1 + i + j)
            _sync(device)
            per_round[sp].append((time.perf_counter() - t0) * 1e3 / steps_per_round)
        i += steps_per_round
    med = {sp: statistics.median(v) for sp, v in per_round.items()}
    return {"mode": mode, "batch": batch, "rounds": rounds, "steps_per_round": steps_per_round,
            "ms_per_step_per_round": per_round, "ms_per_step_median": med,
            "ratio_to_" + spaces[0]: {sp: med[sp] / med[spaces[0]] for sp in spaces}}


def interleaved_rounds(variants: dict, device, rounds: int, steps: int, first_step: int = 100) -> tuple[dict, int]:
    """Rounds of ``steps`` timed steps of each variant (``label -> (enter(), step(i))``; ``enter``
    sets the variant's switches), one untimed step of it before each (its kernels and caches
    warm), the order alternating (A B C, C B A, ...): a drift of the host's speed within a round
    (measured: the same step 110 -> 200 ms over a minute) hits each variant alike.  Returns the
    ms per step of each variant per round, and the next unused step index."""
    per_round = {label: [] for label in variants}
    order, i = list(variants), first_step
    for rnd in range(rounds):
        for label in (order if rnd % 2 == 0 else order[::-1]):
            enter, step = variants[label]
            enter()
            step(i)
            _sync(device)
            t0 = time.perf_counter()
            for j in range(steps):
                step(i + 1 + j)
            _sync(device)
            per_round[label].append((time.perf_counter() - t0) * 1e3 / steps)
        i += steps + 1
    return per_round, i


def search_step_cli(doc: str, run_mode, describe, rounds: int) -> None:
    """The command line of the search-step benchmarks (``shift_quant_fused.py``,
    ``soft_step_floor.py``): per mode (soft, hard) ``run_mode(mode, device, batch, rounds, steps)``,
    the line ``describe(record)`` printed, and the report (versions, the method: ``doc`` from its
    third paragraph on, the records by mode) written after every mode, so a run cut short keeps
    what it measured."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--modes", default="soft,hard")
    ap.add_argument("--rounds", type=int, default=rounds)
    ap.add_argument("--soft-steps", type=int, default=3)
    ap.add_argument("--hard-steps", type=int, default=10)
    ap.add_argument("--device", default="cuda", help="cpu: a smoke test of this script only")
    args = ap.parse_args()
    fp32_settings()
    dev = torch.device(args.device)
    report = {"versions": versions(dev), "method": doc.split("\n\n", 2)[2].strip(), "modes": {}}
    for mode in args.modes.split(","):
        steps = args.soft_steps if mode == "soft" else args.hard_steps
        rec = run_mode(mode, dev, args.batch, args.rounds, steps)
        report["modes"][mode] = rec
        print(mode, describe(rec), flush=True)
        os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)
        if dev.type == "cuda":
            torch.cuda.empty_cache()


def profile_cuda(shapes) -> dict:
    """torch.profiler summary of one adder forward+backward per shape: GPU time per kernel and
    the host time of the whole call."""
    from torch.profiler import ProfilerActivity, profile
    dev = torch.device("cuda")
    out = {}
    for shape in shapes:
        x, w, gy, stride, pad, groups = _make(shape, dev)
        op = lambda a, b: _adder2d(a, b, stride, pad, groups)  # noqa: E731
        for _ in range(3):
            _fwd_bwd(op, x, w, gy)
        torch.cuda.synchronize()
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            for _ in range(5):
                _fwd_bwd(op, x, w, gy)
            torch.cuda.synchronize()
        table = prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=12, max_name_column_width=60)
        print(f"profile {shape} (5 calls)\n{table}", flush=True)
        out[str(shape)] = [{"name": e.key, "calls": e.count, "self_cuda_us": e.self_device_time_total,
                            "cpu_total_us": e.cpu_time_total}
                           for e in prof.key_averages() if e.self_device_time_total > 0]
    return out


def fp32_settings(cudnn_benchmark: bool = True) -> None:
    """FP32 convolutions and matmuls, as issue 19 asks (TF32 off); cuDNN at its best algorithm."""
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = cudnn_benchmark


def versions(device) -> dict:
    info = {"python": platform.python_version(), "torch": torch.__version__,
            "platform": platform.platform(), "cpu_threads": torch.get_num_threads()}
    try:
        import triton
        info["triton"] = triton.__version__
    except ImportError:
        info["triton"] = None
    if device.type == "cuda":
        info.update(device=torch.cuda.get_device_name(), cuda=torch.version.cuda,
                    cudnn=torch.backends.cudnn.version())
    else:
        info.update(device=platform.processor() or platform.machine(),
                    adder_cpu_path="C kernels (gcc)" if _adder_cpu.available() else "pure torch")
        try:
            with open("/proc/cpuinfo") as f:
                info["cpu_model"] = next(ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name"))
        except (OSError, StopIteration):
            pass
    return info


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--check", action="store_true", help="GPU: Triton vs float64 before timing")
    ap.add_argument("--tune", action="store_true", help="GPU: time kernel tile choices")
    ap.add_argument("--tune-parts-only", action="store_true",
                    help="--tune: only the kernel times of the parts at the current settings")
    ap.add_argument("--supernet", action="store_true", help="time Hybrid-All vs OnlyConv search steps")
    ap.add_argument("--profile", action="store_true", help="GPU: profiler table for three shapes")
    ap.add_argument("--supernet-batch", type=int, default=128)
    ap.add_argument("--supernet-spaces", default="OnlyConv,Hybrid-All",
                    help="spaces timed by --supernet (the first is the denominator of the ratios); "
                         "Hybrid-Shift and Hybrid-Adder split Hybrid-All's cost by kind")
    ap.add_argument("--supernet-interleaved", action="store_true",
                    help="time the --supernet-spaces' steps in alternating rounds (hard and soft)")
    ap.add_argument("--peer-skip-verbatim", action="store_true",
                    help="build only the peer's copy with the one-line API fix (the verbatim "
                         "sources' failure is recorded by an earlier run)")
    ap.add_argument("--supernet-profile", action="store_true",
                    help="GPU: kernel time by category of one step of each space and mode")
    ap.add_argument("--peer", default=None, metavar="DIR",
                    help="GPU: build torchshiftadd's adder_cuda extension from the sources in DIR "
                         "(adder_cuda.cpp, adder_cuda_kernel.cu) and check and time it beside ours")
    ap.add_argument("--peer-build", default=None, metavar="DIR", help="build folder of --peer")
    ap.add_argument("--supernet-steps", type=int, default=30, help="timed hard-mode steps (soft: 5)")
    ap.add_argument("--shapes", choices=("issue", "all", "none"), default="all")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    fp32_settings()
    torch.manual_seed(0)
    report = {"versions": versions(device), "tf32": False,
              "method": "median ms over repeated runs after warm-up; peak = max allocated minus "
                        "allocated before one forward+backward (CUDA)"}
    if device.type == "cuda":
        shapes = {"issue": ISSUE_SHAPES, "all": ISSUE_SHAPES + OWN_SHAPES, "none": []}[args.shapes]
        limit_gb = 0.8 * torch.cuda.get_device_properties(device).total_memory / 1e9
    else:
        shapes = [] if args.shapes == "none" else CPU_SHAPES
        limit_gb = 6.0
    out = args.out or os.path.join(RESULTS, f"adder_{device.type}.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)

    def save() -> None:  # after every section, so a run cut short keeps what it measured
        with open(out, "w") as f:
            json.dump(report, f, indent=1)

    if args.peer and device.type == "cuda":
        report["peer_build"] = load_peer(args.peer, args.peer_build or os.path.join(args.peer, "build"),
                                         args.peer_skip_verbatim)
        report["peer"] = "torchshiftadd (GATECH-EIC) adder_cuda extension, " + PEER_GROUPS_NOTE
        save()
    if args.check and device.type == "cuda":
        report["check"] = check_cuda(ISSUE_SHAPES + (OWN_SHAPES if args.shapes == "all" else []))
        save()
    if args.tune and device.type == "cuda":
        report["tune"] = tune_cuda(ISSUE_SHAPES + OWN_SHAPES, only=[] if args.tune_parts_only else
                                   [ISSUE_SHAPES[0], ISSUE_SHAPES[3], OWN_SHAPES[1]])
        save()
    if args.profile and device.type == "cuda":
        report["profile"] = profile_cuda([ISSUE_SHAPES[0], ISSUE_SHAPES[2], ISSUE_SHAPES[4]])
        save()
    report["shapes"] = []
    for shape in shapes:
        rec = bench_shape(shape, device, limit_gb)
        report["shapes"].append(rec)
        save()
        r = rec["ratios"]
        print(f"{shape}: conv fb {rec['forward_backward_ms']['conv']:.3f} ms, adder fb "
              f"{rec['forward_backward_ms']['adder']:.3f} ms ({r['adder_over_conv_forward_backward']:.2f}x"
              + (" [{:.2f}, {:.2f}]".format(*r["adder_over_conv_forward_backward_range"])
                 if "adder_over_conv_forward_backward_range" in r else "") + "), "
              f"unfold/adder {r.get('unfold_over_adder_forward_backward', float('nan')):.1f}x, "
              f"mem {r.get('adder_over_conv_peak_memory', float('nan')):.2f}x", flush=True)
    if args.supernet_interleaved:
        spaces = args.supernet_spaces.split(",")
        report["supernet_interleaved"] = []
        for mode, rounds, spr in (("hard", 6, 5), ("soft", 5, 2)):
            rec = supernet_interleaved(spaces, device, args.supernet_batch, mode, rounds, spr)
            report["supernet_interleaved"].append(rec)
            save()
            print("supernet interleaved", mode, {k: round(v, 1) for k, v in rec["ms_per_step_median"].items()},
                  {k: round(v, 3) for k, v in rec["ratio_to_" + spaces[0]].items()}, flush=True)
    if args.supernet:
        try:
            rows = []
            spaces = args.supernet_spaces.split(",")
            for mode in ("hard", "soft"):
                for space in spaces:
                    steps = args.supernet_steps if mode == "hard" else max(1, args.supernet_steps // 6)
                    rows.append(supernet_step(space, device, args.supernet_batch, mode,
                                              steps=steps if device.type == "cuda" else 2,
                                              profile=args.supernet_profile))
                    print("supernet", {k: v for k, v in rows[-1].items() if k != "profile"}, flush=True)
                    if "profile" in rows[-1]:
                        pr = rows[-1]["profile"]
                        print("  profile: wall %.1f ms, kernels %.1f ms in %d launches:" % (
                            pr["wall_ms_profiled"], pr["kernel_ms"], pr["kernel_launches"]),
                            {k: round(v, 1) for k, v in pr["kernel_ms_by_category"].items()}, flush=True)
                    report["supernet"] = {"steps": rows}
                    save()

            def ms(mode, space):
                return next((r["ms_per_step"] for r in rows if r["mode"] == mode and r["space"] == space), None)

            ratios = {m: ms(m, "Hybrid-All") / ms(m, spaces[0]) for m in ("hard", "soft")
                      if ms(m, "Hybrid-All") and ms(m, spaces[0])}
            report["supernet"] = {"steps": rows, "hybrid_all_over_onlyconv": ratios}
        except Exception as exc:  # the supernet belongs to another module; report, don't hide
            report["supernet"] = {"error": f"{type(exc).__name__}: {exc}"}
            print("supernet failed:", report["supernet"]["error"], flush=True)
    save()
    print("wrote", out)


if __name__ == "__main__":
    main()
