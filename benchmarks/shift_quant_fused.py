"""Issue 19: the search step with the DeepShift-Q quantisers fused into one Triton kernel each
(``nasa_lib/ops/_quant_triton.py``) against the PyTorch operators, beside OnlyConv's step, on CUDA.

    python3 benchmarks/shift_quant_fused.py --out benchmarks/results/shift_quant_fused_h200_issue19.json

For soft mode (all 19 candidates, FBNet; the paper profiles' default) and hard mode (2 active
paths, the NASA code's), on the CIFAR layout at batch 128 (``benchmarks/adder.py``'s supernet
step): rounds of ``--steps`` steps each of OnlyConv, Hybrid-All with the PyTorch quantisers and
Hybrid-All with the fused ones, interleaved, so that the host's momentary speed hits all three
alike (the order alternates from round to round); per round each Hybrid-All time over OnlyConv's
in that round, and the fused over the PyTorch quantisers, with their medians over rounds (the
host's speed drifts by up to 2x within a run, so only ratios within a round compare).  One profiled step per
variant counts its kernel launches.
"""
from __future__ import annotations

import os
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adder as B  # noqa: E402
from nasa_lib.ops import quant  # noqa: E402

VARIANTS = (("OnlyConv", True), ("Hybrid-All", False), ("Hybrid-All", True))


def _label(space: str, fused: bool) -> str:
    return space if space == "OnlyConv" else f"{space} ({'fused' if fused else 'pytorch'} quantisers)"


def _launches(step, i: int, device) -> int:
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        step(i)
        B._sync(device)
    return sum(e.count for e in prof.key_averages() if e.key in ("cudaLaunchKernel", "cuLaunchKernel",
                                                                   "cuLaunchKernelEx"))


def run_mode(mode: str, device, batch: int, rounds: int, steps: int) -> dict:
    steppers = {}
    for space, fused in VARIANTS:
        if space not in steppers:
            quant.FUSED_QUANT = fused
            steppers[space] = B._supernet_stepper(space, device, batch, mode)[0]

    def enter(fused):
        return lambda: setattr(quant, "FUSED_QUANT", fused)

    per_round, i = B.interleaved_rounds({_label(space, fused): (enter(fused), steppers[space])
                                         for space, fused in VARIANTS}, device, rounds, steps)
    launches = {}
    for space, fused in VARIANTS:
        quant.FUSED_QUANT = fused
        launches[_label(space, fused)] = _launches(steppers[space], i, device)
        i += 1
    quant.FUSED_QUANT = True
    med = {k: statistics.median(v) for k, v in per_round.items()}
    base = per_round["OnlyConv"]
    paired = {k: [a / b for a, b in zip(v, base)] for k, v in per_round.items() if k != "OnlyConv"}
    pt, fu = _label("Hybrid-All", False), _label("Hybrid-All", True)
    fused_over = [a / b for a, b in zip(per_round[fu], per_round[pt])]
    return {"mode": mode, "batch": batch, "rounds": rounds, "steps_per_round": steps,
            "ms_per_step_per_round": per_round, "ms_per_step_median": med,
            "ratio_to_OnlyConv_of_medians": {k: v / med["OnlyConv"] for k, v in med.items()},
            "ratio_to_OnlyConv_per_round": paired,
            "ratio_to_OnlyConv_median_of_rounds": {k: statistics.median(v) for k, v in paired.items()},
            "fused_over_pytorch_per_round": fused_over,
            "fused_over_pytorch_median_of_rounds": statistics.median(fused_over),
            "kernel_launches_per_step": launches}


def describe(rec: dict) -> str:
    return (f"{({k: round(v, 1) for k, v in rec['ms_per_step_median'].items()})} ratio to OnlyConv, "
            f"median of rounds: {({k: round(v, 3) for k, v in rec['ratio_to_OnlyConv_median_of_rounds'].items()})} "
            f"fused / pytorch: {round(rec['fused_over_pytorch_median_of_rounds'], 3)} "
            f"{rec['kernel_launches_per_step']}")


def main() -> None:
    B.search_step_cli(__doc__, run_mode, describe, rounds=5)


if __name__ == "__main__":
    main()
