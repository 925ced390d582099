"""Issue 19: where the host time of a soft-mode search step goes (OnlyConv vs Hybrid-All), on CUDA.

    python3 benchmarks/adder_soft_host.py --out benchmarks/results/adder_soft_host_h200_issue19_final5.json

Per space (soft mode, batch 128, the CIFAR layout of ``benchmarks/adder.py --supernet``):

* ``ms_per_step``: wall time of ``--steps`` steps (synchronised at the end);
* ``adder_host_ms_per_step``: host time inside the adder's autograd Function (forward on the
  main thread, backward on the autograd engine's device thread), timed by wrapping
  ``_AdderFunction.forward`` / ``backward`` with ``perf_counter``; and the call counts;
* ``python_fn_ms_per_step``: the same for a few Python functions of the supernet and the ops
  (quantisers, shift rounding, MBConv stages), by wrapping them (a call nested in another counts in
  both);
* ``profiler_top``: torch.profiler's CPU-side top operators by total and by self CPU time over one
  step (the profiler's own overhead inflates these; read them as shares).
"""
from __future__ import annotations

import argparse
import functools
import json
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402


class _Timer:
    def __init__(self):
        self.ms, self.calls = {}, {}

    def wrap(self, owner, attr, label, static=False):
        fn = getattr(owner, attr)
        raw = fn

        @functools.wraps(raw)
        def timed(*a, **k):
            t0 = time.perf_counter()
            try:
                return raw(*a, **k)
            finally:
                self.ms[label] = self.ms.get(label, 0.0) + (time.perf_counter() - t0) * 1e3
                self.calls[label] = self.calls.get(label, 0) + 1
        setattr(owner, attr, staticmethod(timed) if static else timed)
        return lambda: setattr(owner, attr, staticmethod(raw) if static else raw)

    def reset(self):
        self.ms.clear()
        self.calls.clear()


def _module_forwards(module, prefix):
    """(class, "forward", label, False) of every nn.Module class of ``module`` defining forward."""
    return [(c, "forward", f"{prefix}.{name}.forward", False) for name in dir(module)
            for c in [getattr(module, name)]
            if isinstance(c, type) and issubclass(c, torch.nn.Module) and "forward" in c.__dict__]


def _wrappable():
    """(owner, attribute, label, static) of the functions timed; those absent are skipped."""
    from nasa_lib.ops import adder as A
    out = [(A._AdderFunction, "forward", "adder.forward", True),
           (A._AdderFunction, "backward", "adder.backward", True)]
    try:
        from nasa_lib.ops import quant as Q
        for name in ("fake_quant_weight_per_channel", "fake_quant_range", "round_power_of_two",
                     "fixed_point", "as_shift"):
            if hasattr(Q, name):
                out.append((Q, name, "quant." + name, False))
        for cls in ("RunningRangeQuantizer", "QConv2d"):
            if hasattr(Q, cls):
                out.append((getattr(Q, cls), "forward", f"quant.{cls}.forward", False))
    except Exception:  # noqa: BLE001
        pass
    from nasa_lib.ops import base as Ba
    from nasa_lib.ops import blocks as Bk
    out += _module_forwards(Bk, "blocks")
    for m in ("expand", "depthwise", "project"):
        if m in Bk.MBConvBlock.__dict__:
            out.append((Bk.MBConvBlock, m, f"blocks.MBConvBlock.{m}", False))
    out += _module_forwards(Ba, "base")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--spaces", default="OnlyConv,Hybrid-All")
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--device", default="cuda", help="cpu: a smoke test of this script only")
    args = ap.parse_args()
    B.fp32_settings()
    dev = torch.device(args.device)
    from torch.profiler import ProfilerActivity, profile
    report = {"versions": B.versions(dev), "method": __doc__.split("\n\n")[2].strip(), "spaces": {}}
    for space in args.spaces.split(","):
        step, net = B._supernet_stepper(space, dev, args.batch, "soft")
        step(1)
        B._sync(dev)
        t0 = time.perf_counter()
        for i in range(args.steps):
            step(2 + i)
        B._sync(dev)
        wall = (time.perf_counter() - t0) * 1e3 / args.steps
        timer = _Timer()
        undo = [timer.wrap(*w) for w in _wrappable()]
        try:
            B._sync(dev)
            t0 = time.perf_counter()
            for i in range(args.steps):
                step(10 + i)
            B._sync(dev)
            wall_timed = (time.perf_counter() - t0) * 1e3 / args.steps
        finally:
            for u in reversed(undo):
                u()
        fn_ms = {k: v / args.steps for k, v in sorted(timer.ms.items(), key=lambda kv: -kv[1])}
        calls = {k: v / args.steps for k, v in timer.calls.items()}
        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            step(20)
            B._sync(dev)
        ka = prof.key_averages()
        rows = [(e.key, e.cpu_time_total / 1e3, e.self_cpu_time_total / 1e3, e.count,
                 e.self_device_time_total / 1e3) for e in ka]
        top_total = sorted(rows, key=lambda r: -r[1])[:40]
        top_self = sorted(rows, key=lambda r: -r[2])[:40]
        rec = {"ms_per_step": wall, "ms_per_step_while_timing_fns": wall_timed,
               "adder_host_ms_per_step": fn_ms.get("adder.forward", 0.0) + fn_ms.get("adder.backward", 0.0),
               "python_fn_ms_per_step": fn_ms, "python_fn_calls_per_step": calls,
               "profiler_cpu_self_ms_sum": sum(r[2] for r in rows),
               "profiler_device_ms": sum(r[4] for r in rows),
               "profiler_top_total": [list(r) for r in top_total],
               "profiler_top_self": [list(r) for r in top_self]}
        report["spaces"][space] = rec
        print(space, {k: (round(v, 1) if isinstance(v, float) else v) for k, v in rec.items()
                      if k in ("ms_per_step", "ms_per_step_while_timing_fns", "adder_host_ms_per_step",
                               "profiler_cpu_self_ms_sum", "profiler_device_ms")}, flush=True)
        print("  fns:", {k: (round(v, 1), calls[k]) for k, v in list(fn_ms.items())[:25]}, flush=True)
        print("  self:", [(r[0][:50], round(r[2], 1), r[3]) for r in top_self[:25]], flush=True)
        del step, net
        torch.cuda.empty_cache()
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(report, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
