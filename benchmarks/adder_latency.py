"""Issue 19: what one isolated adder forward + backward call's time is made of, on CUDA.

    python3 benchmarks/adder_latency.py --out benchmarks/results/adder_latency_h200_issue19.json

``benchmarks/adder.py`` times each forward + backward alone (event before, call, event after,
synchronise): on a small layer that is the host's latency for one call, not the GPU's work.
Per shape this records, for cuDNN's convolution, the adder, and a stub Python autograd Function
of the adder's signature that launches nothing (``x.new_empty`` forward, ``empty_like``
backward; the floor of any Python autograd Function):

* ``isolated_event_ms``: the median of ``benchmarks/adder.py``'s ``time_ms`` (the issue's figure);
* ``isolated_host_ms``: median host time of the same isolated calls (perf_counter, GPU drained
  before each call);
* ``back_to_back_ms``: events around ``--calls`` calls queued without draining, per call (the
  steady state of a training loop);
* ``kernel_ms``: the adder's kernels alone, from a CUDA graph replay (no host);
* ``interleaved``: ``--rounds`` rounds, each timing conv and adder as ``isolated_event_ms`` does
  (median of ``--per-round`` calls), the order alternating from round to round; the per-round
  adder / conv ratio, its median and range (the host's speed drifts within a run, so a ratio of
  two figures taken minutes apart mixes two speeds);
* ``profile``: one isolated adder call under torch.profiler: each CPU-side operator and each
  GPU kernel with its start (us after the call began) and duration, in time order.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402
from adder_host_split import _Stub  # noqa: E402  (the launch-free autograd Function)
from nasa_lib.ops import adder as A  # noqa: E402


def isolated_host_ms(fn, reps=50) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(reps):
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    torch.cuda.synchronize()
    return statistics.median(times)


def back_to_back_ms(fn, calls=50, rounds=5) -> float:
    for _ in range(3):
        fn()
    out = []
    for _ in range(rounds):
        torch.cuda.synchronize()
        out.append(B.event_ms(fn, calls) / calls)
    return statistics.median(out)


def interleaved(fns: dict, rounds: int, per_round: int) -> dict:
    ms = B.interleaved_event_ms(fns, rounds, per_round)
    r = B.ratio_rounds(ms["adder"], ms["conv"])
    return {"ms": ms, "adder_over_conv": r["per_round"], "median_ratio": r["median"],
            "min_ratio": r["min"], "max_ratio": r["max"]}


def profile_one(fn) -> list:
    for _ in range(3):
        fn()
    torch.cuda.synchronize()
    acts = [torch.profiler.ProfilerActivity.CPU, torch.profiler.ProfilerActivity.CUDA]
    with torch.profiler.profile(activities=acts) as prof:
        fn()
        torch.cuda.synchronize()
    events = []
    for e in prof.events():
        dev = "gpu" if e.device_type == torch.autograd.DeviceType.CUDA else "cpu"
        if dev == "cpu" and e.name.startswith("cuda") and "Synchronize" in e.name:
            continue
        events.append((e.time_range.start, e.time_range.end - e.time_range.start, dev, e.name,
                       getattr(e, "thread", None)))
    t0 = min(t for t, *_ in events)
    return [{"start_us": round(t - t0, 1), "dur_us": round(d, 1), "on": dev, "name": name[:80],
             "thread": th} for t, d, dev, name, th in sorted(events)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--shapes", default="all", help="dw8: the 192-channel depthwise 8x8 only; all: every issue shape")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--per-round", type=int, default=15)
    args = ap.parse_args()
    B.fp32_settings()
    dev = torch.device("cuda")
    shapes = B.ISSUE_SHAPES + B.OWN_SHAPES if "all" in args.shapes else [(128, 192, 8, 192, 3, 1, 192)]
    rows = []
    for shape in shapes:
        x, w, gy, stride, pad, groups = B._make(shape, dev)
        ops = {"conv": lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups),
               "adder": lambda a, b: A._adder2d(a, b, stride, pad, groups),
               "stub": lambda a, b, s=tuple(gy.shape): _Stub.apply(a, b, s)}
        fns = {k: (lambda op=op: B._fwd_bwd(op, x, w, gy)) for k, op in ops.items()}
        row = {"shape": list(shape)}
        row["isolated_event_ms"] = {k: B.time_ms(f, dev) for k, f in fns.items()}
        row["isolated_host_ms"] = {k: isolated_host_ms(f) for k, f in fns.items()}
        row["back_to_back_ms"] = {k: back_to_back_ms(f) for k, f in fns.items()}
        impl = A._module_for("triton")
        xd, wd = x.detach(), w.detach()

        def kernels():
            impl.forward(xd, wd, stride, pad, groups)
            impl.weight_grad_rescaled(xd, wd, gy, stride, pad, groups, 0.2)
            impl.grad_input(xd, wd, gy, stride, pad, groups)
        row["kernel_ms"] = B._graph_ms(kernels)
        row["interleaved"] = interleaved({k: fns[k] for k in ("conv", "adder")}, args.rounds, args.per_round)
        row["ratios"] = {
            "isolated_event_adder_over_conv": row["isolated_event_ms"]["adder"] / row["isolated_event_ms"]["conv"],
            "back_to_back_adder_over_conv": row["back_to_back_ms"]["adder"] / row["back_to_back_ms"]["conv"],
            "isolated_event_stub_over_conv": row["isolated_event_ms"]["stub"] / row["isolated_event_ms"]["conv"]}
        if shape == (128, 192, 8, 192, 3, 1, 192):
            row["profile_adder"] = profile_one(fns["adder"])
            row["profile_conv"] = profile_one(fns["conv"])
        print(json.dumps({k: v for k, v in row.items() if not k.startswith("profile")}), flush=True)
        rows.append(row)
    out = {"versions": B.versions(dev), "method": __doc__.split("\n\n", 2)[2].strip(), "shapes": rows}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
