"""The declared formats of the pipeline's metrics and artifact files: one dataclass per file kind.

A stage writes a file only through its dataclass (:meth:`JsonArtifact.write`: atomic, fields in
declaration order, the suite's one JSON layout), and the report and later stages read it only
through the same dataclass (:meth:`JsonArtifact.read`): a missing file, malformed JSON, a missing
field or a field this version does not know is an error naming the file and the stage to rerun,
never a NaN, a zero or an empty figure downstream.  Test fixtures build the same dataclasses.

Field order is the file's key order, so the files are byte-identical to what the stages wrote
before these formats were declared.  Nested records (training histories, hardware rows, DANCE
runs) stay plain JSON objects: their producers (``nasa_lib.nas``, ``nasa_lib.hw``,
``nasa_lib.dance``) define them.  Two artifacts have their format owners lower down:
architectures (``nasa_lib.space.save_arch`` / ``load_arch``) and layer specs
(``nasa_lib.layerspec.save_specs`` / ``load_specs``).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, ClassVar

from .io import read_json, write_json


class ArtifactError(ValueError):
    """A pipeline file that is missing or not in its declared format."""


class JsonArtifact:
    """Read / write of a dataclass as one JSON object whose keys are exactly its fields."""

    STAGE: ClassVar[str] = "its stage"      # named in errors: what to rerun

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    def write(self, path) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def from_dict(cls, doc: Any, source: str = "<memory>"):
        if not isinstance(doc, dict):
            raise ArtifactError(f"{source} is not a JSON object; rerun {cls.STAGE}")
        names = [f.name for f in dataclasses.fields(cls)]
        missing = [n for n in names if n not in doc]
        unknown = [k for k in doc if k not in names]
        if missing:
            raise ArtifactError(f"{source} lacks {', '.join(map(repr, missing))}: it was not written by this "
                                f"version of {cls.STAGE}; rerun it")
        if unknown:
            raise ArtifactError(f"{source} has fields this version does not know ({', '.join(map(repr, unknown))}); "
                                f"rerun {cls.STAGE}")
        return cls(**{n: doc[n] for n in names})

    @classmethod
    def read(cls, path):
        try:
            doc = read_json(path)
        except ValueError as err:
            raise ArtifactError(str(err)) from None
        return cls.from_dict(doc, str(path))


@dataclass
class DataSummary(JsonArtifact):
    """``reports/metrics/data.json``: the data set and its splits."""
    STAGE: ClassVar[str] = "the data stage"
    name: str
    in_channels: int
    input_size: int
    num_classes: int
    augment: str
    verify: str
    sizes: dict
    mean: list
    std: list


@dataclass
class DataSplits(JsonArtifact):
    """``artifacts/data/splits.json``: image indices of every split."""
    STAGE: ClassVar[str] = "the data stage"
    train: list
    val: list
    weight: list
    arch: list
    test: list


@dataclass
class PretrainMetrics(JsonArtifact):
    """``reports/metrics/pretrain/<run>/seed<k>.json``."""
    STAGE: ClassVar[str] = "the pretrain stage"
    run: str
    seed: int
    space: str
    pgp: bool
    epochs: int
    final_val_acc: float | None
    schedule: dict
    history: list


@dataclass
class SearchMetrics(JsonArtifact):
    """``reports/metrics/search/<run>/seed<k>.json``."""
    STAGE: ClassVar[str] = "the search stage"
    run: str
    seed: int
    space: str
    mode: str
    arch: list
    derived_cost: float
    cost_unit: str
    final_val_acc: float | None
    history: list


@dataclass
class AlphaHistory(JsonArtifact):
    """``artifacts/search/<run>/alpha_history.json``: candidate probabilities per layer and epoch."""
    STAGE: ClassVar[str] = "the search stage"
    candidates: list
    probabilities_per_epoch: list


@dataclass
class RetrainMetrics(JsonArtifact):
    """``reports/metrics/retrain/<run or baseline>/seed<k>.json``."""
    STAGE: ClassVar[str] = "the retrain stage"
    run: str
    seed: int
    arch_source: str
    arch: list
    test_acc: float
    final_val_acc: float | None
    epochs: int
    params: int
    mult_ops: float
    add_ops: float
    shift_ops: float
    history: list


@dataclass
class SweepMetrics(JsonArtifact):
    """``reports/metrics/sweep/<run>/hw<hw_weight>/seed<k>.json``: one point of the cost-weight
    sweep: the search of ``run`` at ``hw_weight`` from the supernet of ``seed``, and the network it
    derived retrained with the retrain recipe and the same seed."""
    STAGE: ClassVar[str] = "the sweep stage"
    run: str
    seed: int
    hw_weight: float
    space: str
    arch: list
    derived_cost: float
    cost_unit: str
    search_val_acc: float | None
    test_acc: float
    epochs: int
    search_history: list
    retrain_history: list


@dataclass
class RandomArchMetrics(JsonArtifact):
    """``reports/metrics/random/<run>/draw<d>.json``: an architecture drawn uniformly from the
    space of ``run`` among those whose cost is within ``tolerance`` of ``target_cost`` (the searched
    network of seed ``target_seed``), retrained with the retrain recipe and seed ``seed``."""
    STAGE: ClassVar[str] = "the random_arch stage"
    run: str
    draw: int
    seed: int
    target_seed: int
    space: str
    arch: list
    cost: float
    target_cost: float
    tolerance: float
    cost_unit: str
    candidates_tried: int
    test_acc: float
    epochs: int
    history: list


@dataclass
class HwMappingMetrics(JsonArtifact):
    """``reports/metrics/hw_mapping.json``: one row per network, seed, setting of the cost model's
    switches and mapping mode; the settings' switches; the NASA-F reference comparison."""
    STAGE: ClassVar[str] = "the hw_mapping stage"
    objective: str
    modes: list
    rows: list
    settings: dict
    sensitivity: list
    nasaf_comparison: dict


