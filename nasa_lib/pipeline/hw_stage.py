"""The hw_mapping stage: every retrained network (searched and baselines) mapped on the
chunk-based accelerator (auto-mapper and its ablations) and on the multiplier-only baseline."""
from __future__ import annotations

import json
from pathlib import Path

from ..hw import map_network
from ..layerspec import load_specs, total_op_counts
from .config import Choice, Text, _coerce
from .stages import write_json

MODES = ("auto", "fixed_dataflow", "flops_proportional", "multiplier_only")
HW_SCHEMA = {"chunk_accelerator": Text(), "baseline_accelerator": Text(),
             "objective": Choice("edp", "energy", "latency"), "fixed_dataflow": Choice("RS", "IS", "WS", "OS")}


def validate_hw(values: dict) -> dict:
    return {k: rule.check(f"hw_mapping.{k}", _coerce(values[k])) for k, rule in HW_SCHEMA.items() if k in values}


def find_networks(retrain_dir, metrics_dir) -> dict[str, dict]:
    """Every retrained network: its layer specs file and its retraining metrics."""
    nets = {}
    for specs in sorted(Path(retrain_dir).glob("*/layer_specs.json")):
        name = specs.parent.name
        metrics = Path(metrics_dir) / f"{name}.json"
        if not metrics.exists():
            raise ValueError(f"{metrics} is missing: the retrain stage of {name!r} did not finish")
        nets[name] = {"specs": specs, "metrics": json.loads(metrics.read_text())}
    if not nets:
        raise ValueError(f"no retrained network under {retrain_dir}; run the retrain stages first")
    return nets


def run_hw_mapping(cfg: dict, retrain_dir, retrain_metrics_dir, metrics_out) -> dict:
    rows = []
    for name, net in find_networks(retrain_dir, retrain_metrics_dir).items():
        specs = load_specs(net["specs"])
        settings = {
            "auto": (cfg["chunk_accelerator"], {"dataflow": "auto", "pe_split": "search"}),
            "fixed_dataflow": (cfg["chunk_accelerator"], {"dataflow": cfg["fixed_dataflow"], "pe_split": "search"}),
            "flops_proportional": (cfg["chunk_accelerator"], {"dataflow": "auto", "pe_split": "flops_proportional"}),
            "multiplier_only": (cfg["baseline_accelerator"], {"dataflow": "auto", "pe_split": "search"}),
        }
        counts = total_op_counts(specs)
        for mode, (accel, kw) in settings.items():
            r = map_network(specs, accel, objective=cfg["objective"], **kw)
            rows.append({"network": name, "arch_source": net["metrics"]["arch_source"], "mode": mode,
                         "accelerator": r.accelerator, "test_acc": net["metrics"]["test_acc"],
                         "params": net["metrics"]["params"], "mult_ops": counts["mult"], "add_ops": counts["add"],
                         "shift_ops": counts["shift"], "energy_uj": r.energy_uj,
                         "energy_breakdown_uj": r.energy_breakdown_uj, "latency_ms": r.latency_ms,
                         "latency_cycles": r.latency_cycles, "throughput_images_per_s": r.throughput_images_per_s,
                         "edp_uj_ms": r.edp_uj_ms, "area_mm2": r.area_mm2, "pe_split": r.pe_split,
                         "dataflow": r.dataflow})
    result = {"objective": cfg["objective"], "modes": list(MODES), "rows": rows}
    write_json(metrics_out, result)
    return result
