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
  GPU; on the CPU ``perf_counter``, conv and adder interleaved over 15 rounds so a shared CPU's
  load hits both alike, with the minima recorded too, and the slow references over 3 rounds;
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


# ---- timing and memory ---------------------------------------------------------------------
def _sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_ms(fn, device, min_reps=5, max_reps=50, budget_s=0.4) -> float:
    """Median milliseconds of ``fn()`` after two warm-up calls."""
    for _ in range(2):
        fn()
    _sync(device)
    times = []
    start = time.perf_counter()
    while len(times) < max_reps and (len(times) < min_reps or time.perf_counter() - start < budget_s):
        if device.type == "cuda":
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            fn()
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
        else:
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


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


def host_ms(fn, calls=20) -> float:
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
        fb = {name: time_ms(lambda op=op: _fwd_bwd(op, x, w, gy), device) for name, op in ops.items()}
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
            "grad_weight": time_ms(lambda: A._rescale(A._weight_grad(xd, wd, gy, stride, pad, groups),
                                                      0.2), device),
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
    rec["ratios"] = {
        "adder_over_conv_forward": fwd["adder"] / fwd["conv"],
        "adder_over_conv_forward_backward": fb["adder"] / fb["conv"],
    }
    if run_unfold:
        rec["ratios"]["unfold_over_adder_forward_backward"] = fb["unfold"] / fb["adder"]
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
        ok = all(e < 1e-4 for e in rel)  # NaN fails
        out.append({"shape": shape, "rel_err_y_dx_dw": rel, "ok": ok})
        print(f"check {shape}: rel err y {rel[0]:.1e} dx {rel[1]:.1e} dw {rel[2]:.1e} {'ok' if ok else 'FAIL'}",
              flush=True)
    return out


def tune_cuda(shapes) -> list:
    """Kernel-only times of a few (BLOCK_M, BLOCK_K/C cap, warps) choices per shape."""
    from nasa_lib.ops import _adder_triton as T
    dev = torch.device("cuda")
    saved = dict(T.CONFIG)
    fwd_variants = [(128, 64, 4), (64, 128, 4), (256, 32, 8), (128, 32, 4)]
    dx_variants = [(128, 64, 4), (128, 32, 4), (64, 32, 2), (256, 32, 8)]
    rows = []
    for shape in shapes:
        if shape[1] // shape[6] == 1:
            continue  # depthwise kernels have no tile choice here
        x, w, gy, stride, pad, groups = _make(shape, dev)
        x, w = x.detach(), w.detach()
        row = {"shape": shape, "forward_ms": {}, "grad_input_ms": {}}
        for v in fwd_variants:
            T.CONFIG.update(fwd=v, fwd_wide=v)
            row["forward_ms"][str(v)] = time_ms(lambda: T.forward(x, w, stride, pad, groups), dev)
        for v in dx_variants:
            T.CONFIG.update(dx=v, dx_wide=v)
            row["grad_input_ms"][str(v)] = time_ms(lambda: T.grad_input(x, w, gy, stride, pad, groups), dev)
        T.CONFIG.update(saved)
        T._use_sat_asm = False
        row["grad_input_ms_minmax_clamp"] = time_ms(lambda: T.grad_input(x, w, gy, stride, pad, groups), dev)
        T._use_sat_asm = True
        rows.append(row)
        print("tune", shape, {k: round(v, 4) for k, v in row["forward_ms"].items()},
              {k: round(v, 4) for k, v in row["grad_input_ms"].items()},
              "minmax", round(row["grad_input_ms_minmax_clamp"], 4), flush=True)
    return rows


