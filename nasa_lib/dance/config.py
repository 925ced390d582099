"""Parameters of the DANCE stages (dance_dataset, dance_evaluator, dance_coexplore), validated with
the pipeline's own helpers: a bad value fails at once with one line naming the parameter and its
valid values, e.g. ``dance.cost='flops' is not valid; valid values: latency, energy, edp, edap``.
"""
from __future__ import annotations

from ..nas.search import SEARCH_MODES
from ..pipeline.config import COMMON, Choice, Flag, Number, Space, _coerce
from .coexplore import ARCH_INPUTS, COST_FORMS
from .costtables import COSTS
from .design_space import load_design_space


class DesignSpaceName:
    def check(self, name, value):
        try:
            load_design_space(value)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{name}={value!r} is not valid; {exc}") from None
        return value


class Lambdas:
    """A comma-separated list of numbers >= 0 (DVC passes lists badly; the search stage's
    ``milestones`` uses the same convention)."""

    def check(self, name, value):
        text = str(value).strip() if value is not None else ""
        try:
            values = [float(v) for v in text.split(",") if v.strip()] if not isinstance(value, (int, float)) \
                else [float(value)]
        except ValueError:
            values = []
        if not values or any(not v >= 0 for v in values):
            raise ValueError(f"{name}={value!r} is not valid; it must be a comma-separated list of numbers >= 0, "
                             f"e.g. \"0.3,3\"")
        return values


PROBLEM = {"space": Space(), "design_space": DesignSpaceName(), "workers": Number(int, 1, nullable=True)}

STAGES = {
    "dance_dataset": {**PROBLEM, "dataset_seed": Number(int, 0), "n_archs": Number(int, 3),
                      "designs_per_arch": Number(int, 1),
                      "dataset_val_fraction": Number(float, 0, 1, low_open=True),
                      "dataset_test_fraction": Number(float, 0, 1, low_open=True)},
    "dance_evaluator": {**PROBLEM, "evaluator_hidden": Number(int, 1), "evaluator_depth": Number(int, 1),
                        "evaluator_epochs": Number(int, 1), "evaluator_batch_size": Number(int, 1),
                        "evaluator_lr": Number(float, 0, low_open=True), "evaluator_weight_decay": Number(float, 0)},
    "dance_coexplore": {**PROBLEM, "cost": Choice(*COSTS), "lambdas": Lambdas(), "epochs": Number(int, 1),
                        "mode": Choice(*SEARCH_MODES), "act_num": Number(int, 1),
                        "lr": Number(float, 0, low_open=True), "weight_decay": Number(float, 0),
                        "arch_lr": Number(float, 0, low_open=True), "tau0": Number(float, 0, low_open=True),
                        "tau_decay": Number(float, 0, 1, low_open=True), "pretrain_epochs": Number(int, 0),
                        "generator_hidden": Number(int, 1), "generator_lr": Number(float, 0, low_open=True),
                        "hw_tau": Number(float, 0, low_open=True), "straight_through": Flag(),
                        "cost_form": Choice(*COST_FORMS), "arch_input": Choice(*ARCH_INPUTS),
                        "plain_hw_weight": Number(float, 0), "retrain_epochs": Number(int, 0),
                        "retrain_lr": Number(float, 0, low_open=True), "retrain_weight_decay": Number(float, 0),
                        "joint_max_archs": Number(int, 0), "matched_tolerance": Number(float, 0)},
}


# Parameters of params.yaml's `dance` section: errors name them `dance.<name>`, as a user finds them
# there (the others are named after the stage, as the pipeline's own stages name theirs).
DANCE_SECTION = {"dataset_seed", "n_archs", "designs_per_arch", "workers", "dataset_val_fraction",
                 "dataset_test_fraction", "evaluator_hidden", "evaluator_depth", "evaluator_epochs",
                 "evaluator_batch_size", "evaluator_lr", "evaluator_weight_decay", "cost", "lambdas", "cost_form",
                 "arch_input", "generator_hidden", "generator_lr", "hw_tau", "straight_through", "retrain_epochs",
                 "joint_max_archs", "matched_tolerance"}


def validate(stage: str, values: dict) -> dict:
    """Check a DANCE notebook's parameters of ``stage`` (and the common ones); return them cleaned."""
    if stage not in STAGES:
        raise ValueError(f"stage={stage!r} is not valid; valid values: {', '.join(STAGES)}")
    schema = {**COMMON, **STAGES[stage]}
    clean = {}
    for name, rule in schema.items():
        if name in values:
            section = "dance" if name in DANCE_SECTION else stage
            clean[name] = rule.check(f"{section}.{name}", _coerce(values[name]))
    if stage == "dance_dataset" and clean.get("dataset_val_fraction", 0) + clean.get("dataset_test_fraction", 0) >= 1:
        raise ValueError("dance.dataset_val_fraction + dance.dataset_test_fraction must be < 1")
    return clean


__all__ = ["STAGES", "validate", "Lambdas", "DesignSpaceName"]
