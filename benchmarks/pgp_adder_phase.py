"""PGP's adder phase, by the paths it trains through (``pretrain.adder_phase_paths``), on the embedded
default: the measurement behind that parameter's value (issue 16).

    python benchmarks/pgp_adder_phase.py ROOT NAME RUN SEED [section.key=value ...] \\
        >> benchmarks/results/pgp_adder_phase.jsonl

ROOT is a checkout with the pipeline's ``data/`` (its code is the one measured).  In a scratch folder
``ROOT/scratch/cfg/NAME`` the run's params.yaml (ROOT's, with the overrides) drives the pretrain stage
of RUN for SEED exactly as the pipeline does.  One JSON line: the overrides, the wall time (s) and per
epoch the phase, the training loss and accuracy, and the supernet's validation accuracy (mean, min and
max over its fixed evaluation paths, and the widest path).
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

KEEP = ("epoch", "phase", "train_loss", "train_acc", "val_acc", "val_acc_paths_min", "val_acc_paths_max",
        "val_acc_widest")


def main(argv: list[str]) -> dict:
    root, name, run, seed, *sets = argv
    root, seed = Path(root).resolve(), int(seed)
    stage_workspace.enter(root, name, sets)
    from nasa_lib.stages import pretrain
    with contextlib.redirect_stdout(sys.stderr):     # the stage's progress lines; stdout is the JSON line
        t0 = time.perf_counter()
        module = pretrain.run(pretrain.load(run, "params.yaml"), run, seed, params_file="params.yaml")
        wall = time.perf_counter() - t0
    return {"name": name, "run": run, "seed": seed, "sets": sets, "wall_s": round(wall, 1),
            "final_val_acc": module.history[-1].get("val_acc"),
            "history": [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in h.items() if k in KEEP}
                        for h in module.history]}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))
