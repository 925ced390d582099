"""What the report reads: the metrics files the other stages wrote, nothing else (plus the search
stages' alpha histories and architecture files and the retrained checkpoints, which are DVC
outputs too).

The training stages run once per (run, seed) (``params.yaml: seeds``), so every pretrain, search
and retrain file is kept per run *and* per seed (``pretrain_seeds[run][seed]``...); the plain
``pretrain[run]``, ``search[run]``, ``retrain[run]``, ``alpha[run]`` and ``checkpoints[run]`` are the
files of the first seed (``seeds[0]``), for what is the same every seed (a run's space, a
baseline's architecture) and for the figures that show one history (alpha evolution, operator
choice, weight distributions; their captions name the seed).  The cost-weight sweep
(``sweep[run][hw_weight][seed]``) and the random architectures (``random[run][draw]``) are read
when ``params.yaml`` lists them.

Every file is remembered with the path it was read from (as given, e.g.
``reports/metrics/retrain/Hybrid-All/seed0.json``), so that each number the report prints can
name its source and a test can read it back.  Wall times (``reports/timing/...``) are loaded
separately: they differ from run to run, so they never enter ``REPORT.md`` (see :mod:`.build`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..artifacts import (AlphaHistory, DanceCoexploreMetrics, DanceDatasetMetrics, DanceEvaluatorMetrics,
                         DataSummary, HwMappingMetrics, PretrainMetrics, RandomArchMetrics, RetrainMetrics,
                         SearchMetrics, SweepMetrics)
from ..io import read_json


@dataclass
class Source:
    """A JSON document and the path it came from."""
    path: str
    doc: dict


STAGES = ("pretrain", "search", "retrain", "alpha")

# the hardware rows' settings and scales (hw_mapping.json)
REALISTIC, NASAF, FLIP = "realistic", "nasaf_compatible", "flip:"
EMBEDDED, PAPER = "embedded", "paper"
SCALES = (EMBEDDED, PAPER)


def row_setting(row: dict) -> str:
    return row.get("setting", REALISTIC)


def row_scale(row: dict) -> str:
    return row.get("scale", EMBEDDED)


@dataclass
class PipelineOutputs:
    """The outputs of every stage that ran in this profile (a stage that did not run is empty)."""
    profile: str
    data: Source
    seeds: list = field(default_factory=lambda: [0])                # params.yaml seeds, in its order
    # the first seed's files (seeds[0]): one history per run
    pretrain: dict[str, Source] = field(default_factory=dict)      # run -> pretrain metrics
    search: dict[str, Source] = field(default_factory=dict)        # run -> search metrics
    retrain: dict[str, Source] = field(default_factory=dict)       # run or baseline -> retrain metrics
    alpha: dict[str, Source] = field(default_factory=dict)         # run -> alpha history
    checkpoints: dict[str, str] = field(default_factory=dict)      # run -> retrained model.pt path
    # every seed's files: run -> seed -> file
    pretrain_seeds: dict[str, dict[int, Source]] = field(default_factory=dict)
    search_seeds: dict[str, dict[int, Source]] = field(default_factory=dict)
    retrain_seeds: dict[str, dict[int, Source]] = field(default_factory=dict)
    alpha_seeds: dict[str, dict[int, Source]] = field(default_factory=dict)
    checkpoint_seeds: dict[str, dict[int, str]] = field(default_factory=dict)
    hw: Source | None = None                                       # hw_mapping metrics
    # the cost-weight sweep: run -> hw_weight (as params.yaml spells it) -> seed -> SweepMetrics
    sweep: dict[str, dict] = field(default_factory=dict)
    sweep_main_hw_weight: float | None = None                      # search.hw_weight: the main search's point
    # searched vs random: run -> draw -> RandomArchMetrics
    random: dict[str, dict[int, Source]] = field(default_factory=dict)
    # run -> (path of its seeds[0] arch.json, the layout in it): the baselines' cost in the sweep's unit
    layouts: dict[str, tuple] = field(default_factory=dict)
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

    @property
    def first_seed(self) -> int:
        """The seed of the single-history figures (alpha evolution, operator choice, weights)."""
        return self.seeds[0]

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

    def per_seed(self, stage: str, run: str) -> dict[int, Source]:
        """Seed -> file of ``stage`` (pretrain, search, retrain, alpha) for ``run``, in the seeds'
        order; outputs built by hand with only the first seed's dict give that one file."""
        if stage not in STAGES:
            raise ValueError(f"stage={stage!r} is not valid; valid values: {', '.join(STAGES)}")
        by_seed = getattr(self, f"{stage}_seeds").get(run)
        if by_seed:
            return by_seed
        single = getattr(self, stage).get(run)
        return {self.first_seed: single} if single is not None else {}

    def values(self, stage: str, run: str, key: str, scale: float = 1.0) -> list[float]:
        """``key`` of every seed's ``stage`` file of ``run`` (x ``scale``), in the seeds' order."""
        return [scale * float(s.doc[key]) for s in self.per_seed(stage, run).values()]

    # ---- the hardware rows: one per network, seed, scale, setting and mode ---------------------
    def hw_rows(self, mode: str | None = None, network: str | None = None, *, setting: str | None = REALISTIC,
                scale: str | None = EMBEDDED) -> list[dict]:
        """The hw_mapping rows of ``mode`` and ``network`` under ``setting`` (the cost model's
        switches: ``realistic``, ``nasaf_compatible`` or ``flip:<switch>``) at ``scale`` (``embedded``:
        the profile's trained networks, ``paper``: the papers' CIFAR layout); ``None``: any.  Rows
        without a setting or scale field (older files) are realistic and embedded."""
        if self.hw is None:
            return []
        return [r for r in self.hw.doc["rows"] if (mode is None or r["mode"] == mode)
                and (network is None or r["network"] == network)
                and (setting is None or row_setting(r) == setting) and (scale is None or row_scale(r) == scale)]

    def hw_row(self, network: str, seed, mode: str, *, setting: str = REALISTIC, scale: str = EMBEDDED) -> dict | None:
        """The row of ``network`` trained with ``seed`` under ``mode``, ``setting`` and ``scale``
        (rows without a seed field, of older files, stand for every seed)."""
        for r in self.hw_rows(mode, network, setting=setting, scale=scale):
            if r.get("seed", seed) == seed:
                return r
        return None

    def hw_scales(self) -> list[str]:
        """The scales the hardware rows cover: embedded, paper, then any other (by name)."""
        found = {row_scale(r) for r in self.hw_rows(setting=None, scale=None)}
        return [s for s in SCALES if s in found] + sorted(found - set(SCALES))

    def hw_settings(self, scale: str | None = None) -> list[str]:
        """The settings of the rows (at ``scale``): realistic, each ``flip:<switch>`` (in the order
        of the metrics' ``sensitivity`` list, then any other), nasaf_compatible, then any other."""
        found = {row_setting(r) for r in self.hw_rows(setting=None, scale=scale)}
        listed = [f"{FLIP}{s}" for s in (self.hw.doc.get("sensitivity") or [])] if self.hw else []
        flips = [s for s in listed if s in found] + sorted(s for s in found if s.startswith(FLIP) and s not in listed)
        head = [s for s in (REALISTIC,) if s in found] + flips + [s for s in (NASAF,) if s in found]
        return head + sorted(found - set(head))

    def hw_sensitivity_scale(self) -> str | None:
        """The scale of the sensitivity analysis: that of the ``flip:<switch>`` rows; without any,
        paper when paper-size networks were mapped, else embedded (``None``: no hardware rows)."""
        flipped = {row_scale(r) for r in self.hw_rows(setting=None, scale=None) if row_setting(r).startswith(FLIP)}
        mapped = self.hw_scales()
        scales = [s for s in mapped if s in flipped] or [s for s in (PAPER, EMBEDDED) if s in mapped]
        return scales[0] if scales else None

    def hw_modes(self) -> list[str]:
        """The mapping modes of the rows, in the order of the metrics' ``modes`` list."""
        if self.hw is None:
            return []
        found = {r["mode"] for r in self.hw.doc["rows"]}
        listed = list(self.hw.doc.get("modes") or [])
        return [m for m in listed if m in found] + sorted(found - set(listed))


