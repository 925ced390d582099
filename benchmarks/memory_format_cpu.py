"""Training-step time on the CPU by memory format (``common.memory_format``): the measurement behind
its default.

    python benchmarks/memory_format_cpu.py --out benchmarks/results/memory_format_cpu.json

The embedded default's layout (28 px digits, width x0.25, depth x0.5, stride-2 stem), batch 64, one
intra-op thread (as ``make repro`` runs each stage).  Per space, two copies of one supernet -- one
contiguous, one converted to channels_last as the trainer's ``MemoryFormat`` callback converts it --
take the same single-path PGP steps (same paths, same batch) in alternation, so the machine's load
falls on both alike; the median over the steps after a warm-up, and the largest logit difference at
the first step (rounding only).  Likewise a retraining step of the all-conv and all-adder baselines.
"""
from __future__ import annotations

import argparse
import copy
import json
import platform
import time

import torch
import torch.nn.functional as F

from nasa_lib.space import ChildNet, FBNetLayout, Supernet, baseline_arch

LAYOUT = FBNetLayout(width_mult=0.25, depth_mult=0.5, in_channels=1, input_size=28, num_classes=10,
                     header_channels=512, stem_stride=2)


def _median_ms(times):
    times = sorted(times)
    return 1000 * times[len(times) // 2]


def time_pair(make, step, steps: int, warmup: int) -> dict:
    base = make()
    nets = {"contiguous": base, "channels_last": copy.deepcopy(base).to(memory_format=torch.channels_last)}
    opts = {k: torch.optim.SGD(n.parameters(), lr=0.01, momentum=0.9) for k, n in nets.items()}
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(64, 1, 28, 28, generator=g), torch.randint(0, 10, (64,), generator=g)
    times = {k: [] for k in nets}
    first_diff = None
    for i in range(steps + warmup):
        args = step(base, g)
        outs = {}
        for k, net in nets.items():
            t0 = time.perf_counter()
            out = net(x, **args)
            loss = F.cross_entropy(out, y)
            opts[k].zero_grad()
            loss.backward()
            opts[k].step()
            if i >= warmup:
                times[k].append(time.perf_counter() - t0)
            outs[k] = out.detach()
        if first_diff is None:
            first_diff = float((outs["contiguous"] - outs["channels_last"]).abs().max())
    med = {k: _median_ms(v) for k, v in times.items()}
    return {"ms_per_step_median": med, "speedup": med["contiguous"] / med["channels_last"],
            "first_step_max_abs_logit_diff": first_diff}


def _line(r) -> str:
    return (f"contiguous {r['ms_per_step_median']['contiguous']:.1f} ms, channels_last "
            f"{r['ms_per_step_median']['channels_last']:.1f} ms ({r['speedup']:.2f}x)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    torch.set_num_threads(1)
    report = {"versions": {"torch": torch.__version__, "python": platform.python_version(),
                           "machine": platform.machine(), "processor": platform.processor()},
              "threads": 1, "batch": 64, "steps": args.steps, "warmup": args.warmup, "results": {}}
    for space in ("OnlyConv", "Hybrid-All"):
        torch.manual_seed(0)
        supernet = lambda: Supernet(space, LAYOUT, 3, weight_sharing="elastic_kinds")  # noqa: E731
        report["results"][f"pgp_step/{space}"] = time_pair(
            supernet, lambda net, g: {"active": net.sample_active(None, 1, g)}, args.steps, args.warmup)
        print(f"pgp_step/{space}: {_line(report['results'][f'pgp_step/{space}'])}", flush=True)
    for baseline in ("all-conv", "all-adder"):
        torch.manual_seed(0)
        arch = baseline_arch(baseline, LAYOUT)
        r = report["results"][f"retrain_step/{baseline}"] = time_pair(
            lambda: ChildNet(arch, LAYOUT), lambda net, g: {}, args.steps, args.warmup)
        print(f"retrain_step/{baseline}: {_line(r)}", flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
