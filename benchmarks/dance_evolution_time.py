"""Benchmark: what the evolutionary co-exploration baseline adds to the embedded default's DANCE stage.

On the embedded default, co-exploration costs about 110 pairs per lambda (one per architecture step:
about 28 steps x 4 search epochs), so the evolution gets 110 pair evaluations.  An evaluation's time
is the supernet's validation accuracy of a network (500 MNIST-5k validation images) plus a table
lookup, whatever the weights are, so an untrained supernet of the same size times it faithfully.
The script builds the Hybrid-All chunk problem's cost tables, runs the evolution at both lambdas of
params.yaml on one thread, and writes benchmarks/results/dance_evolution_time.json.

    .venv/bin/python benchmarks/dance_evolution_time.py
"""
from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import torch
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasa_lib.dance import CostTables, supernet_accuracy  # noqa: E402
from nasa_lib.dance.evolution import EvolutionarySearch  # noqa: E402
from nasa_lib.space import FBNetLayout, Supernet  # noqa: E402

EVALUATIONS = 110      # co-exploration's cost evaluations per lambda on the embedded default (see above)


def main() -> None:
    torch.set_num_threads(1)
    p = yaml.safe_load((ROOT / "params.yaml").read_text())
    n, d = p["network"], p["dance"]
    layout = FBNetLayout(width_mult=n["width_mult"], depth_mult=n["depth_mult"], header_channels=n["header_channels"],
                         stem_stride=n["stem_stride"], in_channels=1, input_size=28, num_classes=10)
    t0 = time.perf_counter()
    tables = CostTables("Hybrid-All", layout, "chunk_dance", n["adder_free_ends"], workers=2)
    tables_s = time.perf_counter() - t0
    net = Supernet("Hybrid-All", layout, n["adder_free_ends"], weight_sharing=n["weight_sharing"]).eval()
    g = torch.Generator().manual_seed(0)
    val = [(torch.randn(500, 1, 28, 28, generator=g), torch.randint(0, 10, (500,), generator=g))]

    def score(archs):
        with torch.no_grad():
            return supernet_accuracy(net, tables.candidates, archs, val)
    runs = []
    for lam in (float(x) for x in str(d["lambdas"]).split(",")):
        evo = EvolutionarySearch(tables, score, lam=lam, ref=1.0, cost=d["cost"], cost_form=d["cost_form"],
                                 evaluations=EVALUATIONS, population=d["evolution_population"],
                                 sample_size=d["evolution_sample"], seed=0)
        t0 = time.perf_counter()
        pair = evo.run()
        runs.append({"lam": lam, "evaluations": pair["evaluations"], "networks_scored": pair["distinct_archs_scored"],
                     "seconds": time.perf_counter() - t0})
        print(f"lambda {lam:g}: {runs[-1]['seconds']:.1f} s for {EVALUATIONS} evaluations "
              f"({runs[-1]['networks_scored']} networks scored)")
    doc = {"benchmark": __doc__.split("\n\n")[0], "command": "python benchmarks/dance_evolution_time.py",
           "machine": {"platform": platform.platform(), "python": platform.python_version()},
           "threads": 1, "validation_images": 500, "tables_seconds": tables_s, "runs": runs}
    out = ROOT / "benchmarks/results/dance_evolution_time.json"
    out.write_text(json.dumps(doc, indent=1))
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
