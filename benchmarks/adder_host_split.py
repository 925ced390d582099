"""Issue 19: how one adder forward + backward's host time on CUDA splits (forward, the Python
backward's body, the autograd engine around it), beside cuDNN's convolution and a stub autograd
Function of the same signature that launches nothing in its backward.

    python3 benchmarks/adder_host_split.py --out benchmarks/results/adder_host_split_h200_issue19_final5.json

Host ms per call with the GPU queue never drained (mean of ``--calls`` calls after warm-up), per
shape: ``conv_fb``, ``adder_fb``, ``adder_fwd_grad`` (forward with autograd recording, output
dropped), ``adder_backward_body`` (time inside ``_AdderFunction.backward``, by a perf_counter
wrapper, per call of adder_fb), ``stub_fb`` (a Python autograd Function whose forward returns
``x.new_empty`` and whose backward returns two ``empty_like``: the engine's and the Function
machinery's own cost), ``engine_rest = adder_fb - adder_fwd_grad - adder_backward_body``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402
from nasa_lib.ops import adder as A  # noqa: E402


class _Stub(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, w, shape):
        ctx.save_for_backward(x, w)
        return x.new_empty(shape)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, gy):
        x, w = ctx.saved_tensors
        return torch.empty_like(x), torch.empty_like(w), None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--calls", type=int, default=200)
    args = ap.parse_args()
    B.fp32_settings()
    dev = torch.device("cuda")
    rows = []
    for shape in B.ISSUE_SHAPES + B.OWN_SHAPES:
        x, w, gy, stride, pad, groups = B._make(shape, dev)
        conv = lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups)  # noqa: E731
        adder = lambda a, b: A._adder2d(a, b, stride, pad, groups)  # noqa: E731
        stub = lambda a, b: _Stub.apply(a, b, gy.shape)  # noqa: E731
        rec = {"conv_fb": B.host_ms(lambda: B._fwd_bwd(conv, x, w, gy), args.calls, warmup=3),
               "adder_fwd_grad": B.host_ms(lambda: adder(x, w), args.calls, warmup=3),
               "stub_fb": B.host_ms(lambda: B._fwd_bwd(stub, x, w, gy), args.calls, warmup=3)}
        raw = A._AdderFunction.backward
        spent = [0.0]

        def timed(ctx, g):
            t0 = time.perf_counter()
            try:
                return raw(ctx, g)
            finally:
                spent[0] += time.perf_counter() - t0
        A._AdderFunction.backward = staticmethod(timed)
        try:
            B.host_ms(lambda: B._fwd_bwd(adder, x, w, gy), 3, warmup=3)
            spent[0] = 0.0
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for _ in range(args.calls):
                B._fwd_bwd(adder, x, w, gy)
            fb_timed = (time.perf_counter() - t0) * 1e3 / args.calls
            torch.cuda.synchronize()
            rec["adder_backward_body"] = spent[0] * 1e3 / args.calls
            rec["adder_fb_with_body_timer"] = fb_timed
        finally:
            A._AdderFunction.backward = staticmethod(raw)
        rec["adder_fb"] = B.host_ms(lambda: B._fwd_bwd(adder, x, w, gy), args.calls, warmup=3)
        rec["engine_rest"] = rec["adder_fb"] - rec["adder_fwd_grad"] - rec["adder_backward_body"]
        rows.append({"shape": list(shape), "host_ms": rec})
        print(shape, {k: round(v, 4) for k, v in rec.items()}, flush=True)
    with open(args.out, "w") as f:
        json.dump({"versions": B.versions(dev), "method": __doc__.split("\n\n")[2].replace("\n", " "),
                   "shapes": rows}, f, indent=1)


if __name__ == "__main__":
    main()
