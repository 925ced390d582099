"""Sanity checks of the method (not claims of the papers): what any NAS suite should show.

- **cost-weight sweep**: the search's hardware-cost term works: as its weight rises, the cost of
  the network found falls (or stays), judged on the means over seeds.  One point per weight
  (``params.yaml: sweep.hw_weights``, plus the main search at ``search.hw_weight``), each the mean
  and spread over seeds of the search's cost (its own unit: discounted MACs, fixed layers
  included) and of the retrained network's test accuracy.  The fixed baselines are placed in the
  same unit (:func:`baseline_cost`).
- **searched vs random**: the searched networks (one per seed) against networks drawn uniformly
  from the same space at the same cost (+- ``random.tolerance``), each retrained once (one per
  draw); the verdict is :func:`.stats.compare`'s: "searched better", "no difference within
  spread", "random better" (or "spread unknown" with fewer than two values a side).

Every number here is read from a metrics file (the sweep's ``reports/metrics/sweep/...``, the
draws' ``reports/metrics/random/...``, the main search and retrain metrics), or, for a
baseline's cost, computed from its architecture and the layout of the run's ``arch.json``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

from . import stats
from .inputs import PipelineOutputs

HOLDS, FAILS = "holds", "does not hold"
SEARCHED_BETTER, NO_DIFFERENCE, RANDOM_BETTER = "searched better", "no difference within spread", "random better"
SPREAD_UNKNOWN = stats.UNKNOWN
NOT_RUN = "not run in this profile"
SANITY_VERDICTS = (HOLDS, FAILS, SEARCHED_BETTER, NO_DIFFERENCE, RANDOM_BETTER, SPREAD_UNKNOWN, NOT_RUN)


@dataclass
class SweepPoint:
    """One cost weight of a swept run: the search's cost and the retrained accuracy per seed."""
    hw_weight: float
    main: bool                 # the main search (search.hw_weight), read from the search / retrain metrics
    cost: list                 # per seed, the search's unit
    acc: list                  # per seed, test accuracy in %
    files: list                # the metrics files read

    @property
    def label(self) -> str:
        return f"hw_weight {self.hw_weight:g}" + (" (main search)" if self.main else "")


def sweep_points(out: PipelineOutputs, run: str) -> list[SweepPoint]:
    """The swept run's points, by rising weight (the main search's among them)."""
    points = [SweepPoint(float(w), False, [s.doc["derived_cost"] for s in by_seed.values()],
                         [100.0 * s.doc["test_acc"] for s in by_seed.values()], [s.path for s in by_seed.values()])
              for w, by_seed in out.sweep[run].items()]
    search, retrain = out.per_seed("search", run), out.per_seed("retrain", run)
    points.append(SweepPoint(float(out.sweep_main_hw_weight), True, [s.doc["derived_cost"] for s in search.values()],
                             [100.0 * s.doc["test_acc"] for s in retrain.values()],
                             [s.path for s in search.values()] + [s.path for s in retrain.values()]))
    return sorted(points, key=lambda p: p.hw_weight)


def cost_unit(out: PipelineOutputs, run: str) -> str:
    """The unit of the swept run's search cost (every point must share it)."""
    units = {s.doc["cost_unit"] for by_seed in out.sweep[run].values() for s in by_seed.values()}
    units |= {s.doc["cost_unit"] for s in out.per_seed("search", run).values()}
    if len(units) != 1:
        raise ValueError(f"the sweep of {run!r} mixes cost units ({', '.join(sorted(units))}): rerun its search "
                         f"and sweep stages with the same cost")
    return units.pop()


def baseline_cost(arch: list, layout) -> float:
    """A fixed network's cost in the search's unit: the discounted MACs of every layer (stem,
    blocks, header, classifier), as the search counts a derived network's (fixed layers included)."""
    from ..nas.common import flops_cost
    from ..space import arch_layer_specs
    return flops_cost(arch_layer_specs(list(arch), layout))


@dataclass
class BaselinePoint:
    name: str
    arch: list
    cost: float
    acc: list                  # per seed, %


def baseline_points(out: PipelineOutputs, run: str) -> tuple[list[BaselinePoint], str]:
    """(the baselines' points in the swept run's cost unit, why there are none: '' when there are)."""
    from ..nas.common import FLOPS_COST_UNIT
    names = [n for n, s in sorted(out.retrain.items()) if s.doc["arch_source"] != "search"]
    if not names:
        return [], "no baseline was trained in this profile"
    if cost_unit(out, run) != FLOPS_COST_UNIT:
        return [], (f"the search's cost is in {cost_unit(out, run)}, not {FLOPS_COST_UNIT}: the baselines' cost "
                    f"is only computed in the latter")
    layout = out.layouts[run][1]
    return [BaselinePoint(n, out.retrain[n].doc["arch"], baseline_cost(out.retrain[n].doc["arch"], layout),
                          out.values("retrain", n, "test_acc", 100.0)) for n in names], ""


