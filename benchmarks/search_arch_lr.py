"""How far the search moves alpha, by architecture learning rate (``search.arch_lr``), on the embedded
default: the measurement behind that parameter's value (issue 16).

    python benchmarks/search_arch_lr.py RESULTS_REPO NAME SEED [section.key=value ...] \\
        >> benchmarks/results/search_arch_lr.jsonl

RESULTS_REPO is a checkout where ``make repro`` has run (its ``artifacts/pretrain/`` supernets and
``data/`` are read, nothing there is written).  In a scratch folder ``RESULTS_REPO/scratch/cfg/NAME``
the run's params.yaml (RESULTS_REPO's, with the overrides) drives the search stage and then the
retrain stage of Hybrid-All for SEED, exactly as the pipeline does.  One JSON line: the overrides,
the search's wall time (s), the derived architecture and cost, how far alpha left uniform (mean
normalised entropy over the layers, 1 = uniform; mean probability of each layer's most likely
candidate), the supernet's validation accuracy and the retrained network's accuracies.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stage_workspace  # noqa: E402

RUN = "Hybrid-All"


def main(argv: list[str]) -> dict:
    root, name, seed, *sets = argv
    root, seed = Path(root).resolve(), int(seed)
    stage_workspace.enter(root, name, sets, links=("data", "artifacts/pretrain"))
    from nasa_lib.stages import retrain, search
    with contextlib.redirect_stdout(sys.stderr):     # the stages' progress lines; stdout is the JSON line
        t0 = time.perf_counter()
        module = search.run(search.load(RUN, "params.yaml"), RUN, seed, params_file="params.yaml")
        search_s = time.perf_counter() - t0
        _, metrics = retrain.run(retrain.load(RUN, "params.yaml"), RUN, seed, params_file="params.yaml")
    spread = module.alpha_spread()
    return {"name": name, "seed": seed, "sets": sets, "search_s": search_s, "arch": module.derived_arch(),
            "cost": module.derived_cost(), "norm_entropy_mean": spread["alpha_entropy"],
            "max_prob_mean": spread["alpha_max_prob"],
            "supernet_val": module.history[-1].get("val_acc"),
            "retrain": {k: v for k, v in metrics.items() if "acc" in k and isinstance(v, float)}}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
