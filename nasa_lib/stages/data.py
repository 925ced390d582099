"""Stage ``data``: load and verify the data set, fix the splits every later stage uses.

The first stage of the pipeline, so it checks every value of ``params.yaml`` (it declares every
section): a bad value anywhere fails ``dvc repro`` here, in seconds, before any training.  Its
outputs depend only on ``common`` and ``data``, so a change elsewhere reruns it (seconds) without
changing its files, and nothing downstream reruns on its account."""
from __future__ import annotations

from ..artifacts import DataSplits, DataSummary
from . import paths
from .common import make_datamodule, setup_run
from .params import PARAMS_FILE, SECTIONS, StageParams, stage_params

STAGE_PARAMS = SECTIONS


def load(params_file=PARAMS_FILE) -> StageParams:
    return stage_params(STAGE_PARAMS, params_file)


def run(p: StageParams) -> dict:
    setup_run(p)
    dm = make_datamodule(p)
    dm.setup()
    summary = DataSummary(**dm.summary())
    DataSplits(**{k: [int(i) for i in v] for k, v in dm.split_indices.items()}).write(paths.SPLITS)
    summary.write(paths.DATA_METRICS)
    return {"datamodule": dm, "summary": summary.to_dict()}
