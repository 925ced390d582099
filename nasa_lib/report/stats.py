"""The report's statistics over seeds: mean, sample standard deviation, the standard error of a
difference of two means, and the one comparison every verdict uses.

Each accuracy (and each cost of a searched network, whose architecture differs per seed) is a
list of values, one per seed.  A difference of two means counts only when it exceeds
``spread_multiple`` standard errors of the difference (``params.yaml: report.spread_multiple``)::

    SE = sqrt(s1^2 / n1 + s2^2 / n2)        s = sample standard deviation (n - 1 in the denominator)

With fewer than two values on a side its spread is unknown, and so is whether the difference
counts.  A side may also be one exact number (a paper's figure, a threshold): it has no spread
and its term drops out of SE.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

COUNTS = "outside the spread"          # |difference| > spread_multiple x SE
INSIDE = "inside the spread"           # |difference| <= spread_multiple x SE: cannot be told apart
UNKNOWN = "spread unknown"             # fewer than two values on a side


def _values(values, what: str = "values") -> list[float]:
    vals = [float(v) for v in values]
    if not vals:
        raise ValueError(f"{what} is empty: a mean needs at least one value")
    if not all(math.isfinite(v) for v in vals):
        raise ValueError(f"{what}={vals!r} holds a value that is not finite")
    return vals


def mean(values) -> float:
    vals = _values(values)
    return math.fsum(vals) / len(vals)


def sample_std(values) -> float | None:
    """Sample standard deviation (denominator n - 1); ``None`` for fewer than two values."""
    vals = _values(values)
    if len(vals) < 2:
        return None
    m = mean(vals)
    return math.sqrt(math.fsum((v - m) ** 2 for v in vals) / (len(vals) - 1))


def standard_error(values) -> float | None:
    """Standard error of the mean, s / sqrt(n); ``None`` for fewer than two values."""
    s = sample_std(values)
    return None if s is None else s / math.sqrt(len(values))


def se_difference(a, b) -> float | None:
    """sqrt(s_a^2 / n_a + s_b^2 / n_b); an exact number as ``b`` (or ``a``) contributes nothing.
    ``None`` when a list side has fewer than two values."""
    terms = []
    for side in (a, b):
        if isinstance(side, Real):
            continue
        se = standard_error(side)
        if se is None:
            return None
        terms.append(se ** 2)
    return math.sqrt(math.fsum(terms))


@dataclass(frozen=True)
class Comparison:
    """``a`` against ``b``: the difference of their means, its standard error and whether it counts."""
    mean_a: float
    mean_b: float
    sd_a: float | None     # None: one value (or an exact number: 0 spread, see n_a)
    sd_b: float | None
    n_a: int               # 0: an exact number
    n_b: int
    diff: float            # mean_a - mean_b
    se: float | None       # None: spread unknown
    spread_multiple: float
    status: str            # COUNTS | INSIDE | UNKNOWN

    @property
    def counts(self) -> bool:
        return self.status == COUNTS

    @property
    def threshold(self) -> float | None:
        """The |difference| it must exceed: spread_multiple x SE."""
        return None if self.se is None else self.spread_multiple * self.se

    def describe(self, unit: str = "") -> str:
        """'difference +1.5 points, SE 0.3 (needs |difference| > 2 SE = 0.6): outside the spread'."""
        u = f" {unit}" if unit else ""
        if self.se is None:
            return f"difference {self.diff:+.3g}{u}, {UNKNOWN} (fewer than two values on a side)"
        return (f"difference {self.diff:+.3g}{u}, SE {self.se:.3g}{u} (counts beyond {self.spread_multiple:g} SE = "
                f"{self.threshold:.3g}{u}): {self.status}")


def compare(a, b, spread_multiple: float) -> Comparison:
    """``a`` against ``b`` (each a list of values, one per seed or draw, or ``b`` one exact number
    such as a paper's figure): mean_a - mean_b, its standard error (:func:`se_difference`) and
    whether it counts: ``|diff| > spread_multiple x SE`` (:data:`COUNTS`), else :data:`INSIDE`;
    with fewer than two values on a list side, :data:`UNKNOWN`."""
    if isinstance(spread_multiple, bool) or not isinstance(spread_multiple, Real) or not spread_multiple > 0:
        raise ValueError(f"spread_multiple={spread_multiple!r} is not valid; it must be a number > 0")
    sides = []
    for side, name in ((a, "a"), (b, "b")):
        if isinstance(side, Real) and not isinstance(side, bool):
            sides.append((float(side), 0.0, 0))
        else:
            vals = _values(side, name)
            sides.append((mean(vals), sample_std(vals), len(vals)))
    (ma, sa, na), (mb, sb, nb) = sides
    se = se_difference(a, b)
    diff = ma - mb
    status = UNKNOWN if se is None else COUNTS if abs(diff) > spread_multiple * se else INSIDE
    return Comparison(ma, mb, sa, sb, na, nb, diff, se, float(spread_multiple), status)


def mean_sd_text(values, digits: str = ".4g", unit: str = "") -> str:
    """'95.5 ± 0.5 (n=3)'; one value: '95.5 (n=1)'."""
    vals = _values(values)
    u = f" {unit}" if unit else ""
    sd = sample_std(vals)
    if sd is None:
        return f"{format(mean(vals), digits)}{u} (n=1)"
    return f"{format(mean(vals), digits)} ± {format(sd, digits)}{u} (n={len(vals)})"
