"""Stage ``report``: ``reports/REPORT.md`` (+ HTML), its figures, the claims with their provenance,
``TIMING.md`` and the data of ``dvc plots``, from the outputs of the runs ``params.yaml`` lists."""
from __future__ import annotations

from . import paths
from .params import PARAMS_FILE, StageParams, stage_params

STAGE_PARAMS = ("profile", "report", "runs", "baselines", "dance_runs")


def load(params_file=PARAMS_FILE) -> StageParams:
    return stage_params(STAGE_PARAMS, params_file)


def run(p: StageParams) -> dict:
    from ..report import VerdictRules, build_report
    r = p.report
    rules = VerdictRules(r.accuracy_tolerance_pp, r.min_over_chance_pp, r.min_reduction_percent,
                         r.evaluator_max_error_percent)
    return build_report(p.profile, list(p.runs), list(p.baselines), list(p.dance_runs), paths.METRICS_DIR,
                        paths.ARTIFACTS_DIR, paths.TIMING_DIR, paths.REPORTS_DIR, rules)