def _read(cls, path) -> Source:
    """One pipeline file through its declared format (:mod:`nasa_lib.artifacts`)."""
    return Source(str(path), cls.read(path).to_dict())


def _check(src: Source, **expected) -> Source:
    """The file holds what its path says (its run, seed, draw...): a file copied to the wrong
    place is an error naming it, not a silently mislabelled point."""
    for key, value in expected.items():
        if src.doc.get(key) != value:
            raise ValueError(f"{src.path} holds {key}={src.doc.get(key)!r}, expected {value!r} from its path; "
                             f"rerun the stage that writes it")
    return src


def _seed_list(seeds) -> list[int]:
    seeds = list(seeds)
    if not seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seeds) \
            or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds={seeds!r} is not valid; it must be a non-empty list of distinct integers >= 0 "
                         f"(params.yaml: seeds)")
    return seeds


def load_outputs(profile: str, runs, baselines, dance_runs, metrics_dir="reports/metrics",
                 artifacts_dir="artifacts", *, seeds=(0,), sweep: dict | None = None,
                 random: dict | None = None) -> PipelineOutputs:
    """Read the outputs of every stage of the runs ``params.yaml`` lists (``runs``: the searches,
    ``baselines``: the fixed networks, ``dance_runs``: the DANCE problems, ``seeds``: the training
    seeds, ``sweep``: ``{"runs": [...], "hw_weights": [...], "main_hw_weight": x}``, ``random``:
    ``{"runs": [...], "draws": [...]}``): their metrics files for every seed, the searches' alpha
    histories, the retrained checkpoints, the sweep's and the random draws' metrics.  The lists
    come from params, never from folder listings, so outputs of a run no longer listed are not
    read; a missing or malformed file is an error naming it."""
    if not isinstance(profile, str) or not profile:
        raise ValueError(f"profile={profile!r} is not valid; it must be a non-empty string (params.yaml: profile)")
    seeds = _seed_list(seeds)
    metrics, artifacts = Path(metrics_dir), Path(artifacts_dir)
    out = PipelineOutputs(profile=profile, data=_read(DataSummary, metrics / "data.json"), seeds=seeds)
    runs, networks = sorted(runs), sorted({*runs, *baselines})
    out.pretrain_seeds = {run: {k: _check(_read(PretrainMetrics, metrics / "pretrain" / run / f"seed{k}.json"),
                                          run=run, seed=k) for k in seeds} for run in runs}
    out.search_seeds = {run: {k: _check(_read(SearchMetrics, metrics / "search" / run / f"seed{k}.json"),
                                        run=run, seed=k) for k in seeds} for run in runs}
    out.retrain_seeds = {run: {k: _check(_read(RetrainMetrics, metrics / "retrain" / run / f"seed{k}.json"),
                                         run=run, seed=k) for k in seeds} for run in networks}
    if out.retrain_seeds:     # the hw_mapping stage maps every retrained network
        out.hw = _read(HwMappingMetrics, metrics / "hw_mapping.json")
    out.alpha_seeds = {run: {k: _read(AlphaHistory, artifacts / "search" / run / f"seed{k}" / "alpha_history.json")
                             for k in seeds} for run in runs}
    for run in networks:
        out.checkpoint_seeds[run] = {}
        for k in seeds:
            ckpt = artifacts / "retrain" / run / f"seed{k}" / "model.pt"
            if not ckpt.exists():
                raise ValueError(f"{ckpt} is missing: rerun the retrain stage of {run!r}, seed {k}")
            out.checkpoint_seeds[run][k] = str(ckpt)
    for stage in ("pretrain", "search", "retrain", "alpha", "checkpoint"):
        name = "checkpoints" if stage == "checkpoint" else stage
        setattr(out, name, {run: by_seed[seeds[0]] for run, by_seed in getattr(out, f"{stage}_seeds").items()})
    if sweep and sweep.get("runs"):
        out.sweep_main_hw_weight = float(sweep["main_hw_weight"])
        for run in sorted(sweep["runs"]):
            if run not in out.search_seeds:
                raise ValueError(f"sweep.runs names {run!r}, which is not an entry of runs; the sweep's main point "
                                 f"is that run's search")
            out.sweep[run] = {}
            for w in sweep["hw_weights"]:
                if float(w) == out.sweep_main_hw_weight:
                    raise ValueError(f"sweep.hw_weights lists {w!r}, the main search's weight (search.hw_weight): "
                                     f"that point is the main search's, list only the other weights")
                folder = metrics / "sweep" / run / f"hw{w}"
                out.sweep[run][w] = {k: _check(_read(SweepMetrics, folder / f"seed{k}.json"), run=run, seed=k)
                                     for k in seeds}
            arch_file = artifacts / "search" / run / f"seed{seeds[0]}" / "arch.json"
            from ..space import load_arch
            try:
                _, layout, _ = load_arch(arch_file)
            except FileNotFoundError:
                raise ValueError(f"{arch_file} is missing: rerun the search stage of {run!r}, "
                                 f"seed {seeds[0]}") from None
            out.layouts[run] = (str(arch_file), layout)
    if random and random.get("runs"):
        for run in sorted(random["runs"]):
            if run not in out.retrain_seeds:
                raise ValueError(f"random.runs names {run!r}, which is not an entry of runs; its searched networks "
                                 f"are what the random ones are set against")
            out.random[run] = {d: _check(_read(RandomArchMetrics, metrics / "random" / run / f"draw{d}.json"),
                                         run=run, draw=d) for d in random["draws"]}
    dance_dir = metrics / "dance"
    for kind, cls in (("coexplore", DanceCoexploreMetrics), ("dataset", DanceDatasetMetrics),
                      ("evaluator", DanceEvaluatorMetrics)):
        for run in sorted(dance_runs):
            out.dance[kind][f"{kind}_{run}"] = _read(cls, dance_dir / f"{kind}_{run}.json")
    if dance_runs:
        out.dance_artifacts = str(artifacts / "dance")
    return out


