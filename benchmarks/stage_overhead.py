"""CPU time a pipeline stage spends beyond the arithmetic of its network, and the settings that cut
it (issue 16's time target): the measurement behind ``nasa_lib/_kernel_exit.py``, ``MALLOC_VARIABLES``
in ``nasa_lib/stages/notebook.py``, the unfilled new tensors of ``nasa_lib/nas/runner.py`` and the
in-place straight-through rounding of ``nasa_lib/ops/quant.py``.

    python benchmarks/stage_overhead.py ROOT --before OLD_ROOT --out benchmarks/results/stage_overhead.json

ROOT and OLD_ROOT are checkouts with the pipeline's ``data/``: OLD_ROOT's code is the one before the
changes (for the ``before`` variant).  The variants run interleaved, round by round, so that the
machine's load falls on all alike; each run is a fresh process, timed by its wall and CPU time
(user + system, the figure load disturbs least); medians reported:

* ``exit``: a process that imports PyTorch and Lightning (as every stage's kernel does), from the
  end of its work to its exit, with the interpreter's normal teardown and with the quick exit;
* ``pretrain``: the pipeline's own pretrain stage (``pretrain@Hybrid-All``, seed 0, shortened to
  ``--epochs`` PGP epochs, one thread): ``before`` (OLD_ROOT's code, malloc's default thresholds),
  ``after`` (ROOT's code, the kernel's malloc thresholds), ``after_default_malloc`` and
  ``after_filled`` (ROOT's code with PyTorch's NaN fill of new tensors back on).  Every variant's
  final validation accuracy must come out the same: none of them changes a number.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

EXIT_CODE = """
import sys, time
if {quick}:
    from nasa_lib._kernel_exit import install
    install()
import torch, pytorch_lightning
sys.stderr.write("T%r\\n" % time.time())
"""

PRETRAIN_CODE = """
import contextlib, json, sys, time
sys.path.insert(0, {here!r})
from pathlib import Path
import stage_workspace
work = stage_workspace.enter(Path({root!r}), "stage_overhead_" + {tag!r}, {sets!r})
import shutil; shutil.rmtree(work / "ckpt", ignore_errors=True)
from nasa_lib.stages import pretrain
if {filled}:                            # the NaN fill back on, after build_trainer turned it off
    import torch
    import nasa_lib.nas as nas           # stages.common imports build_trainer from here at each call
    build = nas.build_trainer
    def build_filled(*a, **k):
        trainer = build(*a, **k)
        torch.utils.deterministic.fill_uninitialized_memory = True
        return trainer
    nas.build_trainer = build_filled
p = pretrain.load("Hybrid-All", "params.yaml")
t0 = time.perf_counter()
with contextlib.redirect_stdout(sys.stderr):
    m = pretrain.run(p, "Hybrid-All", 0, params_file="params.yaml")
print(json.dumps({{"wall_s": time.perf_counter() - t0, "final_val_acc": m.history[-1]["val_acc"]}}))
"""


def _env(malloc: bool) -> dict:
    from nasa_lib.stages.notebook import MALLOC_VARIABLES
    env = {k: v for k, v in os.environ.items() if k not in MALLOC_VARIABLES}
    env.update({"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    if malloc:
        env.update(MALLOC_VARIABLES)
    return env


def exit_seconds(quick: bool) -> float:
    t0 = time.time()
    done = subprocess.run([sys.executable, "-c", EXIT_CODE.format(quick=quick)], capture_output=True, text=True,
                          check=True, env=_env(False))
    t1 = time.time()
    marks = [line for line in done.stderr.splitlines() if line.startswith("T")]
    return t1 - float(marks[-1][1:])


def pretrain_run(root: Path, tag: str, malloc: bool, filled: bool, epochs: int) -> dict:
    phase = max(1, epochs // 3)
    sets = [f"pretrain.epochs={epochs}", f"pretrain.mult_epochs={phase}", f"pretrain.adder_epochs={phase}"]
    code = PRETRAIN_CODE.format(here=str(HERE), root=str(root), tag=tag, sets=sets, filled=filled)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=_env(malloc))
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    out["process_wall_s"] = wall
    out["process_cpu_s"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return out


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("root", type=Path)
    ap.add_argument("--before", type=Path, required=True, help="a checkout with the code before the changes")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--exit-rounds", type=int, default=5)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args(argv)
    exits = {"teardown": [], "quick": []}
    for _ in range(args.exit_rounds):
        exits["teardown"].append(exit_seconds(False))
        exits["quick"].append(exit_seconds(True))
    variants = {"before": (args.before, False, False), "after": (args.root, True, False),
                "after_default_malloc": (args.root, False, False), "after_filled": (args.root, True, True)}
    runs = {k: [] for k in variants}
    names = list(variants)
    for i in range(args.rounds):
        for name in names[i % len(names):] + names[:i % len(names)]:      # a different order each round
            root, malloc, filled = variants[name]
            runs[name].append(pretrain_run(root.resolve(), name, malloc, filled, args.epochs))
            print(name, runs[name][-1], file=sys.stderr, flush=True)

    def med(name, key):
        return statistics.median(r[key] for r in runs[name])
    result = {
        "command": "python benchmarks/stage_overhead.py ROOT --before OLD_ROOT" + (f" --out {args.out}" if args.out else ""),
        "machine": {"platform": platform.platform(), "python": platform.python_version(), "cpus": os.cpu_count(),
                    "load_average_at_end": os.getloadavg()},
        "exit_seconds": {k: {"median": statistics.median(v), "all": v} for k, v in exits.items()},
        "exit_saved_seconds_median": statistics.median(exits["teardown"]) - statistics.median(exits["quick"]),
        "pretrain_hybrid_all": {
            "epochs": args.epochs, "rounds": args.rounds,
            "median_cpu_s": {k: med(k, "process_cpu_s") for k in variants},
            "median_wall_s": {k: med(k, "process_wall_s") for k in variants},
            "cpu_speedup_after_vs_before": med("before", "process_cpu_s") / med("after", "process_cpu_s"),
            "cpu_saved_by_malloc_percent": 100 * (1 - med("after", "process_cpu_s") / med("after_default_malloc", "process_cpu_s")),
            "cpu_saved_by_no_fill_percent": 100 * (1 - med("after", "process_cpu_s") / med("after_filled", "process_cpu_s")),
            "final_val_acc": {k: sorted({r["final_val_acc"] for r in v}) for k, v in runs.items()},
            "runs": runs},
    }
    text = json.dumps(result, indent=1)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    return result


if __name__ == "__main__":
    main()