@dataclass
class DanceDatasetMetrics(JsonArtifact):
    """``reports/metrics/dance/dataset_<run>.json``."""
    STAGE: ClassVar[str] = "the dance_dataset stage"
    run: str
    space: str
    seed: int
    n_archs: int
    designs_per_arch: int
    rows: int
    dropped_infeasible: int
    distinct_designs: int
    design_space: dict
    layer_tables: int
    rows_per_split: dict
    metric_ranges: dict
    design_sensitivity: dict


@dataclass
class DanceEvaluatorMetrics(JsonArtifact):
    """``reports/metrics/dance/evaluator_<run>.json``."""
    STAGE: ClassVar[str] = "the dance_evaluator stage"
    run: str
    space: str
    design_space: str
    config: dict
    rows: dict
    best_epoch: int
    mape_percent: dict
    history: list


@dataclass
class DanceCoexploreResults(JsonArtifact):
    """``artifacts/dance/<run>/coexplore.json`` (every run with its history) and, with the
    histories dropped, ``reports/metrics/dance/coexplore_<run>.json`` (runs last)."""
    STAGE: ClassVar[str] = "the dance_coexplore stage"
    run: str
    space: str
    design_space: dict
    cost: str
    lambdas: list
    evaluator_mape_percent: dict | None
    runs: list
    joint: dict
    matched: list
    reference_design: dict

    def metrics(self) -> "DanceCoexploreMetrics":
        """The metrics file: the same fields with ``runs`` last and without their histories."""
        doc = {k: v for k, v in self.to_dict().items() if k != "runs"}
        return DanceCoexploreMetrics(**doc, runs=[{k: v for k, v in r.items() if k != "history"} for r in self.runs])


@dataclass
class DanceCoexploreMetrics(JsonArtifact):
    """``reports/metrics/dance/coexplore_<run>.json``: :class:`DanceCoexploreResults` without the
    runs' histories."""
    STAGE: ClassVar[str] = "the dance_coexplore stage"
    run: str
    space: str
    design_space: dict
    cost: str
    lambdas: list
    evaluator_mape_percent: dict | None
    joint: dict
    matched: list
    reference_design: dict
    runs: list


__all__ = ["ArtifactError", "JsonArtifact", "DataSummary", "DataSplits", "PretrainMetrics", "SearchMetrics",
           "AlphaHistory", "RetrainMetrics", "HwMappingMetrics", "DanceDatasetMetrics", "DanceEvaluatorMetrics",
           "DanceCoexploreResults", "DanceCoexploreMetrics"]
