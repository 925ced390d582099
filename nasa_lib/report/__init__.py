"""Figures and tables of the reports, drawn from the pipeline's outputs.

Public API::

    build_report(profile, metrics_dir="reports/metrics", artifacts_dir="artifacts",
                 timing_dir="reports/timing", out_dir="reports", rules=None) -> dict
        # REPORT.md, REPORT.html, REPORT_claims.json, TIMING.md, figures/report_*.png|svg, plots/*.csv
    load_outputs(profile, metrics_dir, artifacts_dir) -> PipelineOutputs   # what the stages wrote
    load_reference(path=None) -> Reference          # paper_reference.yaml, the papers' cited values
    evaluate_claims(outputs, reference, rules) -> list[ClaimResult]       # ours + verdict per claim
    VerdictRules(accuracy_tolerance_pp, min_over_chance_pp, min_reduction_percent,
                 evaluator_max_error_percent)

``figures`` holds the stage notebooks' own figures (plot_pretrain, plot_search, ...).
"""
from .build import FIGURES, build_report
from .claims import (IN_TIMING, NOT_COMPARABLE, NOT_REPRODUCED, NOT_RUN, REPRODUCED, VERDICTS, ClaimResult,
                     VerdictRules, evaluate_claims, resolve)
from .inputs import PipelineOutputs, load_outputs, load_timing
from .reference import load_reference

__all__ = ["FIGURES", "build_report", "IN_TIMING", "NOT_COMPARABLE", "NOT_REPRODUCED", "NOT_RUN", "REPRODUCED",
           "VERDICTS", "ClaimResult", "VerdictRules", "evaluate_claims", "resolve", "PipelineOutputs", "load_outputs",
           "load_timing", "load_reference"]