# ---- end to end: one search step ------------------------------------------------------------------
def supernet_step(space: str, device, batch: int, mode: str, steps: int, act_num: int = 2) -> dict:
    """Mean ms of one search step (weight step + architecture step, NASA's recipe) on the
    paper-size CIFAR layout.  ``mode``: "hard" (top-``act_num`` of a Gumbel sample per layer,
    the NASA code's ProxylessNAS-style step) or "soft" (all candidates, FBNet)."""
    from nasa_lib.space import Supernet
    torch.manual_seed(0)
    net = Supernet(space).to(device)
    alphas = [torch.full((len(c),), 1e-3, device=device, requires_grad=True) for c in net.candidates]
    w_opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    a_opt = torch.optim.Adam(alphas, lr=3e-4, betas=(0.5, 0.999))
    gen = torch.Generator(device="cpu").manual_seed(1)
    x = torch.randn(2, batch, 3, 32, 32, generator=gen).to(device)
    y = torch.randint(0, 10, (2, batch), generator=gen).to(device)

    def mixing(sample_gen):
        weights, active = [], []
        for a in alphas:
            if mode == "soft":
                weights.append(F.softmax(a, -1))
                active.append(None)
                continue
            u = torch.rand(a.shape, generator=sample_gen).to(device)
            top = torch.topk(a.detach() - torch.log(-torch.log(u + 1e-20) + 1e-20), min(act_num, a.numel())).indices
            wv = torch.zeros_like(a).scatter(0, top, F.softmax(a[top], -1))
            weights.append(wv)
            active.append(sorted(top.tolist()))
        return weights, (None if mode == "soft" else active)

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
        mode_saved, mode = mode, "soft"
        step(0)
        mode = mode_saved
    step(0)
    _sync(device)
    t0 = time.perf_counter()
    for i in range(1, steps + 1):
        step(i)
    _sync(device)
    ms = (time.perf_counter() - t0) * 1e3 / steps
    n_params = sum(p.numel() for p in net.parameters())
    return {"space": net.space, "mode": mode, "act_num": act_num if mode == "hard" else None,
            "batch": batch, "steps_timed": steps, "ms_per_step": ms, "parameters": n_params}


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
    ap.add_argument("--supernet", action="store_true", help="time Hybrid-All vs OnlyConv search steps")
    ap.add_argument("--profile", action="store_true", help="GPU: profiler table for three shapes")
    ap.add_argument("--supernet-batch", type=int, default=128)
    ap.add_argument("--supernet-steps", type=int, default=30, help="timed hard-mode steps (soft: 5)")
    ap.add_argument("--shapes", choices=("issue", "all", "none"), default="all")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    device = torch.device(args.device)
    torch.backends.cudnn.allow_tf32 = False          # FP32 convolution, as the issue asks
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.benchmark = True             # cuDNN at its best algorithm
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

    if args.check and device.type == "cuda":
        report["check"] = check_cuda(ISSUE_SHAPES)
        save()
    if args.tune and device.type == "cuda":
        report["tune"] = tune_cuda(ISSUE_SHAPES + OWN_SHAPES)
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
              f"{rec['forward_backward_ms']['adder']:.3f} ms ({r['adder_over_conv_forward_backward']:.2f}x), "
              f"unfold/adder {r.get('unfold_over_adder_forward_backward', float('nan')):.1f}x, "
              f"mem {r.get('adder_over_conv_peak_memory', float('nan')):.2f}x", flush=True)
    if args.supernet:
        try:
            rows = []
            for mode in ("hard", "soft"):
                for space in ("OnlyConv", "Hybrid-All"):
                    steps = args.supernet_steps if mode == "hard" else max(1, args.supernet_steps // 6)
                    rows.append(supernet_step(space, device, args.supernet_batch, mode,
                                              steps=steps if device.type == "cuda" else 2))
                    print("supernet", rows[-1], flush=True)
            ratios = {m: next(r["ms_per_step"] for r in rows if r["mode"] == m and r["space"] != "OnlyConv")
                      / next(r["ms_per_step"] for r in rows if r["mode"] == m and r["space"] == "OnlyConv")
                      for m in ("hard", "soft")}
            report["supernet"] = {"steps": rows, "hybrid_all_over_onlyconv": ratios}
        except Exception as exc:  # the supernet belongs to another module; report, don't hide
            report["supernet"] = {"error": f"{type(exc).__name__}: {exc}"}
            print("supernet failed:", report["supernet"]["error"], flush=True)
    save()
    print("wrote", out)


if __name__ == "__main__":
    main()
