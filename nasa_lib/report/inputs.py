"""What the report reads: the metrics files the other stages wrote, nothing else (plus the search
stages' alpha histories and the retrained checkpoints, which are DVC outputs too).

Every file is remembered with the path it was read from (as given, e.g.
``reports/metrics/retrain/Hybrid-All.json``), so that each number the report prints can name its
source and a test can read it back.  Wall times (``reports/timing/...``) are loaded separately:
they differ from run to run, so they never enter ``REPORT.md`` (see :mod:`.build`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts import (AlphaHistory, DanceCoexploreMetrics, DanceDatasetMetrics, DanceEvaluatorMetrics,
                         DataSummary, HwMappingMetrics, PretrainMetrics, RetrainMetrics, SearchMetrics)
from ..io import read_json


@dataclass
class Source:
    """A JSON document and the path it came from."""
    path: str
    doc: dict


@dataclass
class PipelineOutputs:
    """The outputs of every stage that ran in this profile (a stage that did not run is empty)."""
    profile: str
    data: Source
    pretrain: dict[str, Source] = field(default_factory=dict)      # run -> pretrain metrics
    search: dict[str, Source] = field(default_factory=dict)        # run -> search metrics
    retrain: dict[str, Source] = field(default_factory=dict)       # run or baseline -> retrain metrics
    hw: Source | None = None                                       # hw_mapping metrics
    alpha: dict[str, Source] = field(default_factory=dict)         # run -> alpha history
    checkpoints: dict[str, str] = field(default_factory=dict)      # run -> retrained model.pt path
    dance: dict[str, dict[str, Source]] = field(default_factory=lambda: {"dataset": {}, "evaluator": {},
                                                                          "coexplore": {}})
    dance_artifacts: str | None = None

    # ---- convenience ------------------------------------------------------------------------
    @property
    def dataset(self) -> str:
        return self.data.doc["name"]

    @property
    def num_classes(self) -> int:
        return int(self.data.doc["num_classes"])

    @property
    def chance_percent(self) -> float:
        return 100.0 / self.num_classes

    def provenance(self) -> str:
        """One line naming the profile and the data set (every figure and table carries it)."""
        sizes = self.data.doc.get("sizes", {})
        size = self.data.doc.get("input_size")
        parts = [f"profile {self.profile}", f"data {self.dataset}"]
        if sizes:
            parts.append(f"{sizes.get('train', '?')} train / {sizes.get('val', '?')} val / "
                         f"{sizes.get('test', '?')} test images")
        if size:
            parts.append(f"{size}x{size} px, {self.num_classes} classes")
        return ", ".join(parts)

    def hw_rows(self, mode: str | None = None) -> list[dict]:
        if self.hw is None:
            return []
        return [r for r in self.hw.doc["rows"] if mode is None or r["mode"] == mode]


def _read(cls, path) -> Source:
    """One pipeline file through its declared format (:mod:`nasa_lib.artifacts`)."""
    return Source(str(path), cls.read(path).to_dict())


def load_outputs(profile: str, runs, baselines, dance_runs, metrics_dir="reports/metrics",
                 artifacts_dir="artifacts") -> PipelineOutputs:
    """Read the outputs of every stage of the runs ``params.yaml`` lists (``runs``: the searches,
    ``baselines``: the fixed networks, ``dance_runs``: the DANCE problems): their metrics files,
    the searches' alpha histories and the retrained checkpoints.  The lists come from params, never
    from folder listings, so outputs of a run no longer listed are not read; a missing or
    malformed file is an error naming it."""
    if not isinstance(profile, str) or not profile:
        raise ValueError(f"profile={profile!r} is not valid; it must be a non-empty string (params.yaml: profile)")
    metrics, artifacts = Path(metrics_dir), Path(artifacts_dir)
    out = PipelineOutputs(profile=profile, data=_read(DataSummary, metrics / "data.json"))
    out.pretrain = {run: _read(PretrainMetrics, metrics / "pretrain" / f"{run}.json") for run in sorted(runs)}
    out.search = {run: _read(SearchMetrics, metrics / "search" / f"{run}.json") for run in sorted(runs)}
    out.retrain = {run: _read(RetrainMetrics, metrics / "retrain" / f"{run}.json")
                   for run in sorted({*runs, *baselines})}
    if out.retrain:     # the hw_mapping stage maps every retrained network
        out.hw = _read(HwMappingMetrics, metrics / "hw_mapping.json")
    out.alpha = {run: _read(AlphaHistory, artifacts / "search" / run / "alpha_history.json") for run in sorted(runs)}
    for run in out.retrain:
        ckpt = artifacts / "retrain" / run / "model.pt"
        if not ckpt.exists():
            raise ValueError(f"{ckpt} is missing: rerun the retrain stage of {run!r}")
        out.checkpoints[run] = str(ckpt)
    dance_dir = metrics / "dance"
    for kind, cls in (("coexplore", DanceCoexploreMetrics), ("dataset", DanceDatasetMetrics),
                      ("evaluator", DanceEvaluatorMetrics)):
        for run in sorted(dance_runs):
            out.dance[kind][f"{kind}_{run}"] = _read(cls, dance_dir / f"{kind}_{run}.json")
    if dance_runs:
        out.dance_artifacts = str(artifacts / "dance")
    return out


def load_timing(timing_dir="reports/timing", names=None) -> dict[str, Source]:
    """Every wall-time file (stage path without ``.json`` -> document) of the runs in ``names``
    (``None``: all); empty when none.  ``dance/<kind>_<run>`` files belong to ``<run>``."""
    root = Path(timing_dir)
    if not root.is_dir():
        return {}
    out = {}
    for p in sorted(root.rglob("*.json")):
        key = str(p.relative_to(root).with_suffix(""))
        run = p.stem.split("_", 1)[1] if p.parent.name == "dance" and "_" in p.stem else p.stem
        if names is None or run in names or p.parent == root:
            out[key] = Source(str(p), read_json(p))
    return out
