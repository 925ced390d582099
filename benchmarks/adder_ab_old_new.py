"""Issue 19: the adder's CUDA host path before and after the launch plans, on one machine in one
process (a host-bound measurement moves with the machine's momentary CPU speed, so two runs on two
machines cannot compare them).

    git show <old>:nasa_lib/ops/_adder_triton.py > .scratch/old/_adder_triton_old.py
    git show <old>:nasa_lib/ops/adder.py | sed 's/from \\. import _adder_triton$/from . import _adder_triton_old as _adder_triton/' > .scratch/old/adder_old.py
    python3 benchmarks/adder_ab_old_new.py --old-dir .scratch/old --out benchmarks/results/adder_ab_old_new_h200_issue19_final5.json

Loads the old ``adder.py`` / ``_adder_triton.py`` as ``nasa_lib.ops._adder_old`` /
``nasa_lib.ops._adder_triton_old`` beside the current ones, then in alternating rounds:

* per benchmark shape, forward + backward (``_fwd_bwd``) host ms (queue not drained, 100 calls)
  and event-timed ms (``benchmarks/adder.py``'s ``time_ms``) of cuDNN's convolution, the old and
  the new adder (the new one also with its backward's other order, input gradient first:
  ``adder_new_dx_first``, ``adder._DX_FIRST = True``); medians over the rounds; peak memory
  (``cuda_peak_mb``) of the convolution and both orders;
* search steps (``benchmarks/adder.py``'s steppers, batch 128, CIFAR layout), soft and hard mode:
  OnlyConv, Hybrid-All with the old adder and Hybrid-All with the new one (both orders) (``nasa_lib.ops.layers``'
  ``adder2d`` swapped between rounds); median ms per step and the ratios to OnlyConv.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402


def _load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    mod.__package__ = "nasa_lib.ops"
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--old-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--step-rounds", type=int, default=6)
    args = ap.parse_args()
    import nasa_lib.ops  # noqa: F401
    from nasa_lib.ops import adder as new
    from nasa_lib.ops import layers
    _load("nasa_lib.ops._adder_triton_old", os.path.join(args.old_dir, "_adder_triton_old.py"))
    old = _load("nasa_lib.ops._adder_old", os.path.join(args.old_dir, "adder_old.py"))
    B.fp32_settings()
    dev = torch.device("cuda")
    report = {"versions": B.versions(dev), "method": __doc__.split("\n\n")[2].replace("\n", " "),
              "shapes": [], "steps": []}
    for shape in B.ISSUE_SHAPES + B.OWN_SHAPES:
        x, w, gy, stride, pad, groups = B._make(shape, dev)
        ops = {"conv": lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups),
               "adder_old": lambda a, b: old._adder2d(a, b, stride, pad, groups),
               "adder_new": lambda a, b: new._adder2d(a, b, stride, pad, groups),
               "adder_new_dx_first": lambda a, b: new._adder2d(a, b, stride, pad, groups)}
        h = {k: [] for k in ops}
        e = {k: [] for k in ops}
        for _ in range(args.rounds):
            for k, op in ops.items():
                new._DX_FIRST = k == "adder_new_dx_first"
                call = lambda op=op: B._fwd_bwd(op, x, w, gy)  # noqa: E731
                h[k].append(B.host_ms(call, 100))
                e[k].append(B.time_ms(call, dev, budget_s=0.15))
        new._DX_FIRST = False
        peak = {}
        for k in ("conv", "adder_new", "adder_new_dx_first"):
            new._DX_FIRST = k == "adder_new_dx_first"
            peak[k] = B.cuda_peak_mb(lambda op=ops[k]: B._fwd_bwd(op, x, w, gy), x, w)
        new._DX_FIRST = False
        row = {"shape": list(shape), "peak_MB": peak, "host_ms": {k: statistics.median(v) for k, v in h.items()},
               "event_ms": {k: statistics.median(v) for k, v in e.items()}}
        row["event_ratio_to_conv"] = {k: v / row["event_ms"]["conv"] for k, v in row["event_ms"].items()}
        report["shapes"].append(row)
        print(shape, "host", {k: round(v, 4) for k, v in row["host_ms"].items()},
              "event/conv", {k: round(v, 3) for k, v in row["event_ratio_to_conv"].items()},
              "peak MB", {k: round(v, 2) for k, v in peak.items()}, flush=True)
    for mode, spr in (("soft", 2), ("hard", 5)):
        steppers = {"OnlyConv": B._supernet_stepper("OnlyConv", dev, 128, mode)[0]}
        layers.adder2d = old.adder2d
        ha = B._supernet_stepper("Hybrid-All", dev, 128, mode)[0]
        runs = {"OnlyConv": (steppers["OnlyConv"], None), "Hybrid-All_old": (ha, old.adder2d),
                "Hybrid-All_new": (ha, new.adder2d), "Hybrid-All_new_dx_first": (ha, new.adder2d)}
        per = {k: [] for k in runs}
        i = 0
        try:
            for name, (st, fn) in runs.items():  # one warm-up step of each
                if fn is not None:
                    layers.adder2d = fn
                st(1)
            for _ in range(args.step_rounds):
                for name, (st, fn) in runs.items():
                    if fn is not None:
                        layers.adder2d = fn
                    new._DX_FIRST = name == "Hybrid-All_new_dx_first"
                    torch.cuda.synchronize()
                    t0 = time.perf_counter()
                    for j in range(spr):
                        st(2 + i + j)
                    torch.cuda.synchronize()
                    per[name].append((time.perf_counter() - t0) * 1e3 / spr)
                i += spr
        finally:
            layers.adder2d = new.adder2d
            new._DX_FIRST = False
        med = {k: statistics.median(v) for k, v in per.items()}
        rec = {"mode": mode, "batch": 128, "rounds": args.step_rounds, "steps_per_round": spr,
               "ms_per_step_per_round": per, "ms_per_step_median": med,
               "ratio_to_OnlyConv": {k: v / med["OnlyConv"] for k, v in med.items()}}
        report["steps"].append(rec)
        print("steps", mode, {k: round(v, 1) for k, v in med.items()},
              {k: round(v, 3) for k, v in rec["ratio_to_OnlyConv"].items()}, flush=True)
        del steppers, ha, runs
        torch.cuda.empty_cache()
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
