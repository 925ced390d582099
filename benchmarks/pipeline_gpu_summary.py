"""Summarise the pipeline's GPU runs (``benchmarks/results/pipeline_gpu_*.json``, written by
``benchmarks/pipeline_gpu.py``): steady images/s per stage, 2-GPU speed-ups and what NASA's CIFAR-10
recipe costs at those rates.  Writes ``benchmarks/results/pipeline_gpu_summary.json`` and prints the
Markdown table the README shows.

    python benchmarks/pipeline_gpu_summary.py
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
# NASA's CIFAR-10 recipe (SOURCES.md [NASA-code] search.sh, train.sh): epochs, and training images one epoch consumes
# (search: the weight half and the architecture half of the 45,000 training images).
RECIPE = {"pretrain": (120, 45_000), "search": (90, 45_000), "retrain": (650, 50_000)}
RUNS = {
    "h100_1gpu": ("pipeline_gpu_h100_1gpu.json", "H100, 1 GPU (soft search; includes warm-up)"),
    "h200_1gpu": ("pipeline_gpu_h200_1gpu.json", "H200, 1 GPU"),
    "h200_2gpu_syncbn": ("pipeline_gpu_h200_2gpu_syncbn.json", "2x H200, SyncBatchNorm"),
    "h200_2gpu_nosyncbn": ("pipeline_gpu_h200_2gpu_nosyncbn.json", "2x H200, per-GPU BatchNorm"),
    "h200_2gpu_nosyncbn_same_arch": ("pipeline_gpu_h200_2gpu_nosyncbn_retrain_same_arch.json",
                                     "2x H200, per-GPU BatchNorm, retraining the 1-GPU network"),
}


def steady(stage: dict) -> float:
    """Images/s of a stage: the mean over its epochs (PGP pretraining: one epoch per phase)."""
    return statistics.fmean(stage["train_images_per_s"])


def main() -> int:
    runs = {}
    for key, (name, label) in RUNS.items():
        path = RESULTS / name
        if path.exists():
            doc = json.loads(path.read_text())
            runs[key] = {"label": label, "file": name, "device": doc["device"], "devices": doc["devices"],
                         "search_mode": doc["search_mode"], "sync_batchnorm": doc["sync_batchnorm"],
                         "images_per_s": {s: steady(v) for s, v in doc["stages"].items()}}
    for run in runs.values():
        run["recipe_hours"] = {s: RECIPE[s][0] * RECIPE[s][1] / ips / 3600 for s, ips in run["images_per_s"].items()}
        run["recipe_gpu_hours"] = {s: h * run["devices"] for s, h in run["recipe_hours"].items()}
    base = runs.get("h200_1gpu", {}).get("images_per_s", {})
    speedups = {}
    for key in ("h200_2gpu_syncbn", "h200_2gpu_nosyncbn"):
        if key in runs and base:
            speedups[key] = {s: runs[key]["images_per_s"][s] / base[s] for s in base if s in runs[key]["images_per_s"]}
    same = runs.get("h200_2gpu_nosyncbn_same_arch")
    if same and base:
        speedups["h200_2gpu_nosyncbn"]["retrain"] = same["images_per_s"]["retrain"] / base["retrain"]
    summary = {"recipe": {s: {"epochs": e, "images_per_epoch": n} for s, (e, n) in RECIPE.items()},
               "runs": runs, "speedup_2gpu_vs_1gpu_h200": speedups,
               "speedup_note": "retraining speed-ups compare the same network on 1 and 2 GPUs; per-process batch "
                               "sizes are the paper's (128, 196), so 2 GPUs process twice the images per step"}
    (RESULTS / "pipeline_gpu_summary.json").write_text(json.dumps(summary, indent=1))
    stages = ("pretrain", "search", "retrain")
    print("| run | " + " | ".join(f"{s}: images/s (recipe hours)" for s in stages) + " |")
    print("| --- " * 4 + "|")
    for key, run in runs.items():
        if key == "h200_2gpu_nosyncbn_same_arch":
            continue
        cells = []
        for s in stages:
            ips = run["images_per_s"].get(s)
            if key == "h200_2gpu_nosyncbn" and s == "retrain" and same:
                ips = same["images_per_s"]["retrain"]
            sp = speedups.get(key, {}).get(s)
            cells.append("" if ips is None else f"{ips:,.0f} ({RECIPE[s][0] * RECIPE[s][1] / ips / 3600:.2f} h)"
                         + (f", {sp:.2f}x" if sp else ""))
        print(f"| {run['label']} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
