"""The parameter schema: one dataclass per section of ``params.yaml``, rules as field metadata, and
one strict loader.

``params.yaml`` is the only place a parameter's value lives (profiles are overlays on it, see
:mod:`.profile`): notebooks hold only the run name, ``dvc.yaml`` commands carry no values, and no
field below has a default.  The loader fails on the first problem with one line naming
``section.key`` and the valid values, before any work:

* a section or key that is missing, or one the schema does not know;
* a value outside its rule (``search.mode='medium' is not valid; valid values: soft, hard``);
* a rule across keys (``search.cost_band_lo`` and ``search.cost_band_hi`` both set or both null).

Which sections a stage checks and may read is what it declares (``STAGE_PARAMS`` beside each
stage; the same list is the stage's ``params:`` in ``dvc.yaml``, which a test holds).  The first
stage, ``data``, declares every section, so a bad value anywhere fails ``dvc repro`` in seconds,
before any training.  The other stages check the whole file's structure and their own sections'
values, so the code that defines another section's valid values (DANCE's cost names, say) is not
imported by, and so not a dependency of, a stage that never reads that section.

Adding a parameter: its field here (with its rule), its value in ``params.yaml``, and the code
that uses it -- three edits.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import Iterable

import yaml

PARAMS_FILE = "params.yaml"


class ParamsError(ValueError):
    """A bad ``params.yaml``: the message is one line naming ``section.key``."""


# ---- rules ------------------------------------------------------------------------------------
def _vocabulary(ref):
    """A tuple of valid values, or ``"module:NAME"`` naming the library's own list (imported only
    when a value is checked against it)."""
    if isinstance(ref, str) and ":" in ref:
        module, name = ref.split(":")
        values = getattr(import_module(module), name)
        return tuple(values() if callable(values) else values)
    return tuple(ref)


class Rule:
    nullable = False

    def describe(self) -> str:
        raise NotImplementedError

    def check(self, name: str, value):
        raise NotImplementedError


class Choice(Rule):
    def __init__(self, values, nullable=False):
        self.values, self.nullable = values, nullable

    def describe(self):
        return "valid values: " + ", ".join(map(str, _vocabulary(self.values))) + (", null" if self.nullable else "")

    def check(self, name, value):
        if value is None and self.nullable:
            return None
        if value not in _vocabulary(self.values):
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        return value


class Number(Rule):
    def __init__(self, kind=float, low=None, high=None, nullable=False, low_open=False):
        self.kind, self.low, self.high, self.nullable, self.low_open = kind, low, high, nullable, low_open

    def describe(self):
        what = "an integer" if self.kind is int else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return "it must be " + what + (" " + " and ".join(parts) if parts else "") + (" or null" if self.nullable else "")

    def check(self, name, value):
        if value is None and self.nullable:
            return None
        given = value
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and self.kind is int:
            ok = float(value).is_integer()
        if ok:
            value = self.kind(value)
            ok = math.isfinite(value) and (self.low is None or (value > self.low if self.low_open else value >= self.low)) \
                and (self.high is None or value <= self.high)
        if not ok:
            raise ParamsError(f"{name}={given!r} is not valid; {self.describe()}")
        return value


class Flag(Rule):
    def describe(self):
        return "valid values: true, false"

    def check(self, name, value):
        if not isinstance(value, bool):
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        return value


class Text(Rule):
    def __init__(self, nullable=False):
        self.nullable = nullable

    def describe(self):
        return "it must be a non-empty string" + (" or null" if self.nullable else "")

    def check(self, name, value):
        if value is None and self.nullable:
            return None
        if not isinstance(value, str) or not value:
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        return value


class SpaceName(Rule):
    """A search space (aliases such as ``addall`` allowed); the value becomes the canonical name."""

    def describe(self):
        return "valid values: " + ", ".join(_vocabulary("nasa_lib.space.spaces:SPACES"))

    def check(self, name, value):
        from ..space.spaces import canonical_space_name
        try:
            return canonical_space_name(value)
        except ValueError:
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}") from None


class BaselineName(Rule):
    """A fixed baseline (``all-conv`` ... or an alias such as ``fbnet``); kept as written (it names
    the stage and its files), :func:`baseline_key` gives the canonical name."""

    def describe(self):
        return "valid values: " + ", ".join(_vocabulary("nasa_lib.space.networks:BASELINES"))

    def check(self, name, value):
        try:
            baseline_key(value)
        except KeyError:
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}") from None
        return value


def baseline_key(name: str) -> str:
    from ..space.networks import BASELINE_ALIASES, BASELINES
    key = BASELINE_ALIASES.get(str(name).lower(), str(name).lower())
    if key not in BASELINES:
        raise KeyError(name)
    return key


class Shipped(Rule):
    """A file shipped with the package by name (``lister`` gives the names) or a YAML path."""

    def __init__(self, lister: str):
        self.lister = lister

    def describe(self):
        return "valid values: " + ", ".join(_vocabulary(self.lister)) + ", or a path to a YAML file"

    def check(self, name, value):
        if not isinstance(value, str) or not value:
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        if value not in _vocabulary(self.lister) and not (value.endswith((".yaml", ".yml")) and Path(value).is_file()):
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        return value


class NumberList(Rule):
    """A comma-separated list of numbers >= 0 (DVC renders YAML lists into commands badly; the
    retrain stage's ``milestones`` uses the same convention).  The value becomes a list of floats."""

    def describe(self):
        return 'it must be a comma-separated list of numbers >= 0, e.g. "0.3,3"'

    def check(self, name, value):
        try:
            values = [float(value)] if isinstance(value, (int, float)) and not isinstance(value, bool) else \
                [float(v) for v in str(value).split(",") if v.strip()]
        except ValueError:
            values = []
        if value is None or not values or any(not v >= 0 for v in values):
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        return values


class ListOf(Rule):
    """A YAML list of distinct values of one rule, kept as written (a value names stages and files,
    e.g. ``sweep@Hybrid-All-1e-06-0``, so ``1e-06`` must not become another spelling)."""

    def __init__(self, item: Rule, nonempty: bool = False):
        self.item, self.nonempty = item, nonempty

    def describe(self):
        return (f"it must be a{' non-empty' if self.nonempty else ''} list of distinct values "
                f"({self.item.describe()})")

    def check(self, name, value):
        if not isinstance(value, list) or (self.nonempty and not value) or len(set(map(str, value))) != len(value):
            raise ParamsError(f"{name}={value!r} is not valid; {self.describe()}")
        for i, v in enumerate(value):
            self.item.check(f"{name}[{i}]", v)
        return tuple(value)


def rule(r: Rule, doc: str = ""):
    """A schema field: its rule and what it means.  No default: the value is in params.yaml."""
    return field(metadata={"rule": r, "doc": doc})


# ---- sections ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CommonParams:
    seed: int = rule(Number(int, 0), "seed of every random choice")
    num_threads: int = rule(Number(int, 1), "intra-op CPU threads per stage")
    accelerator: str = rule(Choice(("cpu", "gpu", "auto")))
    devices: int = rule(Number(int, 1), "> 1: Lightning DDP, one process per device")
    sync_batchnorm: bool = rule(Flag())
    precision: str = rule(Choice(("32-true", "16-mixed", "bf16-mixed")))
    memory_format: str = rule(Choice("nasa_lib.nas.runner:MEMORY_FORMATS"),
                              "layout of 4-D weights and activations while a stage trains")
    checkpoint_root: str = rule(Text(), "interrupted stages resume from here")
    limit_train_batches: float | None = rule(Number(float, 0, nullable=True, low_open=True))


@dataclass(frozen=True)
class DataParams:
    dataset: str = rule(Choice("nasa_lib.data.registry:DATASET_NAMES"))
    data_dir: str = rule(Text())
    batch_size: int = rule(Number(int, 1))
    eval_batch_size: int | None = rule(Number(int, 1, nullable=True))
    num_workers: int = rule(Number(int, 0))
    val_fraction: float | None = rule(Number(float, 0, 1, nullable=True, low_open=True))
    test_fraction: float | None = rule(Number(float, 0, 1, nullable=True, low_open=True))
    train_portion: float = rule(Number(float, 0, 1, low_open=True))
    augment: str = rule(Choice("nasa_lib.data.transforms:AUGMENTATIONS"))
    subset: int | None = rule(Number(int, 2, nullable=True))
    pad_to: int | None = rule(Number(int, 1, nullable=True))
    verify: str = rule(Choice("nasa_lib.data.checksums:VERIFY_MODES"))


@dataclass(frozen=True)
class NetworkParams:
    width_mult: float = rule(Number(float, 0, low_open=True))
    depth_mult: float = rule(Number(float, 0, low_open=True))
    header_channels: int = rule(Number(int, 8))
    stem_stride: int = rule(Choice((1, 2)))
    adder_free_ends: int = rule(Number(int, 0))
    shift_mode: str = rule(Choice("nasa_lib.ops.shift:SHIFT_MODES"))
    weight_sharing: str = rule(Choice("nasa_lib.space.supernet:WEIGHT_SHARING"),
                               "the supernet's weight sharing (elastic: one block per op kind)")


@dataclass(frozen=True)
class PretrainParams:
    epochs: int = rule(Number(int, 1))
    mult_epochs: int = rule(Number(int, 0))
    adder_epochs: int = rule(Number(int, 0))
    full_width_fraction: float = rule(Number(float, 0, 1))
    n_paths: int = rule(Number(int, 1))
    adder_phase_paths: str = rule(Choice("nasa_lib.nas.pretrain:ADDER_PHASE_PATHS"),
                                  "the adder phase's paths: every candidate (adders trained) or adders only")
    lr: float = rule(Number(float, 0, low_open=True))
    weight_decay: float = rule(Number(float, 0))
    eval_paths: int = rule(Number(int, 1), "fixed random paths the supernet is validated on (+ the widest)")

    def check(self):
        if self.mult_epochs + self.adder_epochs > self.epochs:
            raise ParamsError(f"pretrain.mult_epochs + pretrain.adder_epochs must be <= pretrain.epochs={self.epochs}")


@dataclass(frozen=True)
class SearchParams:
    epochs: int = rule(Number(int, 1))
    mode: str = rule(Choice("nasa_lib.nas.search:SEARCH_MODES"))
    act_num: int = rule(Number(int, 1))
    lr: float = rule(Number(float, 0, low_open=True))
    weight_decay: float = rule(Number(float, 0))
    arch_lr: float = rule(Number(float, 0, low_open=True))
    tau0: float = rule(Number(float, 0, low_open=True))
    tau_decay: float = rule(Number(float, 0, 1, low_open=True))
    hw_weight: float = rule(Number(float, 0))
    cost_band_lo: float | None = rule(Number(float, 0, nullable=True))
    cost_band_hi: float | None = rule(Number(float, 0, nullable=True))

    def check(self):
        if (self.cost_band_lo is None) != (self.cost_band_hi is None):
            raise ParamsError("search.cost_band_lo and search.cost_band_hi must both be numbers or both null")


@dataclass(frozen=True)
class RetrainParams:
    epochs: int = rule(Number(int, 1))
    lr: float = rule(Number(float, 0, low_open=True))
    weight_decay: float = rule(Number(float, 0))
    schedule: str = rule(Choice("nasa_lib.nas.common:SCHEDULES"))
    milestones: str | None = rule(Text(nullable=True), 'for schedule step: "200,400"')
    quantize: bool = rule(Flag())
    label_smoothing: float = rule(Number(float, 0, 1))
    batch_size: int = rule(Number(int, 1), "retraining's own batch size")
    augment: str = rule(Choice("nasa_lib.data.transforms:AUGMENTATIONS"), "retraining's own augmentation")


@dataclass(frozen=True)
class RunSpec:
    """An entry of ``runs``: one pretrain, search and retrain stage each."""
    space: str = rule(SpaceName())
    pgp: bool = rule(Flag())


@dataclass(frozen=True)
class SweepParams:
    """The cost-weight sweep: each listed run searched again at each weight (the main search at
    ``search.hw_weight`` is the remaining point), every seed, the derived network retrained."""
    runs: tuple = rule(ListOf(Text()), "entries of runs whose search is swept")
    hw_weights: tuple = rule(ListOf(Number(float, 0)), "search.hw_weight values besides the main search's")


@dataclass(frozen=True)
class RandomParams:
    """Searched vs random: architectures drawn uniformly from a run's space within +-tolerance of
    the cost of its searched network (seed common.seed), each retrained with seed = draw."""
    runs: tuple = rule(ListOf(Text()), "entries of runs compared with random architectures")
    draws: tuple = rule(ListOf(Number(int, 0)), "one stage per draw; the draw is also its seed")
    tolerance: float = rule(Number(float, 0, 1, low_open=True), "relative cost band, e.g. 0.1 = +-10 %")


@dataclass(frozen=True)
class HwMappingParams:
    chunk_accelerator: str = rule(Shipped("nasa_lib.hw.accelerator:list_accelerators"))
    baseline_accelerator: str = rule(Shipped("nasa_lib.hw.accelerator:list_accelerators"))
    wide_chunk_accelerator: str = rule(Shipped("nasa_lib.hw.accelerator:list_accelerators"),
                                       "the chunk accelerator at 8 bits throughout (claim 6's split)")
    objective: str = rule(Choice("nasa_lib.hw.mapper:OBJECTIVES"))
    # the cost model's switches (nasa_lib/hw/options.py says what each does and why its default)
    dram_bandwidth_limit: bool = rule(Flag())
    inter_layer_reuse: bool = rule(Flag())
    psum_width: str = rule(Choice("nasa_lib.hw.options:PSUM_WIDTHS"))
    pe_array: str = rule(Choice("nasa_lib.hw.options:PE_ARRAYS"))
    noc_bandwidth: str = rule(Choice("nasa_lib.hw.options:NOC_BANDWIDTHS"))
    pe_budget: str = rule(Choice("nasa_lib.hw.options:PE_BUDGETS"))
    static_energy: bool = rule(Flag())
    latency: str = rule(Choice("nasa_lib.hw.options:LATENCIES"))
    sensitivity: tuple = rule(ListOf(Choice("nasa_lib.hw.options:SWITCH_NAMES")),
                              "switches flipped alone for the sensitivity table")
    paper_networks: bool = rule(Flag(), "also map the paper-size CIFAR networks")
    workers: int | None = rule(Number(int, 1, nullable=True), "processes (null: one per CPU core)")


@dataclass(frozen=True)
class DanceParams:
    dataset_seed: int = rule(Number(int, 0))
    n_archs: int = rule(Number(int, 3))
    designs_per_arch: int = rule(Number(int, 1))
    workers: int | None = rule(Number(int, 1, nullable=True))
    dataset_val_fraction: float = rule(Number(float, 0, 1, low_open=True))
    dataset_test_fraction: float = rule(Number(float, 0, 1, low_open=True))
    evaluator_hidden: int = rule(Number(int, 1))
    evaluator_depth: int = rule(Number(int, 1))
    evaluator_epochs: int = rule(Number(int, 1))
    evaluator_batch_size: int = rule(Number(int, 1))
    evaluator_lr: float = rule(Number(float, 0, low_open=True))
    evaluator_weight_decay: float = rule(Number(float, 0))
    cost: str = rule(Choice("nasa_lib.dance.costtables:COSTS"))
    lambdas: list = rule(NumberList())
    cost_form: str = rule(Choice("nasa_lib.dance.coexplore:COST_FORMS"))
    arch_input: str = rule(Choice("nasa_lib.dance.coexplore:ARCH_INPUTS"))
    generator_hidden: int = rule(Number(int, 1))
    generator_lr: float = rule(Number(float, 0, low_open=True))
    hw_tau: float = rule(Number(float, 0, low_open=True))
    straight_through: bool = rule(Flag())
    retrain_epochs: int = rule(Number(int, 0))
    joint_max_archs: int = rule(Number(int, 0))
    matched_tolerance: float = rule(Number(float, 0))
    evolution_evaluations: int | None = rule(Number(int, 1, nullable=True),
                                             "pairs the evolutionary baseline evaluates; null: as many as "
                                             "co-exploration costs at the same lambda")
    evolution_population: int = rule(Number(int, 1))
    evolution_sample: int = rule(Number(int, 1))

    def check(self):
        if self.dataset_val_fraction + self.dataset_test_fraction >= 1:
            raise ParamsError("dance.dataset_val_fraction + dance.dataset_test_fraction must be < 1")
        if self.evolution_sample > self.evolution_population:
            raise ParamsError("dance.evolution_sample must be <= dance.evolution_population")


@dataclass(frozen=True)
class DanceRunSpec:
    """An entry of ``dance_runs``: a network space, a design space, and the ``runs`` entry whose
    pretrained supernet and plain search the co-exploration starts from."""
    space: str = rule(SpaceName())
    design_space: str = rule(Shipped("nasa_lib.dance.design_space:list_design_spaces"))
    pretrain_run: str = rule(Text())


@dataclass(frozen=True)
class ReportParams:
    accuracy_tolerance_pp: float = rule(Number(float, 0))
    min_over_chance_pp: float = rule(Number(float, 0))
    min_reduction_percent: float = rule(Number(float, 0))
    evaluator_max_error_percent: float = rule(Number(float, 0, low_open=True))
    spread_multiple: float = rule(Number(float, 0, low_open=True),
                                  "a difference of means counts when it exceeds this many standard errors")


# ---- the whole file ---------------------------------------------------------------------------
def section(cls):
    return field(metadata={"section": cls})


def entries(cls):
    """A mapping name -> ``cls`` (``runs``, ``dance_runs``): at least one entry."""
    return field(metadata={"entries": cls})


def items(r: Rule):
    """A list of values of one rule (``baselines``)."""
    return field(metadata={"items": r})


@dataclass(frozen=True)
class Params:
    profile: str = rule(Text(), "the profile's name, printed on every figure and table")
    common: CommonParams = section(CommonParams)
    data: DataParams = section(DataParams)
    network: NetworkParams = section(NetworkParams)
    pretrain: PretrainParams = section(PretrainParams)
    search: SearchParams = section(SearchParams)
    retrain: RetrainParams = section(RetrainParams)
    runs: dict = entries(RunSpec)
    baselines: tuple = items(BaselineName())
    seeds: tuple = items(Number(int, 0))
    sweep: SweepParams = section(SweepParams)
    random: RandomParams = section(RandomParams)
    hw_mapping: HwMappingParams = section(HwMappingParams)
    dance: DanceParams = section(DanceParams)
    dance_runs: dict = entries(DanceRunSpec)
    report: ReportParams = section(ReportParams)


SECTIONS = tuple(f.name for f in dataclasses.fields(Params))


def _coerce(value):
    """YAML spellings that reach us as strings (``dvc exp run -S key=null``)."""
    if isinstance(value, str):
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if value.strip() in ("null", "None", "~"):
            return None
    return value


def _keys_of(cls) -> list[str]:
    return [f.name for f in dataclasses.fields(cls)]


def _build(cls, doc, where: str, checked) -> object:
    """``cls`` from a YAML mapping: exact keys, values checked where ``checked(key)`` says so."""
    if not isinstance(doc, dict):
        raise ParamsError(f"{where} must be a mapping of {', '.join(_keys_of(cls))}")
    names = _keys_of(cls)
    for key in doc:
        if key not in names:
            raise ParamsError(f"{where}.{key} is not a parameter; valid keys of {where}: {', '.join(names)}")
    values = {}
    for f in dataclasses.fields(cls):
        name = f"{where}.{f.name}"
        if f.name not in doc:
            raise ParamsError(f"{name} is missing from params.yaml ({f.metadata['rule'].describe()})")
        value = _coerce(doc[f.name])
        values[f.name] = f.metadata["rule"].check(name, value) if checked(f.name) else value
    obj = cls(**values)
    if hasattr(obj, "check") and all(checked(n) for n in names):
        obj.check()
    return obj


def _parse_check(check: Iterable[str] | None):
    """``{section: None (all keys) | set of keys}`` from entries like ``search``, ``retrain.lr``,
    ``runs.Hybrid-All``; ``None`` checks everything."""
    if check is None:
        return None
    wanted: dict = {}
    for entry in check:
        top, _, key = entry.partition(".")
        if top not in SECTIONS:
            raise ParamsError(f"{entry!r} names no section of params.yaml; sections: {', '.join(SECTIONS)}")
        if not key:
            wanted[top] = None
        elif wanted.get(top, set()) is not None:
            wanted.setdefault(top, set()).add(key)
    return wanted


def parse_params(doc, check: Iterable[str] | None = None, source: str = PARAMS_FILE) -> Params:
    """A :class:`Params` from the YAML document; see :func:`load_params`."""
    if not isinstance(doc, dict):
        raise ParamsError(f"{source} must be a mapping of the sections {', '.join(SECTIONS)}")
    for key in doc:
        if key not in SECTIONS:
            raise ParamsError(f"{key} is not a section of {source}; valid sections: {', '.join(SECTIONS)}")
    for key in SECTIONS:
        if key not in doc:
            raise ParamsError(f"{key} is missing from {source}; sections: {', '.join(SECTIONS)}")
    wanted = _parse_check(check)

    def checker(top, sub=None):
        def checked(key):
            if wanted is None:
                return True
            keys = wanted.get(top, set())
            return keys is None or key in keys or (sub is not None and sub in keys)
        return checked

    values = {}
    for f in dataclasses.fields(Params):
        raw = doc[f.name]
        if "section" in f.metadata:
            values[f.name] = _build(f.metadata["section"], raw, f.name, checker(f.name))
        elif "entries" in f.metadata:
            if not isinstance(raw, dict) or not raw:
                raise ParamsError(f"{f.name} must be a non-empty mapping of names to "
                                  f"{{{', '.join(_keys_of(f.metadata['entries']))}}}")
            values[f.name] = {str(name): _build(f.metadata["entries"], entry, f"{f.name}.{name}",
                                                checker(f.name, str(name)))
                              for name, entry in raw.items()}
        elif "items" in f.metadata:
            if not isinstance(raw, list):
                raise ParamsError(f"{f.name} must be a list ({f.metadata['items'].describe()})")
            run_check = wanted is None or f.name in wanted
            values[f.name] = tuple(f.metadata["items"].check(f"{f.name}[{i}]", v) if run_check else v
                                   for i, v in enumerate(raw))
            if run_check and f.name == "seeds" and (not raw or len(set(raw)) != len(raw)):
                raise ParamsError(f"seeds={raw!r} is not valid; it must be a non-empty list of distinct integers >= 0")
        else:
            value = _coerce(raw)
            values[f.name] = f.metadata["rule"].check(f.name, value) \
                if wanted is None or f.name in wanted else value
    params = Params(**values)
    if wanted is None:
        # DANCE co-explores from the supernet and plain search of seed common.seed
        if params.dance_runs and params.common.seed not in params.seeds:
            raise ParamsError(f"common.seed={params.common.seed} is not valid; the DANCE stages start from the "
                              f"supernet of that seed, so it must be one of seeds: {list(params.seeds)}")
    for table in ("sweep", "random"):
        if wanted is None or table in wanted:
            for run in getattr(params, table).runs:
                if run not in params.runs:
                    raise ParamsError(f"{table}.runs: {run!r} is not valid; valid values: {', '.join(params.runs)}")
    if wanted is None or "dance_runs" in wanted:
        for name, spec in params.dance_runs.items():
            if spec.pretrain_run not in params.runs:
                raise ParamsError(f"dance_runs.{name}.pretrain_run={spec.pretrain_run!r} is not valid; "
                                  f"valid values: {', '.join(params.runs)}")
            run_space = SpaceName().check(f"runs.{spec.pretrain_run}.space", params.runs[spec.pretrain_run].space)
            if run_space != spec.space:
                raise ParamsError(f"dance_runs.{name}.space={spec.space!r} is not valid; its pretrain_run "
                                  f"{spec.pretrain_run!r} searches {run_space}")
    return params


def load_params(path=PARAMS_FILE, check: Iterable[str] | None = None) -> Params:
    """Read and check ``params.yaml``: its structure always (every section and key present, none
    unknown), the values of the ``check`` entries (sections, ``section.key`` or ``runs.<name>``;
    ``None``: every value).  The first problem raises :class:`ParamsError` in one line."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ParamsError(f"{path} is missing: run from the repository root") from None
    except yaml.YAMLError as err:
        raise ParamsError(f"{path} is not valid YAML: {' '.join(str(err).split())}") from None
    return parse_params(doc, check, str(path))


class StageParams:
    """The params a stage declared, and only those: reading an undeclared section (or key) is an
    error, so a stage cannot read a value DVC does not know it depends on."""

    def __init__(self, params: Params, declared: Iterable[str]):
        self._params, self._declared = params, _parse_check(declared)

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._declared:
            raise AttributeError(f"this stage does not declare params section {name!r}; declared: "
                                 f"{', '.join(sorted(self._declared))} (its STAGE_PARAMS and dvc.yaml)")
        value = getattr(self._params, name)
        keys = self._declared[name]
        if keys is None:
            return value
        if isinstance(value, dict):
            return {k: v for k, v in value.items() if k in keys}
        return _Keys(value, name, keys)


class _Keys:
    def __init__(self, obj, section_name, keys):
        self._obj, self._section, self._keys = obj, section_name, keys

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        if name not in self._keys:
            raise AttributeError(f"this stage does not declare {self._section}.{name}; declared: "
                                 f"{', '.join(f'{self._section}.{k}' for k in sorted(self._keys))}")
        return getattr(self._obj, name)


def stage_params(declared: Iterable[str], path=PARAMS_FILE) -> StageParams:
    """What a stage calls first: the file's structure and the declared values checked, and a view
    that lets the stage read only those."""
    declared = list(declared)
    return StageParams(load_params(path, check=declared), declared)


def describe_schema() -> list[dict]:
    """Every parameter with its rule, for the README and ``python -m nasa_lib.stages.params``."""
    rows = []
    for f in dataclasses.fields(Params):
        kind = f.metadata.get("section") or f.metadata.get("entries")
        if kind is None:
            r = f.metadata.get("rule") or f.metadata.get("items")
            rows.append({"key": f.name, "rule": r.describe(), "doc": f.metadata.get("doc", "")})
            continue
        prefix = f.name if "section" in f.metadata else f"{f.name}.<name>"
        for g in dataclasses.fields(kind):
            rows.append({"key": f"{prefix}.{g.name}", "rule": g.metadata["rule"].describe(),
                         "doc": g.metadata.get("doc", "")})
    return rows


if __name__ == "__main__":      # python -m nasa_lib.stages.params [params.yaml]: check the whole file
    import sys
    try:
        load_params(sys.argv[1] if len(sys.argv) > 1 else PARAMS_FILE)
    except ParamsError as err:
        sys.exit(f"params error: {err}")
    print(f"{sys.argv[1] if len(sys.argv) > 1 else PARAMS_FILE}: every section and value is valid")
