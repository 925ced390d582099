"""Spread of one training stage's epoch times over repeated runs: is there a slow epoch, and when?

    python benchmarks/epoch_spread.py --label after --out benchmarks/results/epoch_spread.json
    python benchmarks/epoch_spread.py --label before --repo /path/to/an/older/checkout --out ...

Copies the repository (``--repo``, default this one) into a scratch folder, materialises the
embedded data, runs the stage's upstream once, then ``dvc repro --force --single-item STAGE``
``--runs`` times on the embedded default's params and reads each run's timing file (epoch wall
times and training images/s, written by the stage itself).  Each ``--label`` is stored under its
own key of the output JSON, so "before" and "after" a change sit side by side.  The machine's
load average before every run is recorded: a slow epoch with a high load average is the machine,
not the stage.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parents[1]


def _timing_file(stage: str) -> str:
    """``retrain_baseline@all-adder-0`` -> ``reports/timing/retrain/all-adder/seed0.json``."""
    kind, _, run_seed = stage.partition("@")
    run, _, seed = run_seed.rpartition("-")
    return f"reports/timing/{kind.replace('retrain_baseline', 'retrain')}/{run}/seed{seed}.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="retrain_baseline@all-adder-0")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--repo", default=str(HERE), help="the checkout whose code runs (default: this one)")
    parser.add_argument("--label", required=True, help="the key of this measurement, e.g. before / after")
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from nasa_lib.stages.workspace import copy_repository

    repo = Path(args.repo).resolve()
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory(prefix="epoch_spread_") as tmp:
        root = copy_repository(repo, Path(tmp) / "repo")
        subprocess.run(["git", "init", "-q"], cwd=root, check=True)
        env = {**os.environ, "PYTHONPATH": str(root), "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
               "DVC_NO_ANALYTICS": "1"}
        subprocess.run([sys.executable, "-m", "nasa_lib.data.materialize", "--dataset", "mnist5k", "--out",
                        "data/mnist5k"], cwd=root, env=env, check=True, capture_output=True)
        first = subprocess.run([str(bin_dir / "dvc"), "repro", args.stage], cwd=root, env=env, capture_output=True,
                               text=True)
        if first.returncode != 0:
            raise SystemExit(first.stdout[-2000:] + first.stderr[-2000:])
        runs = []
        for i in range(args.runs):
            load = os.getloadavg()[0]
            t0 = time.perf_counter()
            done = subprocess.run([str(bin_dir / "dvc"), "repro", "--force", "--single-item", args.stage], cwd=root,
                                  env=env, capture_output=True, text=True)
            if done.returncode != 0:
                raise SystemExit(done.stdout[-2000:] + done.stderr[-2000:])
            timing = json.loads((root / _timing_file(args.stage)).read_text())
            runs.append({"run": i + 1, "load_average_1min_before": round(load, 2),
                         "stage_wall_s": round(time.perf_counter() - t0, 2),
                         "epoch_seconds": [round(s, 3) for s in timing["epoch_seconds"]],
                         "train_images_per_s": [round(s, 1) for s in timing["train_images_per_s"]]})
            print(f"run {i + 1}: epochs {runs[-1]['epoch_seconds']} s, images/s {runs[-1]['train_images_per_s']}",
                  flush=True)
    epochs = [s for r in runs for s in r["epoch_seconds"]]
    rates = [s for r in runs for s in r["train_images_per_s"]]
    summary = {"stage": args.stage, "runs": args.runs, "repo": str(repo),
               "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True,
                                        text=True).stdout.strip() or None,
               "machine": f"{platform.machine()}, {os.cpu_count()} cores",
               "epoch_seconds": {"min": min(epochs), "median": statistics.median(epochs), "max": max(epochs),
                                 "max_over_median": round(max(epochs) / statistics.median(epochs), 2),
                                 "cv": round(statistics.pstdev(epochs) / statistics.mean(epochs), 3)},
               "train_images_per_s": {"min": min(rates), "median": statistics.median(rates), "max": max(rates)},
               "per_run": runs}
    out = Path(args.out)
    doc = json.loads(out.read_text()) if out.exists() else {}
    doc[args.label] = summary
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1) + "\n")
    print(json.dumps({k: v for k, v in summary.items() if k != "per_run"}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
