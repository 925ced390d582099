"""Issue 19: how much of the Hybrid-All / OnlyConv search-step ratio the adder kernels can still
move, on CUDA.

    python3 benchmarks/soft_step_floor.py --out benchmarks/results/soft_step_floor_h200_issue19.json

The two spaces do not do the same work per step: OnlyConv's layers have 8 convolution candidates
(under the default ``elastic`` sharing one weight block per layer, whose expand and depthwise
stages are computed once for all of them), Hybrid-All's have 6 convolution, 6 shift and 6 adder
candidates (three blocks per layer, three times the shared stages).  To separate the space's composition from the adder kernels' speed, this times
three variants on the same supernet step (``benchmarks/adder.py``'s, CIFAR layout, batch 128):

* ``OnlyConv`` and ``Hybrid-All`` as they are;
* ``Hybrid-All, adders as convolutions``: the same Hybrid-All supernet with every adder layer's
  ``adder2d`` call replaced by ``F.conv2d`` of the same input, weight slice, stride, padding and
  groups (cuDNN, FP32): the step Hybrid-All would take if an adder layer cost exactly what a
  convolution of its shape costs.  Its ratio to OnlyConv is the floor that no adder kernel can go
  under; an adder MAC is two FP32 instructions where a convolution's is one FMA, so the kernels'
  own bound lies above it.

in ``--rounds`` interleaved rounds (``adder.interleaved_rounds``: ratios only within a round),
soft mode (all candidates, FBNet; the paper profiles' default) and hard mode (2 active paths, the
NASA code's); per variant one profiled step gives its GPU kernel time (the step without its host
cost) and its kernel launches.
"""
from __future__ import annotations

import os
import statistics
import sys

import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402
from nasa_lib.ops import layers  # noqa: E402

ADDER2D = layers.adder2d
AS_CONV = "Hybrid-All, adders as convolutions"


RATIOS = {"Hybrid-All / OnlyConv": ("Hybrid-All", "OnlyConv"),
          "floor: adders as convolutions / OnlyConv": (AS_CONV, "OnlyConv"),
          "Hybrid-All / adders as convolutions": ("Hybrid-All", AS_CONV)}


def _adder_as_conv(x, weight, stride, padding, groups, eta):
    """An adder layer's call, computed as the convolution of the same shape."""
    return F.conv2d(x, weight, None, stride, padding, 1, groups)


def _use(fn):
    return lambda: setattr(layers, "adder2d", fn)


def run_mode(mode: str, device, batch: int, rounds: int, steps: int) -> dict:
    only = B._supernet_stepper("OnlyConv", device, batch, mode)[0]
    hybrid = B._supernet_stepper("Hybrid-All", device, batch, mode)[0]
    variants = {"OnlyConv": (_use(ADDER2D), only), "Hybrid-All": (_use(ADDER2D), hybrid),
                AS_CONV: (_use(_adder_as_conv), hybrid)}
    try:
        per_round, i = B.interleaved_rounds(variants, device, rounds, steps)
        profiles = {}
        for label, (enter, step) in variants.items():
            enter()
            profiles[label] = B.profile_step(step, device)
    finally:
        layers.adder2d = ADDER2D
    med = {k: statistics.median(v) for k, v in per_round.items()}

    def paired(num, den):
        r = [a / b for a, b in zip(per_round[num], per_round[den])]
        return {"per_round": r, "median": statistics.median(r), "min": min(r), "max": max(r)}

    kernel_ms = {k: p["kernel_ms"] for k, p in profiles.items()}
    return {"mode": mode, "batch": batch, "rounds": rounds, "steps_per_round": steps,
            "ms_per_step_per_round": per_round, "ms_per_step_median": med,
            "wall_ratio": {name: paired(a, b) for name, (a, b) in RATIOS.items()},
            "kernel_ms_per_step": kernel_ms,
            "kernel_ratio": {name: (kernel_ms[a] / kernel_ms[b] if kernel_ms[b] else None)  # None: CPU
                             for name, (a, b) in RATIOS.items()},
            "profile": profiles}


def describe(rec: dict) -> str:
    wall = {k: f"{v['median']:.2f} [{v['min']:.2f}, {v['max']:.2f}]" for k, v in rec["wall_ratio"].items()}
    return (f"ms/step {({k: round(v, 1) for k, v in rec['ms_per_step_median'].items()})} "
            f"wall ratios (median [min, max] of rounds): {wall} "
            f"kernel ms {({k: round(v, 1) for k, v in rec['kernel_ms_per_step'].items()})} "
            f"kernel ratios {({k: v and round(v, 2) for k, v in rec['kernel_ratio'].items()})}")


def main() -> None:
    B.search_step_cli(__doc__, run_mode, describe, rounds=7)


if __name__ == "__main__":
    main()
