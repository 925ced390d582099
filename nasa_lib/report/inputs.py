"""What the report reads: the metrics files the other stages wrote, nothing else (plus the search
stages' alpha histories and the retrained checkpoints, which are DVC outputs too).

Every file is remembered with the path it was read from (as given, e.g.
``reports/metrics/retrain/Hybrid-All.json``), so that each number the report prints can name its
source and a test can read it back.  Wall times (``reports/timing/...``) are loaded separately:
they differ from run to run, so they never enter ``REPORT.md`` (see :mod:`.build`).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path


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


def read_json(path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"{path} is missing: run the stage that writes it first") from None
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON ({err.msg} at line {err.lineno}); rerun its stage") from None


def _folder(folder: Path, required: tuple) -> dict[str, Source]:
    out = {}
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        doc = read_json(path)
        missing = [k for k in required if k not in doc]
        if missing:
            raise ValueError(f"{path} lacks {', '.join(missing)}: it was not written by this version of its stage")
        out[path.stem] = Source(str(path), doc)
    return out


def classify_dance(doc: dict) -> str | None:
    """Which DANCE stage wrote a metrics document (by the keys only that stage writes)."""
    if "lambdas" in doc and "runs" in doc:
        return "coexplore"
    if "mape_percent" in doc and "best_epoch" in doc:
        return "evaluator"
    if "designs_per_arch" in doc and "n_archs" in doc:
        return "dataset"
    return None


def load_outputs(profile: str, metrics_dir="reports/metrics", artifacts_dir="artifacts") -> PipelineOutputs:
    """Read every stage's metrics under ``metrics_dir`` (and the alpha histories and checkpoints
    under ``artifacts_dir``).  The data stage is required; any other stage may be absent."""
    if not isinstance(profile, str) or not profile:
        raise ValueError(f"profile={profile!r} is not valid; it must be a non-empty string (params.yaml: profile)")
    metrics, artifacts = Path(metrics_dir), Path(artifacts_dir)
    data_path = metrics / "data.json"
    out = PipelineOutputs(profile=profile, data=Source(str(data_path), read_json(data_path)))
    for key in ("name", "num_classes"):
        if key not in out.data.doc:
            raise ValueError(f"{data_path} lacks {key!r}: rerun the data stage")
    out.pretrain = _folder(metrics / "pretrain", ("space", "pgp", "history"))
    out.search = _folder(metrics / "search", ("space", "arch", "history"))
    out.retrain = _folder(metrics / "retrain", ("arch_source", "arch", "test_acc", "params"))
    hw_path = metrics / "hw_mapping.json"
    if hw_path.exists():
        out.hw = Source(str(hw_path), read_json(hw_path))
        if "rows" not in out.hw.doc:
            raise ValueError(f"{hw_path} lacks 'rows': rerun the hw_mapping stage")
    for run in out.search:
        alpha = artifacts / "search" / run / "alpha_history.json"
        if alpha.exists():
            out.alpha[run] = Source(str(alpha), read_json(alpha))
    for run in out.retrain:
        ckpt = artifacts / "retrain" / run / "model.pt"
        if ckpt.exists():
            out.checkpoints[run] = str(ckpt)
    dance_dir = metrics / "dance"
    for path in sorted(dance_dir.rglob("*.json")) if dance_dir.is_dir() else []:
        doc = read_json(path)
        kind = classify_dance(doc)
        if kind is not None:
            out.dance[kind][str(path.relative_to(dance_dir).with_suffix(""))] = Source(str(path), doc)
    if (artifacts / "dance").is_dir():
        out.dance_artifacts = str(artifacts / "dance")
    return out


def load_timing(timing_dir="reports/timing") -> dict[str, Source]:
    """Every wall-time file (stage path without ``.json`` -> document); empty when none."""
    root = Path(timing_dir)
    if not root.is_dir():
        return {}
    return {str(p.relative_to(root).with_suffix("")): Source(str(p), read_json(p))
            for p in sorted(root.rglob("*.json"))}
