"""Issue 19 probe: Nsight Compute shows the dense forward and input-gradient kernels of the
256x256 8x8 3x3 layer at 255 registers per thread, 12.5 % occupancy (two 4-warp programs per SM)
and 2.1-2.3 instructions per cycle against cuDNN's 3.6 (adder_ncu_h200_issue19_dense256.json).
This times both kernels, as ``nasa_lib`` launches them, with Triton's ``maxnreg`` capping the
registers (more programs per SM, maybe spills) and other warp counts / tiles, on the H200:

    OUT=<dir> python3 benchmarks/adder_probes/probe_maxnreg.py   # -> $OUT/probe_maxnreg.json
"""
import json
import os
import sys

import torch
import triton

sys.path.insert(0, "benchmarks")
import adder as B  # noqa: E402
from nasa_lib.ops import _adder_triton as T  # noqa: E402


def run(launch, tensors, warps, maxnreg):
    name, kernel, grid, scalars, consts, _, stages, *_ = launch
    opts = {"num_warps": warps}
    if maxnreg:
        opts["maxnreg"] = maxnreg
    return kernel[grid](*tensors, *scalars, *consts, **opts)


def main():
    B.fp32_settings()
    out = {"rows": []}
    for shape in [(256, 256, 8, 256, 3, 1, 1), (128, 64, 16, 64, 3, 1, 1)]:
        x, w, gy, stride, pad, groups = B._make(shape, torch.device("cuda"))
        x, w = x.detach(), w.detach()
        y0 = T.forward(x, w, stride, pad, groups)
        dx0 = T.grad_input(x, w, gy, stride, pad, groups)
        row = {"shape": shape, "fwd_current_ms": B._graph_ms(lambda: T.forward(x, w, stride, pad, groups)),
               "dx_current_ms": B._graph_ms(lambda: T.grad_input(x, w, gy, stride, pad, groups)), "fwd": {}, "dx": {}}
        saved = dict(T.CONFIG)
        for part in ("fwd", "dx"):
            tiles = [(64, 128), (128, 32), (128, 64), (64, 64)] if part == "fwd" else [(128, 32), (64, 32), (128, 64), (256, 32)]
            for bm, cap in tiles:
                for warps in (4, 8):
                    for maxnreg in (None, 168, 128):
                        T.CONFIG.clear()
                        T.CONFIG.update(saved)
                        if part == "fwd":
                            T.CONFIG["fwd"] = T.CONFIG["fwd_wide"] = (bm, cap, warps)
                            _, _, _, launch = T._forward_plan(x, w, stride, pad, groups)
                            tensors = (x, T._transposed_weight(w, groups), torch.empty_like(y0))
                        else:
                            T.CONFIG["dx"] = T.CONFIG["dx_wide"] = (bm, cap, warps)
                            _, launch = T._dx_plan(x, w, stride, pad, groups, True)
                            tensors = (x, w, gy, torch.empty_like(dx0))
                        key = str((bm, cap, warps, maxnreg))
                        try:
                            ck = run(launch, tensors, warps, maxnreg)
                            ref = y0 if part == "fwd" else dx0
                            err = float((tensors[-1] - ref).abs().max() / ref.abs().max())
                            ms = B._graph_ms(lambda: run(launch, tensors, warps, maxnreg))
                            row[part][key] = {"ms": ms, "rel_err": err, "registers": ck.n_regs, "spills": ck.n_spills}
                        except Exception as exc:  # noqa: BLE001
                            row[part][key] = {"error": f"{type(exc).__name__}: {str(exc)[:120]}"}
        T.CONFIG.clear()
        T.CONFIG.update(saved)
        for part in ("fwd", "dx"):
            best = sorted((v["ms"], k, v["registers"], v["spills"]) for k, v in row[part].items() if "ms" in v)[:4]
            print(shape, part, "current %.4f" % row[f"{part}_current_ms"], "best", best,
                  "errors", [k for k, v in row[part].items() if "error" in v][:3], flush=True)
        out["rows"].append(row)
    with open(os.path.join(os.environ.get("OUT", "."), "probe_maxnreg.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
