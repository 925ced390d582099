"""Stage parameters: the schema every notebook validates against before any long computation.

A notebook's ``parameters`` cell holds flat names (``epochs``, ``space``...), papermill overrides
them from ``params.yaml`` (``-p epochs ${pretrain.epochs}``), and :func:`validate` turns them into
a checked dict.  A bad value fails in a second with one line naming the parameter and its valid
values, e.g. ``search.space='Hybrid-Foo' is not valid; valid values: OnlyConv, Hybrid-Shift, ...``.
"""
from __future__ import annotations

import hashlib
import json
import math

from ..data import DATASET_NAMES
from ..data.checksums import VERIFY_MODES
from ..data.transforms import AUGMENTATIONS
from ..nas.common import SCHEDULES
from ..nas.search import SEARCH_MODES
from ..space import SPACES, canonical_space_name
from ..space.networks import BASELINES, BASELINE_ALIASES
from ..ops.shift import SHIFT_MODES


class Choice:
    def __init__(self, *values, nullable=False):
        self.values, self.nullable = values, nullable

    def check(self, name, value):
        if value is None and self.nullable:
            return None
        if value not in self.values:
            valid = ", ".join(map(str, self.values)) + (", null" if self.nullable else "")
            raise ValueError(f"{name}={value!r} is not valid; valid values: {valid}")
        return value


class Number:
    def __init__(self, kind=float, low=None, high=None, nullable=False, low_open=False):
        self.kind, self.low, self.high, self.nullable, self.low_open = kind, low, high, nullable, low_open

    def describe(self):
        what = "an integer" if self.kind is int else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return what + (" " + " and ".join(parts) if parts else "") + (" or null" if self.nullable else "")

    def check(self, name, value):
        if value is None and self.nullable:
            return None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        if ok and self.kind is int:
            ok = float(value).is_integer()
        if ok:
            value = self.kind(value)
            ok = math.isfinite(value) and (self.low is None or (value > self.low if self.low_open else value >= self.low)) \
                and (self.high is None or value <= self.high)
        if not ok:
            raise ValueError(f"{name}={value!r} is not valid; it must be {self.describe()}")
        return value


class Flag:
    def check(self, name, value):
        if not isinstance(value, bool):
            raise ValueError(f"{name}={value!r} is not valid; valid values: true, false")
        return value


class Text:
    def __init__(self, nullable=False):
        self.nullable = nullable

    def check(self, name, value):
        if value is None and self.nullable:
            return None
        if not isinstance(value, str) or not value:
            raise ValueError(f"{name}={value!r} is not valid; it must be a non-empty string")
        return value


class Space:
    def check(self, name, value):
        try:
            return canonical_space_name(value)
        except ValueError:
            raise ValueError(f"{name}={value!r} is not valid; valid values: {', '.join(SPACES)}") from None


class Baseline:
    def check(self, name, value):
        key = BASELINE_ALIASES.get(str(value).lower(), str(value).lower())
        if key not in BASELINES:
            raise ValueError(f"{name}={value!r} is not valid; valid values: {', '.join(BASELINES)}")
        return key


COMMON = {
    "seed": Number(int, 0), "num_threads": Number(int, 1), "accelerator": Choice("cpu", "gpu", "auto"),
    "devices": Number(int, 1), "sync_batchnorm": Flag(), "precision": Choice("32-true", "16-mixed", "bf16-mixed"),
    "dataset": Choice(*DATASET_NAMES), "data_dir": Text(), "batch_size": Number(int, 1),
    "eval_batch_size": Number(int, 1, nullable=True), "num_workers": Number(int, 0),
    "val_fraction": Number(float, 0, 1, nullable=True, low_open=True),
    "test_fraction": Number(float, 0, 1, nullable=True, low_open=True),
    "train_portion": Number(float, 0, 1, low_open=True), "augment": Choice(*AUGMENTATIONS),
    "subset": Number(int, 2, nullable=True), "pad_to": Number(int, 1, nullable=True),
    "verify": Choice(*VERIFY_MODES), "width_mult": Number(float, 0, low_open=True),
    "depth_mult": Number(float, 0, low_open=True), "header_channels": Number(int, 8),
    "stem_stride": Choice(1, 2),
    "adder_free_ends": Number(int, 0), "shift_mode": Choice(*SHIFT_MODES),
    "limit_train_batches": Number(float, 0, nullable=True, low_open=True),
    "checkpoint_root": Text(), "run_name": Text(),
}

STAGES = {
    "data": {},
    "pretrain": {"space": Space(), "pgp": Flag(), "epochs": Number(int, 1), "mult_epochs": Number(int, 0),
                 "adder_epochs": Number(int, 0), "full_width_fraction": Number(float, 0, 1),
                 "n_paths": Number(int, 1), "lr": Number(float, 0, low_open=True),
                 "weight_decay": Number(float, 0)},
    "search": {"space": Space(), "epochs": Number(int, 1), "mode": Choice(*SEARCH_MODES),
               "act_num": Number(int, 1), "lr": Number(float, 0, low_open=True), "weight_decay": Number(float, 0),
               "arch_lr": Number(float, 0, low_open=True), "tau0": Number(float, 0, low_open=True),
               "tau_decay": Number(float, 0, 1, low_open=True), "hw_weight": Number(float, 0),
               "cost_band_lo": Number(float, 0, nullable=True), "cost_band_hi": Number(float, 0, nullable=True),
               "pretrain_epochs": Number(int, 0)},
    "retrain": {"arch_source": Choice("search", "baseline"), "baseline": Baseline(), "epochs": Number(int, 1),
                "lr": Number(float, 0, low_open=True), "weight_decay": Number(float, 0),
                "schedule": Choice(*SCHEDULES), "milestones": Text(nullable=True), "quantize": Flag(),
                "label_smoothing": Number(float, 0, 1)},
}


def _coerce(value):
    """DVC renders YAML ``true`` / ``null`` into the command line as ``true`` / ``None``; papermill
    passes ``true`` through as a string.  Map the YAML spellings back."""
    if isinstance(value, str):
        if value.strip().lower() in ("true", "false"):
            return value.strip().lower() == "true"
        if value.strip() in ("null", "None", "~"):
            return None
    return value


def validate(stage: str, values: dict) -> dict:
    """Check the notebook's parameters of ``stage`` (and the common ones); return them cleaned."""
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r} is not valid; valid values: {', '.join(STAGES)}")
    schema = {**COMMON, **STAGES[stage]}
    clean = {}
    for name, rule in schema.items():
        if name in values:
            clean[name] = rule.check(f"{stage}.{name}", _coerce(values[name]))
    if stage == "search" and (clean.get("cost_band_lo") is None) != (clean.get("cost_band_hi") is None):
        raise ValueError("search.cost_band_lo and search.cost_band_hi must both be numbers or both null")
    if stage == "pretrain" and clean.get("pgp") and clean["mult_epochs"] + clean["adder_epochs"] > clean["epochs"]:
        raise ValueError(f"pretrain.mult_epochs + pretrain.adder_epochs must be <= pretrain.epochs={clean['epochs']}")
    return clean


def config_hash(values: dict) -> str:
    """A short stable hash of a parameter dict (names the checkpoint folder of a run)."""
    blob = json.dumps(values, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:12]