def monotone_cost(points: list[SweepPoint]) -> tuple[bool, str]:
    """Does the mean cost fall (or stay) at every step to a higher weight?  (ok, the first rise)."""
    for lo, hi in zip(points, points[1:]):
        if stats.mean(hi.cost) > stats.mean(lo.cost):
            return False, (f"the mean cost rises from {stats.mean(lo.cost):.4g} at hw_weight {lo.hw_weight:g} to "
                           f"{stats.mean(hi.cost):.4g} at {hi.hw_weight:g}")
    return True, ""


@dataclass
class SanityCheck:
    check: str                 # what is checked
    run: str
    verdict: str               # one of SANITY_VERDICTS
    reason: str
    numbers: dict = field(default_factory=dict)
    files: list = field(default_factory=list)

    def to_dict(self) -> dict:
        return asdict(self)


SWEEP_CHECK = "cost falls (or stays) as the cost weight rises"
RANDOM_CHECK = "searched networks beat random networks of the same cost"


def sweep_check(out: PipelineOutputs, run: str) -> SanityCheck:
    points = sweep_points(out, run)
    ok, why = monotone_cost(points)
    text = "; ".join(f"{p.hw_weight:g}: {stats.mean(p.cost):.4g}" for p in points)
    numbers = {"hw_weight": [p.hw_weight for p in points], "cost_mean": [stats.mean(p.cost) for p in points],
               "acc_mean_percent": [stats.mean(p.acc) for p in points]}
    files = [f for p in points for f in p.files]
    if ok:
        return SanityCheck(SWEEP_CHECK, run, HOLDS, f"mean cost by weight ({cost_unit(out, run)}): {text}",
                           numbers, files)
    return SanityCheck(SWEEP_CHECK, run, FAILS, f"{why} (mean cost by weight: {text})", numbers, files)


def random_comparison(out: PipelineOutputs, run: str, spread_multiple: float):
    """(searched accuracies %, random accuracies %, comparison searched - random, verdict)."""
    searched = out.values("retrain", run, "test_acc", 100.0)
    drawn = [100.0 * s.doc["test_acc"] for s in out.random[run].values()]
    c = stats.compare(searched, drawn, spread_multiple)
    if c.status == stats.UNKNOWN:
        verdict = SPREAD_UNKNOWN
    elif not c.counts:
        verdict = NO_DIFFERENCE
    else:
        verdict = SEARCHED_BETTER if c.diff > 0 else RANDOM_BETTER
    return searched, drawn, c, verdict


def random_check(out: PipelineOutputs, run: str, spread_multiple: float) -> SanityCheck:
    if not out.random[run]:
        return SanityCheck(RANDOM_CHECK, run, NOT_RUN, "params.yaml random.draws is empty")
    searched, drawn, c, verdict = random_comparison(out, run, spread_multiple)
    docs = list(out.random[run].values())
    costs = [s.doc["cost"] for s in docs]
    searched_cost = [s.doc["derived_cost"] for s in out.per_seed("search", run).values()]
    reason = (f"searched {stats.mean_sd_text(searched, unit='%')} against random "
              f"{stats.mean_sd_text(drawn, unit='%')}: "
              f"{c.describe('points')}; random networks' cost {stats.mean_sd_text(costs)} "
              f"(within +-{100 * docs[0].doc['tolerance']:g} % of the searched network of seed "
              f"{docs[0].doc['target_seed']}), the searched networks' {stats.mean_sd_text(searched_cost)}")
    numbers = {"searched_acc_percent": searched, "random_acc_percent": drawn, "difference_points": c.diff,
               "standard_error_points": c.se, "spread_multiple": c.spread_multiple}
    files = [s.path for s in out.per_seed("retrain", run).values()] + [s.path for s in docs]
    return SanityCheck(RANDOM_CHECK, run, verdict, reason, numbers, files)


def sanity_checks(out: PipelineOutputs, spread_multiple: float) -> list[SanityCheck]:
    """Every sanity check of this profile (a line saying so where its stages did not run)."""
    checks = [sweep_check(out, run) for run in sorted(out.sweep)] or \
        [SanityCheck(SWEEP_CHECK, "-", NOT_RUN, "no run is listed in params.yaml sweep.runs")]
    checks += [random_check(out, run, spread_multiple) for run in sorted(out.random)] or \
        [SanityCheck(RANDOM_CHECK, "-", NOT_RUN, "no run is listed in params.yaml random.runs")]
    return checks
