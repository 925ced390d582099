"""The headline scalars of a run of the pipeline: the one file declared as DVC metrics
(``reports/headline_metrics.json``), so that ``dvc metrics show`` / ``dvc exp show`` print a short,
readable row per experiment instead of every stage's detailed file (those stay plain outputs).

Per trained network: test accuracy (mean and sample standard deviation over the seeds, in %),
and energy (uJ per image), latency (ms per image) and EDP (uJ x ms) on the chunk-based accelerator
with the auto-mapper (mean over the seeds' networks, the main table's realistic setting); per claim:
its verdict; per DANCE co-exploration run: each method's accuracy (%) and cost at each lambda.
Numbers are rounded to 4 significant digits: enough to tell experiments apart, short enough to read."""
from __future__ import annotations

import json

from . import stats
from .inputs import PipelineOutputs
from .tables import network_order


def _round(value):
    return None if value is None else float(f"{float(value):.4g}")


def _mean_sd(values) -> tuple:
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return _round(stats.mean(values)), _round(stats.sample_std(values))


def headline(out: PipelineOutputs, claims) -> dict:
    """The headline scalars (see the module docstring) of ``out`` and its evaluated ``claims``."""
    networks = {}
    for run in network_order(out):
        seeds = out.per_seed("retrain", run)
        acc_mean, acc_sd = _mean_sd([100 * s.doc["test_acc"] for s in seeds.values()])
        entry = {"test_acc_pct": acc_mean, "test_acc_sd_pct": acc_sd, "seeds": len(seeds)}
        rows = [out.hw_row(run, k, "auto") for k in seeds]
        if rows and all(rows):
            for key in ("energy_uj", "latency_ms", "edp_uj_ms"):
                entry[key] = _mean_sd([r[key] for r in rows])[0]
        networks[run] = entry
    dance = {}
    for name, src in sorted(out.dance["coexplore"].items()):
        by_method = dance.setdefault(src.doc.get("run") or name, {})
        for r in src.doc["runs"]:
            by_method.setdefault(r["method"], {})[f"lambda_{r['lam']:g}"] = {
                "accuracy_pct": _round(r["accuracy"]), f"cost_{src.doc.get('cost', 'value')}": _round(r["cost_value"])}
    doc = {"profile": out.profile, "networks": networks, "claims": {c.id: c.verdict for c in claims}}
    if dance:
        doc["dance"] = dance
    return doc


def headline_json(out: PipelineOutputs, claims) -> str:
    return json.dumps(headline(out, claims), indent=1, sort_keys=False) + "\n"
