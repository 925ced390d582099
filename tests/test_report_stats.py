"""The report's statistics over seeds (nasa_lib/report/stats.py), with numbers worked out by hand,
and the rule every verdict follows: a difference of two means counts only beyond
``spread_multiple`` standard errors of the difference, so a difference inside the spread is never
"reproduced"."""
from __future__ import annotations

import math

import pytest

from nasa_lib.report import stats
from nasa_lib.report.claims import (NOT_COMPARABLE, REPRODUCED, VerdictRules, _Builder, apply_formula, claim_pgp)
from nasa_lib.report.inputs import PipelineOutputs, Source


def test_mean_and_sample_standard_deviation_by_hand():
    assert stats.mean([1, 2, 3, 4]) == 2.5
    # 2, 4, 4, 4, 5, 5, 7, 9: mean 5, squared deviations sum to 32, over n - 1 = 7
    assert stats.sample_std([2, 4, 4, 4, 5, 5, 7, 9]) == pytest.approx(math.sqrt(32 / 7))
    assert stats.sample_std([95.5, 95.7, 95.3]) == pytest.approx(0.2)
    assert stats.sample_std([3.0]) is None and stats.standard_error([3.0]) is None
    assert stats.standard_error([1, 2, 3]) == pytest.approx(1 / math.sqrt(3))       # s = 1, n = 3
    with pytest.raises(ValueError, match="empty"):
        stats.mean([])
    with pytest.raises(ValueError, match="not finite"):
        stats.mean([1.0, float("nan")])


def test_standard_error_of_a_difference_by_hand():
    # s_a = 1 (1, 2, 3), s_b = 2 (2, 4, 6): sqrt(1/3 + 4/3) = sqrt(5/3)
    assert stats.se_difference([1, 2, 3], [2, 4, 6]) == pytest.approx(math.sqrt(5 / 3))
    # unequal sizes: s_a = 1 over 3, s_b = sqrt(2.5) over 5 (1..5): sqrt(1/3 + 2.5/5)
    assert stats.se_difference([1, 2, 3], [1, 2, 3, 4, 5]) == pytest.approx(math.sqrt(1 / 3 + 0.5))
    assert stats.se_difference([1, 2, 3], 0.0) == pytest.approx(1 / math.sqrt(3))  # an exact number: no spread
    assert stats.se_difference([1, 2, 3], [4]) is None                              # one value: unknown


def test_compare_counts_only_beyond_the_spread():
    # diff 2 - 4 = -2, SE sqrt(5/3) = 1.291: 2 SE = 2.582 > 2 -> inside the spread
    inside = stats.compare([1, 2, 3], [2, 4, 6], 2.0)
    assert inside.diff == pytest.approx(-2.0) and inside.se == pytest.approx(math.sqrt(5 / 3))
    assert inside.status == stats.INSIDE and not inside.counts
    # the same difference counts at 1.5 SE (1.94 < 2)
    assert stats.compare([1, 2, 3], [2, 4, 6], 1.5).counts
    # diff -4, SE sqrt(2/3) = 0.816: 2 SE = 1.63 < 4 -> counts
    outside = stats.compare([1, 2, 3], [5, 6, 7], 2.0)
    assert outside.diff == pytest.approx(-4.0) and outside.counts and outside.status == stats.COUNTS
    assert outside.threshold == pytest.approx(2 * math.sqrt(2 / 3))
    # one value a side: the spread is unknown, the difference never counts
    unknown = stats.compare([95.5], [90.0], 2.0)
    assert unknown.status == stats.UNKNOWN and unknown.se is None and not unknown.counts
    # equal values on both sides (zero spread): any difference counts, none does not
    assert stats.compare([8.0, 8.0], [4.0, 4.0], 2.0).counts
    assert not stats.compare([8.0, 8.0], [8.0, 8.0], 2.0).counts
    with pytest.raises(ValueError, match="spread_multiple=0 is not valid"):
        stats.compare([1, 2], [3, 4], 0)
    assert "SE 1.29" in inside.describe() and stats.INSIDE in inside.describe()


def test_mean_sd_text():
    assert stats.mean_sd_text([95.5, 95.7, 95.3]) == "95.5 ± 0.2 (n=3)"
    assert stats.mean_sd_text([95.5, 95.7, 95.3], unit="%") == "95.5 ± 0.2 % (n=3)"
    assert stats.mean_sd_text([7.0]) == "7 (n=1)"


def test_claims_formulas_mean_std_and_se_difference():
    assert apply_formula("mean", [1, 2, 3]) == 2
    assert apply_formula("std", [1, 2, 3]) == pytest.approx(1.0)
    assert apply_formula("se_difference", [1, 2, 3, 2, 4, 6], {"n_a": 3}) == pytest.approx(math.sqrt(5 / 3))
    with pytest.raises(ValueError, match="std needs at least two values"):
        apply_formula("std", [1.0])
    with pytest.raises(ValueError, match="se_difference needs params n_a"):
        apply_formula("se_difference", [1, 2, 3])


def _pgp_outputs(with_pgp: list, without: list) -> PipelineOutputs:
    """Supernet accuracies (fractions) per seed of a PGP run and its no-PGP twin."""
    out = PipelineOutputs(profile="t", data=Source("data.json", {"name": "fake", "num_classes": 10}), seeds=[0, 1, 2])
    for run, pgp, accs in (("H", True, with_pgp), ("H-noPGP", False, without)):
        out.pretrain_seeds[run] = {k: Source(f"pretrain/{run}/seed{k}.json", {"space": "Hybrid-All", "pgp": pgp,
                                                                             "final_val_acc": a, "history": []})
                                   for k, a in enumerate(accs)}
        out.pretrain[run] = out.pretrain_seeds[run][0]
    return out


def test_the_verdict_rule_uses_the_spread():
    """The must-show: the same mean gain (+5 points, more than the 1-point tolerance) is "reproduced"
    when the seeds agree and "not comparable at this scale" -- not "reproduced" -- when it lies
    inside their spread."""
    rules = VerdictRules(spread_multiple=2.0)
    tight = _pgp_outputs([0.60, 0.61, 0.59], [0.55, 0.56, 0.54])      # SE 0.816, 2 SE 1.63 < 5
    wide = _pgp_outputs([0.60, 0.75, 0.45], [0.55, 0.40, 0.70])       # SE 12.2, 2 SE 24.5 > 5
    verdict, reason = claim_pgp(tight, None, rules, _Builder())
    assert verdict == REPRODUCED, reason
    verdict, reason = claim_pgp(wide, None, rules, _Builder())
    assert verdict == NOT_COMPARABLE and verdict != REPRODUCED and "inside the spread" in reason
    # a looser spread rule (0.1 SE) lets the wide case count: the rule, not the numbers, decided
    assert claim_pgp(wide, None, VerdictRules(spread_multiple=0.1), _Builder())[0] == REPRODUCED
    # one seed: spread unknown, accuracy not comparable
    one = _pgp_outputs([0.60], [0.40])
    one.seeds = [0]
    verdict, reason = claim_pgp(one, None, rules, _Builder())
    assert verdict == NOT_COMPARABLE and "one seed" in reason