def timing_run(relative: Path) -> str:
    """The run a timing file (path relative to the timing folder) belongs to:
    ``dance/<kind>_<run>.json`` -> run; ``<stage>/<run>/...`` (per seed, weight or draw) -> run;
    ``<stage>/<run>.json`` (older files) -> run."""
    parts = relative.parts
    if parts[0] == "dance" and len(parts) == 2:
        stem = relative.stem
        return stem.split("_", 1)[1] if "_" in stem else stem
    if len(parts) >= 3:
        return parts[1]
    return relative.stem


def load_timing(timing_dir="reports/timing", names=None) -> dict[str, Source]:
    """Every wall-time file (path without ``.json`` relative to ``timing_dir`` -> document) of the
    runs in ``names`` (``None``: all); empty when none.  ``dance/<kind>_<run>`` files belong to
    ``<run>``, ``<stage>/<run>/seed<k>`` (and the sweep's ``sweep/<run>/hw<w>/seed<k>``, the random
    draws' ``random/<run>/draw<d>``) to ``<run>``; files at the top of the folder are always kept."""
    root = Path(timing_dir)
    if not root.is_dir():
        return {}
    out = {}
    for p in sorted(root.rglob("*.json")):
        rel = p.relative_to(root)
        if names is None or len(rel.parts) == 1 or timing_run(rel) in names:
            out[rel.with_suffix("").as_posix()] = Source(str(p), read_json(p))
    return out
