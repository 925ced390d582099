"""Issue 19: forward + backward of every benchmark shape with the host taken out (CUDA graphs),
adder against cuDNN's convolution: how much of the event-timed ratio of ``benchmarks/adder.py`` is
the kernels' and how much is launch / autograd time on the host.

    python3 benchmarks/adder_graph_fb.py --out benchmarks/results/adder_cuda_h200_issue19_graph_fb.json

Per shape (``benchmarks/adder.py``'s ISSUE_SHAPES + OWN_SHAPES, FP32, TF32 off): the whole
``op(x, w).backward(gy)`` (autograd included) captured in a CUDA graph and replayed
(``triton.testing.do_bench_cudagraph``, median ms per call), for ``F.conv2d`` and for the adder,
the same call timed with CUDA events without a graph, and both ratios.  A shape whose capture
fails records the error (no silent fall-back).  Needs CUDA and Triton; exits with a message
otherwise.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402  (the benchmark's shapes and helpers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    if not torch.cuda.is_available():
        sys.exit("adder_graph_fb.py: needs a CUDA device")
    import triton.testing

    from nasa_lib.ops.adder import _adder2d
    B.fp32_settings(cudnn_benchmark=False)
    dev = torch.device("cuda")
    rows = []
    for shape in B.ISSUE_SHAPES + B.OWN_SHAPES:
        x, w, gy, stride, pad, groups = B._make(shape, dev)
        ops = {"conv": lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups),
               "adder": lambda a, b: _adder2d(a, b, stride, pad, groups)}
        row = {"shape": list(shape), "graph_ms": {}, "event_ms": {}}
        for name, op in ops.items():
            call = lambda op=op: B._fwd_bwd(op, x, w, gy)  # noqa: E731
            row["event_ms"][name] = B.time_ms(call, dev)
            try:
                call()
                torch.cuda.synchronize()
                row["graph_ms"][name] = triton.testing.do_bench_cudagraph(call, rep=50, return_mode="median")
            except Exception as err:  # noqa: BLE001  (recorded, not hidden)
                row["graph_ms"][name] = None
                row[f"{name}_capture_error"] = f"{type(err).__name__}: {err}"[:300]
        g, e = row["graph_ms"], row["event_ms"]
        row["adder_over_conv_graph"] = g["adder"] / g["conv"] if g["adder"] and g["conv"] else None
        row["adder_over_conv_event"] = e["adder"] / e["conv"]
        rows.append(row)
        print(shape, {k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items() if k != "shape"},
              flush=True)
    out = {"versions": {"torch": torch.__version__, "device": torch.cuda.get_device_name(),
                        "triton": __import__("triton").__version__},
           "tf32": False, "method": __doc__.split("\n\n")[2].replace("\n", " "), "shapes": rows}
    with open(args.out, "w") as f:
        json.dump(out, f, indent=1)
    print("wrote", args.out)


if __name__ == "__main__":
    main()
