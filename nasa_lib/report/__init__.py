"""Figures and tables of the reports, drawn from the pipeline's outputs.

Public API::

    build_report(profile, runs, baselines, dance_runs, metrics_dir="reports/metrics", artifacts_dir="artifacts",
                 timing_dir="reports/timing", out_dir="reports", rules=None, *, seeds, sweep=None,
                 random=None) -> dict
        # REPORT.md, REPORT.html, REPORT_claims.json, TIMING.md, figures/report_*.png|svg, plots/*.csv
        # sweep = {"runs": [...], "hw_weights": [...], "main_hw_weight": x}, random = {"runs": [...], "draws": [...]}
    load_outputs(profile, runs, baselines, dance_runs, metrics_dir, artifacts_dir, *, seeds, sweep,
                 random) -> PipelineOutputs       # every seed's files, per run and seed
    load_reference(path=None) -> Reference          # paper_reference.yaml, the papers' cited values
    evaluate_claims(outputs, reference, rules) -> list[ClaimResult]       # ours + verdict per claim
    judge_hw_claim(outputs, claim_id, rules, setting="realistic", scale="embedded") -> HwJudgement
    hw_sensitivity(outputs, rules) -> (scale, settings, {claim: {setting: HwJudgement}})
    sanity_checks(outputs, spread_multiple) -> list[SanityCheck]          # cost-weight sweep, searched vs random
    compare(a, b, spread_multiple) -> Comparison    # the one comparison of every verdict (stats.py)
    VerdictRules(accuracy_tolerance_pp, min_over_chance_pp, min_reduction_percent,
                 evaluator_max_error_percent, spread_multiple)

``figures`` holds the stage notebooks' own figures (plot_search, ...),
``dance_figures`` those of the DANCE stages.  The run lists come from ``params.yaml`` (the report
stage, :mod:`nasa_lib.stages.report`), never from folder listings.
"""
from importlib import import_module

# names load on first use (PEP 562): a stage notebook that only draws with ``report.figures``
# imports that module alone, so its stage does not depend on the rest of the report code
_EXPORTS = {"FIGURES": "build", "build_report": "build",
            **{name: "claims" for name in ("IN_TIMING", "NOT_COMPARABLE", "NOT_REPRODUCED", "NOT_RUN", "REPRODUCED",
                                           "VERDICTS", "ClaimResult", "VerdictRules", "evaluate_claims", "resolve",
                                           "HW_CLAIMS", "HwJudgement", "judge_hw_claim", "hw_sensitivity")},
            **{name: "inputs" for name in ("PipelineOutputs", "load_outputs", "load_timing")},
            "load_reference": "reference", "sanity_checks": "sanity", "SanityCheck": "sanity",
            "compare": "stats", "Comparison": "stats"}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
