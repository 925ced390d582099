"""Benchmark: the DANCE evaluator's held-out error and its speed, on both design spaces.

Goals (issue 7): mean absolute percentage error at most 5% for latency and energy on held-out
(network, accelerator) pairs of both design spaces, and at least 100,000 designs evaluated per
second on this CPU (batch inference).  For each DANCE run of the embedded default (OnlyConv x
eyeriss_dance, Hybrid-All x chunk_dance; the layout of params.yaml's `network` section on
MNIST-5k) the script builds the data set and trains the evaluator with the sizes of params.yaml's ``dance``
section (exactly what the pipeline stages do; ``--artifacts`` reads what a ``dvc repro`` made), then times batch
inference:

* ``dense``: the evaluator's forward on encoded (network, accelerator) pairs, 65,536 per batch;
* ``from_indices``: the whole path from op indices and design value indices (design encoding
  built in numpy, first layer as a sum of weight rows), 65,536 pairs per batch;
* ``exact_tables``: the exact cost of the same pairs from the mapper's tables (numpy), for scale.

Throughput is the median over 7 repeats after one warm-up, with 1 and with 2 intra-op threads.

Search overhead: one training step of the search (weight step + architecture step, forward and
backward, on a 64-image MNIST-5k batch, hard mode as in params.yaml) of the library's plain
search and of co-exploration (evaluator, generator and exact straight-through cost included),
interleaved step by step so that load from other processes hits both alike; the median ratio is
co-exploration's per-step overhead.
With ``--artifacts DIR`` the data sets and evaluators the pipeline stages wrote
(``DIR/<run>/dataset.npz``, ``DIR/<run>/evaluator.pt``) are loaded instead of rebuilt, and the
held-out error is recomputed from them.

    .venv/bin/python benchmarks/dance_evaluator.py [--artifacts artifacts/dance]
                                                   # writes benchmarks/results/dance_evaluator.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasa_lib.dance import (CostTables, DanceDataset, arch_encoding, generate_dataset,  # noqa: E402
                            load_evaluator, mape, train_evaluator)
from nasa_lib.dance.dataset import check_same_problem  # noqa: E402
from nasa_lib.dance.evaluator import dataset_tensors  # noqa: E402
from nasa_lib.nas import SearchModule  # noqa: E402
from nasa_lib.nas.common import step_generator  # noqa: E402
from nasa_lib.space import FBNetLayout  # noqa: E402

BATCH = 65536
REPEATS = 7
MAPE_GOAL, RATE_GOAL = 5.0, 100_000


def median_rate(fn, n_items: int) -> float:
    fn()
    times = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return n_items / statistics.median(times)


def step_seconds(module, batch, step: int) -> float:
    """One search step without a Trainer: weight step then architecture step, forward + backward."""
    import torch.nn.functional as F
    (xw, yw), (xa, ya) = batch
    t0 = time.perf_counter()
    weights, active = module.sample(step_generator(0, step, salt=1))
    F.cross_entropy(module.supernet(xw, weights=[w.detach() for w in weights], active=active), yw).backward()
    weights, active = module.sample(step_generator(0, step, salt=2))
    loss = F.cross_entropy(module.supernet(xa, weights=weights, active=active), ya)
    (loss + module.hw_weight.float() * module.expected_cost(weights)).backward()
    module.zero_grad(set_to_none=True)
    return time.perf_counter() - t0


def search_overhead(tables, evaluator, meta, layout, search: dict, steps: int = 12) -> dict:
    from nasa_lib.dance import CoExploreModule
    from nasa_lib.data import build_datamodule
    dm = build_datamodule("mnist5k", data_dir=str(ROOT / "data/mnist5k"), batch_size=64, seed=0)
    dm.setup()
    loaders = dm.search_dataloaders()
    batch = (next(iter(loaders["weight"])), next(iter(loaders["arch"])))
    kw = dict(mode=search["mode"], act_num=search["act_num"], seed=0)
    torch.manual_seed(0)
    plain = SearchModule(tables.space, layout.to_dict(), 1, hw_weight=search["hw_weight"], cost_band=None, **kw)
    torch.manual_seed(0)
    co = CoExploreModule(tables.space, layout.to_dict(), 1, tables=tables, evaluator=evaluator, evaluator_meta=meta,
                         lam=1.0, **kw)
    step_seconds(plain, batch, 0), step_seconds(co, batch, 0)        # warm-up
    t_plain, t_co = [], []
    for i in range(1, steps + 1):
        t_plain.append(step_seconds(plain, batch, i))
        t_co.append(step_seconds(co, batch, i))
    ratios = [c / p for c, p in zip(t_co, t_plain)]
    return {"steps": steps, "plain_median_s": statistics.median(t_plain), "coexplore_median_s": statistics.median(t_co),
            "ratio_median": statistics.median(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", default=None, help="load <dir>/<run>/dataset.npz and evaluator.pt")
    args = parser.parse_args()
    params = yaml.safe_load((ROOT / "params.yaml").read_text())
    net, cfg, runs = params["network"], params["dance"], params["dance_runs"]
    layout = FBNetLayout(width_mult=net["width_mult"], depth_mult=net["depth_mult"],
                         header_channels=net["header_channels"], stem_stride=net.get("stem_stride", 1),
                         in_channels=1, input_size=28, num_classes=10)     # MNIST-5k
    out = {"benchmark": "DANCE evaluator: held-out MAPE and designs evaluated per second",
           "command": "python benchmarks/dance_evaluator.py",
           "machine": {"platform": platform.platform(), "python": platform.python_version(),
                       "torch": torch.__version__, "cpu_count": os.cpu_count()},
           "goals": {"mape_percent_latency_energy_max": MAPE_GOAL, "designs_per_second_min": RATE_GOAL},
           "layout": layout.to_dict(), "params": cfg, "artifacts": args.artifacts, "runs": {}}
    for run, item in runs.items():
        torch.set_num_threads(2)
        tables = CostTables(item["space"], layout, item["design_space"], net["adder_free_ends"], workers=cfg["workers"])
        if args.artifacts:
            data = DanceDataset.load(Path(args.artifacts) / run / "dataset.npz")
            check_same_problem(data.meta, tables, f"{args.artifacts}/{run}/dataset.npz")
            data.timing = {"generate_seconds": None}
            evaluator, _meta, report = load_evaluator(Path(args.artifacts) / run / "evaluator.pt")
            with torch.no_grad():         # recompute the held-out error from the loaded evaluator
                for split in ("train", "val", "test"):
                    a_s, d_s, _ = dataset_tensors(data, tables.ds, data.rows(split))
                    report["mape_percent"][split] = mape(evaluator.log_metrics(a_s, d_s).numpy(),
                                                         data.metrics[data.rows(split)])
        else:
            data = generate_dataset(tables, cfg["n_archs"], cfg["designs_per_arch"], cfg["dataset_seed"],
                                    cfg["dataset_val_fraction"], cfg["dataset_test_fraction"])
            with tempfile.TemporaryDirectory() as tmp:
                evaluator, report = train_evaluator(data, tables.ds, tmp, cfg["evaluator_hidden"],
                                                    cfg["evaluator_depth"], cfg["evaluator_epochs"],
                                                    cfg["evaluator_batch_size"], cfg["evaluator_lr"],
                                                    cfg["evaluator_weight_decay"], seed=0)
        test = report["mape_percent"]["test"]
        rng = np.random.default_rng(0)
        pick = rng.integers(0, len(data), BATCH)
        archs, designs = data.archs[pick], data.designs[pick]
        a = torch.from_numpy(arch_encoding(tables.candidates, archs))
        d = torch.from_numpy(tables.ds.encode(designs))
        offsets = np.cumsum([0] + [len(c) for c in tables.candidates[:-1]])
        speed = {}
        for threads in (1, 2):
            torch.set_num_threads(threads)

            def dense():
                with torch.inference_mode():
                    evaluator.log_metrics(a, d)

            def from_indices():
                evaluator.predict_indices(archs, offsets, torch.from_numpy(tables.ds.encode(designs)))

            speed[f"{threads}_threads"] = {"dense": median_rate(dense, BATCH),
                                           "from_indices": median_rate(from_indices, BATCH)}
        exact_rate = median_rate(lambda: tables.costs(archs[:8192], designs[:8192]), 8192)
        torch.set_num_threads(2)
        from nasa_lib.dance.dataset import problem_meta
        overhead = search_overhead(tables, evaluator, problem_meta(tables), layout, params["search"])
        best = max(v for s in speed.values() for v in s.values())
        out["runs"][run] = {
            "space": item["space"], "design_space": item["design_space"], "design_space_size": tables.ds.size,
            "rows": report["rows"], "layer_tables": tables.n_layer_tables, "tables_seconds": tables.build_seconds,
            "generate_seconds": data.timing["generate_seconds"], "workers": tables.workers,
            "evaluator": report["config"], "train_seconds": report.get("train_seconds"),
            "best_epoch": report.get("best_epoch"),
            "mape_percent": report["mape_percent"], "designs_per_second": speed,
            "exact_tables_pairs_per_second": exact_rate, "search_step": overhead,
            "meets": {"mape_latency": test["latency_ms"] <= MAPE_GOAL, "mape_energy": test["energy_uj"] <= MAPE_GOAL,
                      "designs_per_second": best >= RATE_GOAL}}
        print(f"{run}: test MAPE latency {test['latency_ms']:.2f}%, energy {test['energy_uj']:.2f}%, "
              f"area {test['area_mm2']:.2f}%; {speed}; exact tables {exact_rate:.0f} pairs/s; "
              f"search step co/plain {overhead['ratio_median']:.3f}", flush=True)
    path = ROOT / "benchmarks" / "results" / "dance_evaluator.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1))
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
