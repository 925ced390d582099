"""Training images/s of the embedded default's fixed baselines on this CPU, with the adder C
kernels' threads from OpenMP (PyTorch's own pool: the default) against a Python thread pool (the
fallback), at 1 and 2 intra-op threads.

Why it exists: on a 2-core machine PyTorch's OpenMP workers spin on the second core after each of
their ops, so a Python pool beside them oversubscribes the machine and the adder layers gained
nothing from a second thread.  Writes JSON with the machine, versions and every figure.

    python benchmarks/adder_threads_cpu.py --out benchmarks/results/adder_threads_cpu.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch
import torch.nn.functional as F

from nasa_lib.ops import _adder_cpu
from nasa_lib.space import FBNetLayout, baseline_arch
from nasa_lib.space.networks import ChildNet


def images_per_second(net, batch: int, seconds: float) -> float:
    """Steady training throughput: SGD steps on one random batch, after three warm-up steps."""
    opt = torch.optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, net.layout.in_channels, net.layout.input_size, net.layout.input_size, generator=gen)
    y = torch.randint(0, net.layout.num_classes, (batch,), generator=gen)

    def step():
        loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    for _ in range(3):
        step()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        step()
        n += batch
    return n / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--networks", default="all-conv,all-adder,shift-adder")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=4.0, help="timed seconds per configuration")
    ap.add_argument("--out", default="benchmarks/results/adder_threads_cpu.json")
    args = ap.parse_args()
    if not _adder_cpu.available():
        raise SystemExit("the adder C kernels are not available here (no gcc?); nothing to compare")
    # the embedded default's layout (params.yaml network section, MNIST 28x28)
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.5, header_channels=512, stem_stride=2, in_channels=1,
                         input_size=28, num_classes=10)
    openmp_built = _adder_cpu._openmp
    rows = []
    for name in args.networks.split(","):
        for threads in (1, 2):
            torch.set_num_threads(threads)
            for openmp in ((True, False) if openmp_built else (False,)):
                _adder_cpu._openmp = openmp
                torch.manual_seed(0)
                net = ChildNet(baseline_arch(name, layout), layout)
                ips = images_per_second(net, args.batch, args.seconds)
                rows.append({"network": name, "threads": threads, "adder_threads": "openmp" if openmp else "python_pool",
                             "train_images_per_s": round(ips, 1)})
                print(rows[-1], flush=True)
    _adder_cpu._openmp = openmp_built
    result = {"benchmark": "CPU training throughput of the embedded default's baselines, adder threads: OpenMP vs "
                           "Python pool", "command": "python benchmarks/adder_threads_cpu.py",
              "machine": {"platform": platform.platform(), "python": platform.python_version(),
                          "torch": torch.__version__, "cpu_count": os.cpu_count()},
              "batch": args.batch, "seconds_per_configuration": args.seconds, "rows": rows}
    with open(args.out, "w") as f:
        json.dump(result, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
