"""Stage ``dance_dataset@<run>``: the DANCE evaluator's data set -- architectures sampled from the
run's space, accelerators from its design space, every pair costed exactly by ``nasa_lib.hw``.

The networks' layout needs only the data set's channels, size and classes, read from the data
stage's metrics file (a declared dependency)."""
from __future__ import annotations

from ..artifacts import DanceDatasetMetrics, DataSummary
from ..io import timing_path, write_json
from . import paths
from .common import declare, load_for_run, make_layout, setup_run
from .params import PARAMS_FILE, StageParams

STAGE_PARAMS = ("common.seed", "common.num_threads", "network", "dance.workers", "dance.dataset_seed",
                "dance.n_archs", "dance.designs_per_arch", "dance.dataset_val_fraction",
                "dance.dataset_test_fraction", "dance_runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "dance_runs", params_file)


def build_tables(p: StageParams, run: str):
    """The hardware model's per-layer cost tables of the run's (space, layout, design space)."""
    from ..dance import CostTables
    spec = p.dance_runs[run]
    data = DataSummary.read(paths.DATA_METRICS)
    layout = make_layout(p, data.in_channels, data.input_size, data.num_classes)
    return CostTables(spec.space, layout, spec.design_space, p.network.adder_free_ends, workers=p.dance.workers)


def run(p: StageParams, run: str) -> tuple:
    from ..dance import design_sensitivity, generate_dataset
    setup_run(p)
    d = p.dance
    tables = build_tables(p, run)
    data = generate_dataset(tables, d.n_archs, d.designs_per_arch, d.dataset_seed, d.dataset_val_fraction,
                            d.dataset_test_fraction)
    data.save(paths.dance_dataset(run))
    sensitivity = design_sensitivity(tables, 100, d.dataset_seed)
    meta = data.meta
    metrics = DanceDatasetMetrics(
        run=run, space=meta["space"], seed=meta["seed"], n_archs=meta["n_archs"],
        designs_per_arch=meta["designs_per_arch"], rows=meta["rows"], dropped_infeasible=meta["dropped_infeasible"],
        distinct_designs=meta["distinct_designs"], design_space=tables.ds.describe(),
        layer_tables=tables.n_layer_tables,
        rows_per_split={s: int(len(data.rows(s))) for s in ("train", "val", "test")},
        metric_ranges={m: [float(data.metric(m).min()), float(data.metric(m).max())] for m in meta["metrics"]},
        design_sensitivity=sensitivity)
    metrics.write(paths.dance_metrics("dataset", run))
    write_json(timing_path(paths.dance_metrics("dataset", run)), {**data.timing, "workers": tables.workers})
    data.sensitivity = sensitivity
    return data, tables
