"""Benchmark: map a full 22-block CIFAR network on NASA's chunk-based accelerator, PE split included.

Goal (issue 17): at most 4 s on one core with every modelling switch at its realistic default
(issue 5's goal was 30 s, before the switches).  The script pins itself to one core (CPU 0) when
the OS allows it, clears every cache, times the cold ``map_network`` of a Hybrid-All network (the
fixed 7 conv / 8 shift / 7 adder mix below) with the auto-mapper (dataflow per chunk searched,
PE and buffer split searched, EDP objective), also cold under the NASA-F-compatible setting, and
records the figures the issue asks for: Hybrid-All vs all-conv on both accelerators, and the
auto-mapper vs its ablations (each fixed dataflow, FLOPs-proportional PE split).

    taskset -c 0 .venv/bin/python benchmarks/hw_mapping.py      # writes benchmarks/results/hw_mapping.json
"""
from __future__ import annotations

import json
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from nasa_lib import hw  # noqa: E402
from nasa_lib.space import FBNetLayout, arch_layer_specs, check_arch  # noqa: E402

BUDGET_S = 4.0
HYBRID_ALL = ["k3_e1", "shift_k3_e3", "k3_e3", "shift_k5_e3", "add_k3_e3", "k5_e6", "shift_k3_e6", "add_k5_e3",
              "k3_e6", "add_k3_e6", "shift_k3_e3", "add_k3_e3", "k5_e3", "shift_k5_e6", "add_k5_e6", "shift_k3_e6",
              "add_k3_e6", "k3_e6", "add_k3_e3", "shift_k3_e6", "k3_e6", "shift_k3_e6"]
ALL_CONV = [op.replace("shift_", "").replace("add_", "") for op in HYBRID_ALL]


def headline(result: hw.NetworkResult) -> dict:
    d = result.to_dict()
    d.pop("layers")
    return d


def main() -> None:
    pinned = None
    if hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {int(os.environ.get("BENCH_CPU", "0"))})
        except OSError:
            pass
        pinned = sorted(os.sched_getaffinity(0))
    check_arch(HYBRID_ALL, FBNetLayout(), space="Hybrid-All")
    hybrid, conv = arch_layer_specs(HYBRID_ALL), arch_layer_specs(ALL_CONV)
    compute_layers = sum(s.op != "eltwise" for s in hybrid)

    hw.clear_cache()
    t0 = time.perf_counter()
    hw.map_network(hybrid, "nasa_chunk", options=hw.NASAF_COMPATIBLE)
    cold_nasaf_s = time.perf_counter() - t0
    hw.clear_cache()
    t0 = time.perf_counter()
    main_result = hw.map_network(hybrid, "nasa_chunk")
    cold_s = time.perf_counter() - t0

    results = {"hybrid_all": {}, "all_conv": {}}
    timings = {}
    for net, specs in (("hybrid_all", hybrid), ("all_conv", conv)):
        for accel in ("nasa_chunk", "eyeriss_like"):
            t = time.perf_counter()
            r = main_result if (net, accel) == ("hybrid_all", "nasa_chunk") else hw.map_network(specs, accel)
            timings[f"{net}/{accel}"] = time.perf_counter() - t
            results[net][accel] = headline(r)
    ablations = {"auto": headline(main_result)}
    for df in hw.DATAFLOW_NAMES:
        ablations[f"dataflow={df}"] = headline(hw.map_network(hybrid, "nasa_chunk", dataflow=df))
    ablations["pe_split=flops_proportional"] = headline(hw.map_network(hybrid, "nasa_chunk",
                                                                      pe_split="flops_proportional"))
    ablations["dataflow=RS,pe_split=flops_proportional"] = headline(
        hw.map_network(hybrid, "nasa_chunk", dataflow="RS", pe_split="flops_proportional"))

    doc = {
        "benchmark": "map a 22-block CIFAR Hybrid-All network on nasa_chunk (PE and buffer split searched)",
        "command": "taskset -c 0 .venv/bin/python benchmarks/hw_mapping.py",
        "machine": {"platform": platform.platform(), "python": platform.python_version(),
                    "cpu_count": os.cpu_count(), "cpu_affinity": pinned},
        "network": {"arch": HYBRID_ALL, "layer_specs": len(hybrid), "compute_layers": compute_layers,
                    "residual_adds": len(hybrid) - compute_layers},
        "options": hw.ModelOptions().to_dict(),
        "cold_map_network_seconds": cold_s,
        "cold_map_network_seconds_nasaf_compatible": cold_nasaf_s,
        "budget_seconds": BUDGET_S,
        "within_budget": cold_s <= BUDGET_S,
        "search_configurations": main_result.search["configurations"],
        "warm_seconds": timings,
        "results": results,
        "ablations_hybrid_all_on_nasa_chunk": ablations,
        "hybrid_all_layers_on_nasa_chunk": main_result.layers,
    }
    out = ROOT / "benchmarks" / "results" / "hw_mapping.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=1))
    print(f"cold map_network: {cold_s:.2f} s on CPUs {pinned} (budget {BUDGET_S:.0f} s); "
          f"NASA-F-compatible setting {cold_nasaf_s:.2f} s")
    for net in results:
        for accel, r in results[net].items():
            print(f"{net:10s} {accel:12s} {r['energy_uj']:8.1f} uJ  {r['latency_ms']:.3f} ms  "
                  f"EDP {r['edp_uj_ms']:8.1f} uJ*ms  PEs {r['pe_split']}  dataflow {r['dataflow']}")
    for name, r in ablations.items():
        print(f"  {name:40s} {r['energy_uj']:8.1f} uJ  {r['latency_ms']:.3f} ms  EDP {r['edp_uj_ms']:8.1f}  "
              f"PEs {r['pe_split']}")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
