"""Stage ``hw_mapping``: every retrained network of ``runs`` and ``baselines`` (every seed) mapped on the
chunk-based accelerator (auto-mapper and its ablations) and on the multiplier-only baseline.

The networks come from ``params.yaml``'s run lists, never from folder listings: a run removed
from ``runs`` is gone from the table even while its old outputs stay on disk."""
from __future__ import annotations

from ..artifacts import HwMappingMetrics, RetrainMetrics
from ..layerspec import load_specs, total_op_counts
from . import paths
from .params import PARAMS_FILE, StageParams, stage_params

STAGE_PARAMS = ("hw_mapping", "runs", "baselines", "seeds")
MODES = ("auto", "fixed_dataflow", "flops_proportional", "multiplier_only")


def load(params_file=PARAMS_FILE) -> StageParams:
    return stage_params(STAGE_PARAMS, params_file)


def networks(p: StageParams) -> list[str]:
    """The retrained networks (the searches and the baselines), sorted by name."""
    return sorted({*p.runs, *p.baselines})


def run(p: StageParams) -> dict:
    from ..hw import map_network
    hw = p.hw_mapping
    rows = []
    for name, seed in ((n, s) for n in networks(p) for s in p.seeds):
        metrics = RetrainMetrics.read(paths.retrain_metrics(name, seed))
        specs = load_specs(paths.layer_specs(name, seed))
        settings = {
            "auto": (hw.chunk_accelerator, {"dataflow": "auto", "pe_split": "search"}),
            "fixed_dataflow": (hw.chunk_accelerator, {"dataflow": hw.fixed_dataflow, "pe_split": "search"}),
            "flops_proportional": (hw.chunk_accelerator, {"dataflow": "auto", "pe_split": "flops_proportional"}),
            "multiplier_only": (hw.baseline_accelerator, {"dataflow": "auto", "pe_split": "search"}),
        }
        counts = total_op_counts(specs)
        for mode, (accel, kw) in settings.items():
            r = map_network(specs, accel, objective=hw.objective, **kw)
            rows.append({"network": name, "seed": seed, "arch_source": metrics.arch_source, "mode": mode,
                         "accelerator": r.accelerator, "test_acc": metrics.test_acc,
                         "params": metrics.params, "mult_ops": counts["mult"], "add_ops": counts["add"],
                         "shift_ops": counts["shift"], "energy_uj": r.energy_uj,
                         "energy_breakdown_uj": r.energy_breakdown_uj, "latency_ms": r.latency_ms,
                         "latency_cycles": r.latency_cycles, "throughput_images_per_s": r.throughput_images_per_s,
                         "edp_uj_ms": r.edp_uj_ms, "area_mm2": r.area_mm2, "pe_split": r.pe_split,
                         "dataflow": r.dataflow})
    result = HwMappingMetrics(objective=hw.objective, modes=list(MODES), rows=rows)
    result.write(paths.HW_METRICS)
    return result.to_dict()
