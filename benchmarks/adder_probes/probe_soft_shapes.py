"""Issue 19 probe: where the adder layers of a Hybrid-All soft search step spend their extra time
over convolutions of the same shapes, and whether the depthwise weight gradient is faster through
the convolution weight gradient (``sum x * g - w * sum g``, PyTorch's depthwise / cuDNN kernel plus
the finishing program) than through the Triton partial-sum kernel, on the H200:

    OUT=<dir> python3 benchmarks/adder_probes/probe_soft_shapes.py   # -> $OUT/probe_soft_shapes.json

(kept as ``benchmarks/results/adder_cuda_h200_issue19_soft_shapes_probe.json``; its two depthwise
weight-gradient paths gave ``_adder_triton``'s rule ``CONFIG["dw_conv_wgrad_min_pq"]``).

One soft forward of ``benchmarks/adder.py``'s supernet (Hybrid-All, CIFAR layout, batch 128) with
``adder2d`` wrapped records every adder call's shape; per distinct shape (and its calls per search
step: two forward + backward passes), kernel-only milliseconds (CUDA graph replays) of the adder's
forward + backward and of cuDNN's convolution forward + backward, and for depthwise shapes the two
weight-gradient paths, checked against each other.
"""
import collections
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, "benchmarks")
import adder as B  # noqa: E402
from nasa_lib.ops import _adder_triton as T  # noqa: E402
from nasa_lib.ops import layers  # noqa: E402
from nasa_lib.space import Supernet  # noqa: E402


def soft_step_shapes(batch=128) -> collections.Counter:
    dev = torch.device("cuda")
    torch.manual_seed(0)
    net = Supernet("Hybrid-All").to(dev)
    weights = [F.softmax(torch.zeros(len(c), device=dev), -1) for c in net.candidates]
    seen = collections.Counter()
    original = layers.adder2d

    def record(x, w, stride, padding, groups, eta):
        seen[(tuple(x.shape), tuple(w.shape), stride, padding, groups)] += 2  # weight + arch pass
        return original(x, w, stride, padding, groups, eta)
    layers.adder2d = record
    try:
        with torch.no_grad():
            net(torch.randn(batch, 3, 32, 32, device=dev), weights, None)
    finally:
        layers.adder2d = original
    return seen


def main():
    B.fp32_settings()
    dev = torch.device("cuda")
    rows = []
    for (xs, ws, stride, pad, groups), calls in sorted(soft_step_shapes().items()):
        torch.manual_seed(1)
        x = torch.randn(xs, device=dev, requires_grad=True)
        w = torch.randn(ws, device=dev, requires_grad=True)
        with torch.no_grad():
            gy = torch.randn_like(T.forward(x, w, stride, pad, groups))
        row = {"x": xs, "w": ws, "stride": stride, "padding": pad, "groups": groups, "calls_per_step": calls}
        row["adder_fb_kernel_ms"] = B._graph_ms(lambda: B._fwd_bwd(
            lambda a, b: B._adder2d(a, b, stride, pad, groups), x, w, gy))
        row["conv_fb_kernel_ms"] = B._graph_ms(lambda: B._fwd_bwd(
            lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups), x, w, gy))
        if ws[1] == 1:
            xd, wd = x.detach(), w.detach()

            def via_conv():  # the convolution backward, then the finishing program
                gw, gb = T._conv_weight_and_bias_grad(xd, wd, gy, stride, pad, groups)
                gw = gw.contiguous()
                plan = T._finish_plan(wd, True, 1, wd.numel(), 0.2)
                return T._run_finish(plan, gw, wd, gb.contiguous(), gw)

            def via_triton():  # the partial-sum kernel, then the finishing program
                part = T._depthwise_partials(xd, wd, gy, stride, pad)
                plan = T._finish_plan(wd, False, part.shape[0], wd.numel(), 0.2)
                return T._run_finish(plan, part, wd, None, torch.empty_like(wd))
            triton_gw, conv_gw = via_triton(), via_conv()
            row["dw_wgrad_triton_kernel_ms"] = B._graph_ms(via_triton)
            row["dw_wgrad_via_conv_kernel_ms"] = B._graph_ms(via_conv)
            row["dw_wgrad_max_rel_diff"] = ((triton_gw - conv_gw).abs().max() / triton_gw.abs().max()).item()
        print(json.dumps(row), flush=True)
        rows.append(row)
    tot = {k: sum(r[k] * r["calls_per_step"] for r in rows if k in r)
           for k in ("adder_fb_kernel_ms", "conv_fb_kernel_ms", "dw_wgrad_triton_kernel_ms",
                     "dw_wgrad_via_conv_kernel_ms")}
    print("per soft step (kernel ms, calls weighted):", {k: round(v, 1) for k, v in tot.items()})
    out = {"versions": B.versions(dev), "method": __doc__.split("\n\n", 2)[2].strip(), "shapes": rows,
           "per_step_kernel_ms": tot}
    with open(os.path.join(os.environ.get("OUT", "."), "probe_soft_shapes.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
