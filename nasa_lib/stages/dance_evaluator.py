"""Stage ``dance_evaluator@<run>``: the DANCE evaluator network, trained on the run's data set;
the epoch with the lowest validation loss is kept, its error on held-out architectures reported;
the per-epoch losses also go to a DVCLive folder (``dvc plots show``)."""
from __future__ import annotations

import tempfile

from ..artifacts import DanceEvaluatorMetrics
from ..io import timing_path, without_timing, write_json
from . import paths
from .common import declare, load_for_run, setup_run
from .params import PARAMS_FILE, StageParams

STAGE_PARAMS = ("common.seed", "common.num_threads", "dance.evaluator_hidden", "dance.evaluator_depth",
                "dance.evaluator_epochs", "dance.evaluator_batch_size", "dance.evaluator_lr",
                "dance.evaluator_weight_decay", "dance_runs.{run}")


def declared(run: str) -> tuple[str, ...]:
    return declare(STAGE_PARAMS, run)


def load(run: str, params_file=PARAMS_FILE) -> StageParams:
    return load_for_run(STAGE_PARAMS, run, "dance_runs", params_file)


def run(p: StageParams, run: str) -> tuple:
    """Train; returns (evaluator, its report, the data set, the design space)."""
    from ..dance import DanceDataset, load_design_space, save_evaluator, train_evaluator
    setup_run(p)
    spec, d = p.dance_runs[run], p.dance
    dataset_in = paths.dance_dataset(run)
    data = DanceDataset.load(dataset_in)
    ds = load_design_space(spec.design_space)
    if data.meta["design_space"]["name"] != ds.name or data.meta["space"] != spec.space:
        raise ValueError(f"{dataset_in} was made for {data.meta['space']} x {data.meta['design_space']['name']}, "
                         f"not {spec.space} x {ds.name}; rerun the dance_dataset stage")
    with tempfile.TemporaryDirectory(prefix="dance_evaluator_") as tmp:
        evaluator, report = train_evaluator(data, ds, tmp, d.evaluator_hidden, d.evaluator_depth, d.evaluator_epochs,
                                            d.evaluator_batch_size, d.evaluator_lr, d.evaluator_weight_decay,
                                            p.common.seed, live_dir=paths.dance_dvclive(run))
    meta = {k: data.meta[k] for k in ("space", "layout", "adder_free_ends", "design_space", "candidates")}
    # the saved report holds no wall times, so the same params give the same evaluator file
    save_evaluator(paths.dance_evaluator(run), evaluator, meta,
                   {k: v for k, v in report.items() if k != "train_seconds"}
                   | {"history": without_timing(report["history"])})
    metrics_out = paths.dance_metrics("evaluator", run)
    DanceEvaluatorMetrics(run=run, space=spec.space, design_space=ds.name, config=report["config"],
                          rows=report["rows"], best_epoch=report["best_epoch"], mape_percent=report["mape_percent"],
                          history=without_timing(report["history"])).write(metrics_out)
    write_json(timing_path(metrics_out), {"train_seconds": report["train_seconds"],
                                          "epoch_seconds": [h["epoch_seconds"] for h in report["history"]]})
    return evaluator, report, data, ds
