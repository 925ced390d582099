"""A stage's time with its kernel forked from the runner's zygote against a fresh kernel
(``nasa_lib/stages/kernel_fork.py``, issue 16's time target).

    python benchmarks/kernel_fork.py ROOT --rounds 3 --epochs 6 --out benchmarks/results/kernel_fork.json

ROOT is a checkout with the pipeline's ``data/``.  In a copy of it (``--epochs`` PGP epochs, the
rest of its params.yaml as is) the data stage runs once, then the pipeline's own stage command for
``pretrain@Hybrid-All`` (seed 0) runs ``--rounds`` times each way, one at a time, interleaved
(fork, fresh; fresh, fork; ...): each run's whole command time (what the runner waits for) and the
stage's own fit time (its timing file), medians reported.  The two must end with the same metrics
file, byte for byte.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from jupyter_client.kernelspec import KernelSpecManager

from nasa_lib.stages.kernel_fork import ZYGOTE_VARIABLE, Zygote
from nasa_lib.stages.notebook import KERNEL, kernel_environment
from nasa_lib.stages.workspace import copy_repository


def _stage(root: Path, env: dict, notebook: str, out: str, *params: str) -> float:
    cmd = [sys.executable, "-m", "nasa_lib.stages.notebook", notebook, out, *params]
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"{notebook} failed:\n{done.stderr[-3000:]}")
    if ZYGOTE_VARIABLE in env and "(a fresh kernel" in done.stderr:
        raise SystemExit("the zygote did not fork the kernel: " + done.stderr[-500:])
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="kernel_fork_"))
    try:
        copy_repository(args.root.resolve(), work)
        shutil.copytree(args.root / "data", work / "data", symlinks=True, dirs_exist_ok=True)
        params = yaml.safe_load((work / "params.yaml").read_text())
        third = max(args.epochs // 3, 1)
        params["pretrain"].update(epochs=args.epochs, mult_epochs=third, adder_epochs=third)
        (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
        base = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                "PYTHONPATH": str(work)}
        base.pop(ZYGOTE_VARIABLE, None)
        _stage(work, base, "notebooks/10_data.ipynb", "reports/executed/data.ipynb")
        kernel_env, _ = kernel_environment(work / "params.yaml")
        kernel_env.pop("NASA_LIB_DIE_WITH_PARENT")
        metrics = work / "reports" / "metrics" / "pretrain" / "Hybrid-All" / "seed0.json"
        timing = work / "reports" / "timing" / "pretrain" / "Hybrid-All" / "seed0.json"
        runs = {"fork": [], "fresh": []}
        outputs = {}
        with Zygote(KernelSpecManager().get_kernel_spec(KERNEL).argv, {**base, **kernel_env}) as zygote:
            deadline = time.monotonic() + 180
            while not os.path.exists(zygote.socket) and time.monotonic() < deadline:
                time.sleep(0.1)
            for r in range(args.rounds):
                for mode in (("fork", "fresh") if r % 2 == 0 else ("fresh", "fork")):
                    env = {**base, ZYGOTE_VARIABLE: zygote.socket} if mode == "fork" else base
                    shutil.rmtree(work / params["common"]["checkpoint_root"], ignore_errors=True)
                    command_s = _stage(work, env, "notebooks/20_pretrain.ipynb", "reports/executed/pretrain.ipynb",
                                       "-p", "run", "Hybrid-All", "-p", "seed", "0")
                    stage_s = json.loads(timing.read_text())["wall_s"]
                    runs[mode].append({"command_s": round(command_s, 2), "stage_fit_s": round(stage_s, 2),
                                       "outside_fit_s": round(command_s - stage_s, 2)})
                    outputs.setdefault(mode, metrics.read_bytes())
                    print(mode, runs[mode][-1], flush=True)
        if outputs["fork"] != outputs["fresh"]:
            raise SystemExit("the forked and the fresh kernel wrote different metrics")
        median = {mode: {k: round(statistics.median(r[k] for r in rs), 2) for k in rs[0]} for mode, rs in runs.items()}
        result = {"what": "pretrain@Hybrid-All seed 0 shortened to --epochs PGP epochs, one stage at a time; "
                          "fork: kernel forked from nasa_lib.stages.kernel_fork's zygote; fresh: a new kernel",
                  "epochs": args.epochs, "rounds": args.rounds, "machine": platform.processor() or platform.machine(),
                  "cpus": os.cpu_count(), "same_metrics_bytes": True, "median": median, "runs": runs,
                  "saved_per_stage_s": round(median["fresh"]["command_s"] - median["fork"]["command_s"], 2)}
        print(json.dumps(median), "saved per stage (s):", result["saved_per_stage_s"])
        if args.out:
            args.out.write_text(json.dumps(result, indent=1) + "\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0

if __name__ == "__main__":
    sys.exit(main())
