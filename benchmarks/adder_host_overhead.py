"""Where the host (CPU) time of one adder forward + backward goes, on CUDA (issue 19).

    python benchmarks/adder_host_overhead.py --out benchmarks/results/adder_host_overhead_h200.json

Small layers are launch-bound: the GPU finishes the kernels before the host has queued the next
ones, so the measured time is the host's.  Per shape this times, with the GPU queue never drained
(``host_ms``), one forward + backward of the convolution, of the adder, and of the adder's parts,
and prints the top of a cProfile of the adder call.
"""
from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from benchmarks.adder import ISSUE_SHAPES, OWN_SHAPES, _fwd_bwd, _make, fp32_settings, host_ms, versions  # noqa: E402
from nasa_lib.ops import adder as A  # noqa: E402


def parts(shape) -> dict:
    x, w, gy, stride, pad, groups = _make(shape, torch.device("cuda"))
    impl = A._module_for(A._pick_backend(x, "auto"))
    xd, wd = x.detach(), w.detach()
    conv = lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups)  # noqa: E731
    adder = lambda a, b: A._adder2d(a, b, stride, pad, groups)  # noqa: E731
    rec = {
        "conv_forward_backward": host_ms(lambda: _fwd_bwd(conv, x, w, gy), 50),
        "adder_forward_backward": host_ms(lambda: _fwd_bwd(adder, x, w, gy), 50),
        "adder_forward_no_grad": host_ms(lambda: adder(xd, wd), 50),
        "check_args": host_ms(lambda: A._check_args(xd, wd, stride, pad, groups, 0.2), 200),
        "impl_forward": host_ms(lambda: impl.forward(xd, wd, stride, pad, groups), 50),
        "impl_grad_input": host_ms(lambda: impl.grad_input(xd, wd, gy, stride, pad, groups), 50),
        "weight_grad": host_ms(lambda: A._weight_grad(xd, wd, gy, stride, pad, groups, impl), 50),
        "rescale": host_ms(lambda: A._rescale(wd.clone(), 0.2), 50),
        "weight_grad_rescaled": host_ms(lambda: impl.weight_grad_rescaled(xd, wd, gy, stride, pad, groups, 0.2), 50)
        if hasattr(impl, "weight_grad_rescaled") else None,
        "empty_like": host_ms(lambda: torch.empty_like(xd), 200),
    }
    prof = cProfile.Profile()
    _fwd_bwd(adder, x, w, gy)
    torch.cuda.synchronize()
    prof.enable()
    for _ in range(50):
        _fwd_bwd(adder, x, w, gy)
    prof.disable()
    torch.cuda.synchronize()
    buf = io.StringIO()
    pstats.Stats(prof, stream=buf).sort_stats("tottime").print_stats(18)
    return rec, buf.getvalue()


def trace(shape, path):
    """A torch.profiler trace (CPU and GPU timelines) of three forward + backward calls timed as
    benchmarks/adder.py times them (events around the call, synchronise after each)."""
    from torch.profiler import ProfilerActivity, profile
    x, w, gy, stride, pad, groups = _make(shape, torch.device("cuda"))
    adder = lambda a, b: A._adder2d(a, b, stride, pad, groups)  # noqa: E731
    for _ in range(3):
        _fwd_bwd(adder, x, w, gy)
    torch.cuda.synchronize()
    times = []
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(3):
            a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            a.record()
            _fwd_bwd(adder, x, w, gy)
            b.record()
            b.synchronize()
            times.append(a.elapsed_time(b))
    prof.export_chrome_trace(path)
    return times


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--trace-dir", default=None, help="write chrome traces of two small shapes here")
    args = ap.parse_args()
    fp32_settings()
    report = {"versions": versions(torch.device("cuda")), "method": "host ms per call, queue not drained, "
              "mean of 50-200 calls after one warm-up", "shapes": []}
    for shape in ISSUE_SHAPES + OWN_SHAPES:
        rec, table = parts(shape)
        report["shapes"].append({"shape": shape, "host_ms": rec, "cprofile_top": table})
        print(shape, {k: round(v, 4) for k, v in rec.items() if v is not None}, flush=True)
        if shape in (ISSUE_SHAPES[1], OWN_SHAPES[4]):
            print(table, flush=True)
    if args.trace_dir:
        for name, shape in (("pw", ISSUE_SHAPES[1]), ("dw", OWN_SHAPES[4])):
            report.setdefault("traced_ms", {})[name] = trace(shape, os.path.join(args.trace_dir, f"trace_{name}.json"))
            print("trace", name, report["traced_ms"][name], flush=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
