"""Issue 19 A/B: the depthwise weight-gradient rule (``_adder_triton.CONFIG["dw_conv_wgrad_min_pq"]``:
the convolution weight gradient for depthwise layers with at least that many output positions per
plane) against the Triton partial-sum kernel everywhere (the threshold set out of reach) and, where
the rule is not that, the threshold of 64 positions, on the same machine in alternating rounds, on
the H200 (run with the threshold at 64: ``adder_cuda_h200_issue19_ab_dw_wgrad_64.json``; at 256:
``..._ab_dw_wgrad_256.json``):

    OUT=<dir> python3 benchmarks/adder_probes/ab_dw_wgrad_route.py   # -> $OUT/ab_dw_wgrad_route.json

* per depthwise shape of ``benchmarks/adder.py``: ``--rounds`` rounds, each timing conv and the
  adder under both settings as ``adder.isolated_event_ms`` does (forward + backward, GPU drained
  before each call; the setting is switched and three calls warm the layer's launch plans before
  each timing), the order alternating; per-round adder / conv ratios;
* the Hybrid-All soft search step (``benchmarks/adder.py``'s) under both settings beside OnlyConv's,
  in ``adder.interleaved_rounds``; per-round ratios.
"""
import json
import os
import statistics
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, "benchmarks")
import adder as B  # noqa: E402
from nasa_lib.ops import _adder_triton as T  # noqa: E402

RULE = T.CONFIG["dw_conv_wgrad_min_pq"]
SETTINGS = {"rule": RULE, "triton everywhere": 1 << 30} | ({"P*Q >= 64": 64} if RULE != 64 else {})


def _set(value):
    return lambda: T.CONFIG.__setitem__("dw_conv_wgrad_min_pq", value)


def shape_rounds(shape, rounds=9, per_round=15) -> dict:
    x, w, gy, stride, pad, groups = B._make(shape, torch.device("cuda"))
    conv = lambda: B._fwd_bwd(lambda a, b: F.conv2d(a, b, None, stride, pad, 1, groups), x, w, gy)  # noqa: E731
    adder = lambda: B._fwd_bwd(lambda a, b: B._adder2d(a, b, stride, pad, groups), x, w, gy)  # noqa: E731
    variants = {"conv": (lambda: None, conv)} | {f"adder ({k})": (_set(v), adder) for k, v in SETTINGS.items()}
    ms = {k: [] for k in variants}
    for i in range(rounds):
        for k in (list(variants) if i % 2 == 0 else list(variants)[::-1]):
            enter, fn = variants[k]
            enter()
            for _ in range(3):
                fn()
            ms[k].append(B.isolated_event_ms(fn, per_round))
    _set(RULE)()
    return {"shape": list(shape), "ms": ms,
            "adder_over_conv": {k: B.ratio_rounds(ms[f"adder ({k})"], ms["conv"]) for k in SETTINGS},
            "rule_over_triton": B.ratio_rounds(ms["adder (rule)"], ms["adder (triton everywhere)"])}


def soft_step(rounds=7, steps=3) -> dict:
    dev = torch.device("cuda")
    only = B._supernet_stepper("OnlyConv", dev, 128, "soft")[0]
    hybrid = B._supernet_stepper("Hybrid-All", dev, 128, "soft")[0]
    variants = {"OnlyConv": (_set(RULE), only)} | {f"Hybrid-All ({k})": (_set(v), hybrid)
                                                    for k, v in SETTINGS.items()}
    per_round, _ = B.interleaved_rounds(variants, dev, rounds, steps)
    _set(RULE)()
    return {"ms_per_step_per_round": per_round,
            "ms_per_step_median": {k: statistics.median(v) for k, v in per_round.items()},
            "over_OnlyConv": {k: B.ratio_rounds(per_round[f"Hybrid-All ({k})"], per_round["OnlyConv"])
                              for k in SETTINGS},
            "rule_over_triton": B.ratio_rounds(per_round["Hybrid-All (rule)"],
                                               per_round["Hybrid-All (triton everywhere)"])}


def main():
    B.fp32_settings()
    dev = torch.device("cuda")
    out = {"versions": B.versions(dev), "method": __doc__.split("\n\n", 2)[2].strip(), "rule_min_pq": RULE,
           "shapes": []}
    for shape in B.ISSUE_SHAPES + B.OWN_SHAPES:
        if shape[1] == shape[6]:  # depthwise
            row = shape_rounds(shape)
            out["shapes"].append(row)
            print(shape, {k: round(v["median"], 2) for k, v in row["adder_over_conv"].items()},
                  "rule / triton", round(row["rule_over_triton"]["median"], 3), flush=True)
    out["soft_step"] = soft_step()
    print("soft", {k: round(v, 1) for k, v in out["soft_step"]["ms_per_step_median"].items()},
          {k: f"{v['median']:.2f} [{v['min']:.2f}, {v['max']:.2f}]" for k, v in out["soft_step"]["over_OnlyConv"].items()},
          "rule / triton", round(out["soft_step"]["rule_over_triton"]["median"], 3), flush=True)
    with open(os.path.join(os.environ.get("OUT", "."), "ab_dw_wgrad_route.json"), "w") as f:
        json.dump(out, f, indent=1)


if __name__ == "__main__":
    main()
