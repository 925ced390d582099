"""Stage ``report``: ``reports/REPORT.md`` (+ HTML), its figures, the claims with their provenance,
``TIMING.md`` and the data of ``dvc plots``, from the outputs of the runs ``params.yaml`` lists
(every seed, the cost-weight sweep and the random architectures)."""
from __future__ import annotations

from . import paths
from .params import PARAMS_FILE, StageParams, stage_params

STAGE_PARAMS = ("profile", "report", "runs", "baselines", "seeds", "sweep", "random", "search.hw_weight", "dance_runs")


def load(params_file=PARAMS_FILE) -> StageParams:
    return stage_params(STAGE_PARAMS, params_file)


def run(p: StageParams) -> dict:
    from ..report import VerdictRules, build_report
    r = p.report
    rules = VerdictRules(r.accuracy_tolerance_pp, r.min_over_chance_pp, r.min_reduction_percent,
                         r.evaluator_max_error_percent, r.spread_multiple)
    return build_report(p.profile, list(p.runs), list(p.baselines), list(p.dance_runs), paths.METRICS_DIR,
                        paths.ARTIFACTS_DIR, paths.TIMING_DIR, paths.REPORTS_DIR, rules, seeds=list(p.seeds),
                        sweep={"runs": list(p.sweep.runs), "hw_weights": list(p.sweep.hw_weights),
                               "main_hw_weight": p.search.hw_weight},
                        random={"runs": list(p.random.runs), "draws": list(p.random.draws)})
