"""Peak memory and time of the adder layer vs ``nn.Conv2d`` on CPU, forward + backward.

    python benchmarks/adder_memory_cpu.py

Input 128x64x16x16, 64 filters 3x3, stride 1, padding 1 (the layer for which the naive unfold
implementation needs 14 GB).  Each configuration runs in a fresh Python process:

1. build the layer (seeded), the input and an upstream gradient; run forward + backward once
   (this builds the C kernels, oneDNN's primitives and the thread pool), then drop the outputs
   and gradients;
2. **peak RSS growth**: reset the kernel's peak-RSS counter (``echo 5 > /proc/self/clear_refs``),
   read ``VmRSS``, run one forward + backward, read ``VmHWM``; the growth is their difference.
   glibc's mmap threshold is pinned at 64 KiB (``MALLOC_MMAP_THRESHOLD_``) so freed buffers
   leave the RSS at once instead of staying in malloc's heap, which would hide them;
3. **allocator peak**: the same call under ``torch.profiler`` with ``profile_memory=True``; the
   running sum of every CPU allocation and free that torch's allocator reports, maximum over
   the call (exact for torch tensors, blind to memory allocated outside torch);
4. time: median of up to 5 forward + backward calls (fewer past 10 s).

Writes ``benchmarks/results/adder_memory_cpu.json``.  Goal (issue 2): the adder's peak at most
4x the convolution's.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time

SHAPE = dict(N=128, C=64, H=16, W=16, K=64, kernel=3, stride=1, padding=1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(REPO, "benchmarks", "results", "adder_memory_cpu.json")


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def measure(kind: str) -> dict:
    """Runs inside the child process."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from nasa_lib.ops.adder import Adder2d

    torch.manual_seed(0)
    s = SHAPE
    if kind == "conv":
        layer = torch.nn.Conv2d(s["C"], s["K"], s["kernel"], s["stride"], s["padding"], bias=False)
    else:
        layer = Adder2d(s["C"], s["K"], s["kernel"], s["stride"], s["padding"])
    x = torch.randn(s["N"], s["C"], s["H"], s["W"], requires_grad=True)
    gy = torch.randn(s["N"], s["K"], s["H"], s["W"])

    def fwd_bwd():
        x.grad = None
        layer.weight.grad = None
        layer(x).backward(gy)

    fwd_bwd()
    x.grad = layer.weight.grad = None
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset VmHWM to the current RSS
    base_kb = _status_kb("VmRSS")
    fwd_bwd()
    rss_growth_mb = (_status_kb("VmHWM") - base_kb) / 1024
    x.grad = layer.weight.grad = None

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        fwd_bwd()
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == "[memory]" and e.device_type() == torch.autograd.DeviceType.CPU)
    running = peak = 0
    for _, nbytes in events:
        running += nbytes
        peak = max(peak, running)

    times = []
    start = time.perf_counter()
    while len(times) < 5 and (not times or time.perf_counter() - start < 10.0):  # slow paths: fewer
        t0 = time.perf_counter()
        fwd_bwd()
        times.append((time.perf_counter() - t0) * 1e3)
    backend = None
    if kind != "conv":
        from nasa_lib.ops.adder import _pick_backend
        backend = _pick_backend(x, "auto")
    return {"layer": kind, "cpu_path": backend, "peak_rss_growth_MB": rss_growth_mb,
            "allocator_peak_MB": peak / 2**20, "forward_backward_ms": statistics.median(times),
            "threads": torch.get_num_threads(),
            "io_MB": {"input": x.numel() * 4 / 2**20, "output": gy.numel() * 4 / 2**20}}


def run_child(kind: str, extra_env: dict) -> dict:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", **extra_env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO, env.get("PYTHONPATH")) if p)
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", kind], env=env,
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2])))
        return
    import torch
    rows = [run_child("conv", {}), run_child("adder", {}),
            run_child("adder", {"NASA_LIB_ADDER_CPU": "torch"})]
    conv = rows[0]
    for row in rows[1:]:
        row["rss_growth_over_conv"] = row["peak_rss_growth_MB"] / conv["peak_rss_growth_MB"]
        row["allocator_peak_over_conv"] = row["allocator_peak_MB"] / conv["allocator_peak_MB"]
        row["time_over_conv"] = row["forward_backward_ms"] / conv["forward_backward_ms"]
    naive_gb = (SHAPE["N"] * SHAPE["K"] * SHAPE["C"] * SHAPE["kernel"] ** 2 * SHAPE["H"] * SHAPE["W"]
                * 4 / 1e9)
    report = {"shape": SHAPE, "torch": torch.__version__, "python": platform.python_version(),
              "cpu_count": os.cpu_count(), "method": __doc__.split("Writes")[0].strip(),
              "naive_unfold_difference_tensor_GB": naive_gb, "rows": rows,
              "goal": "adder peak <= 4x conv peak",
              "goal_met": all(r["rss_growth_over_conv"] <= 4 and r["allocator_peak_over_conv"] <= 4
                              for r in rows[1:])}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(report, f, indent=1)
    for r in rows:
        print(f"{r['layer']:5s} {str(r['cpu_path']):7s} RSS growth {r['peak_rss_growth_MB']:7.1f} MB, "
              f"allocator peak {r['allocator_peak_MB']:7.1f} MB, fwd+bwd {r['forward_backward_ms']:7.1f} ms")
    print("wrote", OUT)


if __name__ == "__main__":
    main()
