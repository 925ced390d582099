"""The claims table: for each claim of the papers, our numbers and a verdict computed from them.

Each number of ours is an :class:`Item`: either *evidence* (a value read from a metrics file,
with the file and the JSON path it came from, so anyone can read it back) or *derived* (a named
formula over other items: a mean over seeds, their standard deviation, a reduction in %, a
difference in points...).  The training stages run once per seed (``params.yaml: seeds``), so an
accuracy is read once per seed (evidence items kept in ``REPORT_claims.json``) and shown as their
mean and standard deviation, "95.5 ± 0.5 % (n=3)".  The verdict is a rule over those numbers
(:class:`VerdictRules`, from ``params.yaml: report``), never written by hand; every difference of
two means goes through one comparison, :func:`.stats.compare`: it counts only when it exceeds
``spread_multiple`` standard errors of the difference.

- ``reproduced``: our numbers show what the paper claims, beyond the spread over seeds;
- ``not reproduced``: they do not (the difference is against the claim, or too small, beyond the spread);
- ``not comparable at this scale``: the run cannot resolve the question: networks at chance
  accuracy, a difference inside the spread over seeds, one seed only (spread unknown), a cost model
  that gives every mapping the same cost, another data set or a shorter recipe than the paper's;
- ``not run in this profile``: the stages the claim needs did not run;
- ``judged in TIMING.md``: a claim about wall time, whose numbers differ from run to run and so are
  kept out of REPORT.md (which regenerates byte for byte); TIMING.md gives them and the verdict.

The hardware claims (:data:`HW_CLAIMS`) compare the auto-mapper's EDP with an ablation on the same
networks (paired), in one setting of the cost model's switches at one scale
(:func:`judge_hw_claim`): the claims table judges the realistic setting on the embedded networks
(its verdict) and on the paper-size ones (beside it, in ``ClaimResult.scales``); the sensitivity
table (:func:`hw_sensitivity`) every setting at one scale.  The auto-mapper is judged against
every fixed dataflow the rows hold and holds only when it holds against each.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..opkinds import op_kind
from ..ops.registry import get_op
from . import stats
from .inputs import EMBEDDED, NASAF, PAPER, REALISTIC, PipelineOutputs, Source
from .reference import Reference

REPRODUCED = "reproduced"
NOT_REPRODUCED = "not reproduced"
NOT_COMPARABLE = "not comparable at this scale"
NOT_RUN = "not run in this profile"
IN_TIMING = "judged in TIMING.md"   # a wall-time claim: its numbers vary between runs, so not in REPORT.md
VERDICTS = (REPRODUCED, NOT_REPRODUCED, NOT_COMPARABLE, NOT_RUN, IN_TIMING)
COST_UNITS = {"latency": "ms", "energy": "uJ", "edp": "uJ x ms", "edap": "uJ x ms x mm^2"}
METRIC_NAMES = {"latency_ms": "latency", "energy_uj": "energy", "area_mm2": "area"}


@dataclass(frozen=True)
class VerdictRules:
    """Thresholds of the verdicts (params.yaml ``report`` section)."""
    accuracy_tolerance_pp: float = 1.0          # |difference| within this: "comparable accuracy"
    min_over_chance_pp: float = 20.0            # below chance + this: the network did not learn
    min_reduction_percent: float = 1.0          # a cost counts as lower from this reduction on
    evaluator_max_error_percent: float = 10.0   # evaluator MAPE up to this: it models the tool
    spread_multiple: float = 2.0                # a difference of means counts beyond this many standard errors

    def __post_init__(self):
        for name in ("accuracy_tolerance_pp", "min_over_chance_pp", "min_reduction_percent",
                     "evaluator_max_error_percent", "spread_multiple"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"report.{name}={v!r} is not valid; it must be a number >= 0")
        if not self.spread_multiple > 0:
            raise ValueError(f"report.spread_multiple={self.spread_multiple!r} is not valid; it must be a number > 0")

    def compare(self, a, b) -> stats.Comparison:
        """The one comparison of every verdict (:func:`.stats.compare` at ``spread_multiple``)."""
        return stats.compare(a, b, self.spread_multiple)


# ---- numbers with their provenance ----------------------------------------------------------
def resolve(doc, path):
    """Follow a JSON path: str keys, int indices, or ``{key: value}`` selecting the one list
    element whose fields match."""
    node = doc
    for step in path:
        if isinstance(step, dict):
            hits = [x for x in node if all(x.get(k) == v for k, v in step.items())]
            if len(hits) != 1:
                raise ValueError(f"path step {step} matches {len(hits)} elements, expected exactly 1")
            node = hits[0]
        else:
            node = node[step]
    return node


FORMULAS = ("reduction_percent", "difference", "ratio", "geomean_reduction_percent", "mean", "std",
            "se_difference", "min")


def apply_formula(formula: str, values: list[float], params: dict | None = None) -> float:
    """``reduction_percent(new, old)`` = 100 (1 - new/old); ``difference(a, b)`` = a - b;
    ``ratio(a, b)`` = a / b; ``geomean_reduction_percent(new1, old1, new2, old2, ...)`` =
    100 (1 - geometric mean of new_i / old_i); ``mean(x1..xn)``; ``min(x1..xn)``; ``std(x1..xn)``: the sample
    standard deviation (n - 1); ``se_difference(a1..ak, b1..bm)`` with ``params = {"n_a": k}``:
    sqrt(s_a^2/k + s_b^2/m), the standard error of mean(a) - mean(b)."""
    if formula == "reduction_percent":
        return 100.0 * (1.0 - values[0] / values[1])
    if formula == "difference":
        return values[0] - values[1]
    if formula == "ratio":
        return values[0] / values[1]
    if formula == "geomean_reduction_percent":
        logs = [math.log(n / o) for n, o in zip(values[0::2], values[1::2])]
        return 100.0 * (1.0 - math.exp(sum(logs) / len(logs)))
    if formula == "mean":
        return stats.mean(values)
    if formula == "min":
        return min(values)
    if formula == "std":
        sd = stats.sample_std(values)
        if sd is None:
            raise ValueError("formula std needs at least two values")
        return sd
    if formula == "se_difference":
        k = int((params or {}).get("n_a", 0))
        se = stats.se_difference(values[:k], values[k:]) if 0 < k < len(values) else None
        if se is None:
            raise ValueError(f"formula se_difference needs params n_a and at least two values a side, got "
                             f"n_a={k} of {len(values)}")
        return se
    raise ValueError(f"formula={formula!r} is not valid; valid values: {', '.join(FORMULAS)}")


@dataclass
class Item:
    group: str                 # the line of the table cell it is printed on
    label: str
    value: float               # as printed (raw value x scale)
    unit: str = ""
    kind: str = "evidence"     # evidence | derived
    source: str | None = None  # evidence: the file ...
    path: list | None = None   # ... and the JSON path in it
    scale: float = 1.0
    formula: str | None = None # derived: the formula ...
    args: list | None = None   # ... over these item indices
    params: dict | None = None # ... with these parameters (se_difference: n_a)
    shown: bool = True         # printed in the table cell (per-seed values: REPORT_claims.json only)
    n: int | None = None       # a mean: over this many values ...
    sd: int | None = None      # ... and the index of its standard deviation (printed "mean ± sd")


@dataclass
class ClaimResult:
    id: str
    paper: str
    statement: str
    figure: str
    citations: list
    verdict: str
    reason: str
    items: list = field(default_factory=list)
    # a hardware claim, judged at every scale of the hardware rows: scale -> {setting, verdict, reason}
    # (``verdict`` and ``reason`` above are the embedded networks')
    scales: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class Stat:
    """A quantity read once per seed: its values, their item indices and the mean (and sd) items."""
    values: list
    idx: list
    mean_idx: int
    sd_idx: int | None

    @property
    def mean(self) -> float:
        return stats.mean(self.values)

    @property
    def n(self) -> int:
        return len(self.values)


class _Builder:
    """Collects the items of one claim."""

    def __init__(self):
        self.items: list[Item] = []
        self.scales: dict = {}

    def read(self, group: str, label: str, src: Source, path: list, unit: str = "", scale: float = 1.0,
             shown: bool = True) -> int:
        raw = resolve(src.doc, path)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"{src.path}: {path} is {raw!r}, not a number")
        self.items.append(Item(group, label, float(raw) * scale, unit, source=src.path, path=list(path), scale=scale,
                               shown=shown))
        return len(self.items) - 1

    def derive(self, group: str, label: str, formula: str, args: list[int], unit: str = "", shown: bool = True,
               params: dict | None = None) -> int:
        value = apply_formula(formula, [self.items[i].value for i in args], params)
        self.items.append(Item(group, label, value, unit, kind="derived", formula=formula, args=list(args),
                               params=params, shown=shown))
        return len(self.items) - 1

    def stat(self, group: str, label: str, reads: list, unit: str = "", scale: float = 1.0) -> Stat:
        """One quantity per seed: ``reads`` = [(seed label, Source, JSON path)], each an evidence
        item (kept out of the table), then their mean (shown, with its n) and, from two values
        on, their standard deviation (shown beside the mean)."""
        idx = [self.read(group, f"{label} ({tag})", src, path, unit, scale, shown=False) for tag, src, path in reads]
        m = self.derive(group, label, "mean", idx, unit)
        sd = self.derive(group, f"{label}, standard deviation", "std", idx, unit, shown=False) if len(idx) > 1 else None
        self.items[m].n, self.items[m].sd = len(idx), sd
        return Stat([self.items[i].value for i in idx], idx, m, sd)

    def seeds(self, group: str, label: str, per_seed: dict, path: list, unit: str = "", scale: float = 1.0) -> Stat:
        """``path`` of every seed's file (``per_seed``: seed -> Source)."""
        return self.stat(group, label, [(f"seed {k}", src, path) for k, src in per_seed.items()], unit, scale)

    def difference(self, group: str, label: str, a: Stat, b: Stat, unit: str, rules: VerdictRules) -> stats.Comparison:
        """mean(a) - mean(b) (shown) and its standard error (shown when both sides have two values
        or more); the comparison the verdict uses."""
        self.derive(group, label, "difference", [a.mean_idx, b.mean_idx], unit)
        if a.n > 1 and b.n > 1:
            self.derive(group, "standard error", "se_difference", a.idx + b.idx, unit, params={"n_a": a.n})
        return rules.compare(a.values, b.values)

    def value(self, i: int) -> float:
        return self.items[i].value


# ---- what a network is made of ----------------------------------------------------------------
def op_kinds(arch: list[str]) -> set:
    """Operator kinds of a network's MBConv blocks (mult, shift, adder, shiftadd), skip left out."""
    return {kind for kind in (get_op(op).kind for op in arch) if op_kind(kind).mbconv}


def is_mult_only(arch) -> bool:
    return not has_mult_free(arch)


def has_mult_free(arch) -> bool:
    return any(op_kind(kind).mult_free for kind in op_kinds(arch))


ROW_KEYS = ("network", "seed", "scale", "setting", "mode")     # what identifies a hardware row


def _row_path(row: dict, key: str) -> list:
    """The JSON path of ``key`` in one hardware row, the row selected by its identifying fields."""
    return ["rows", {k: row[k] for k in ROW_KEYS if k in row}, key]


def _mapped_every_seed(out: PipelineOutputs, network: str, *modes) -> bool:
    return all(out.hw_row(network, k, m) is not None for k in out.per_seed("retrain", network) for m in modes)


def _archs(out: PipelineOutputs, network: str) -> list:
    return [src.doc["arch"] for src in out.per_seed("retrain", network).values()]


def _hw_stat(b: _Builder, out: PipelineOutputs, group: str, label: str, network: str, mode: str, key: str,
             unit: str) -> Stat:
    reads = [(f"seed {k}", out.hw, _row_path(out.hw_row(network, k, mode), key))
             for k in out.per_seed("retrain", network)]
    return b.stat(group, label, reads, unit)


def _trained(out: PipelineOutputs, acc_percent: float, rules: VerdictRules) -> bool:
    return acc_percent >= out.chance_percent + rules.min_over_chance_pp


def _chance_reason(out, what, acc, rules) -> str:
    return (f"{what} reached {acc:.4g} % accuracy, less than chance ({out.chance_percent:.4g} %) + "
            f"{rules.min_over_chance_pp:g} percentage points: too few epochs or images for accuracy to mean anything")


def _one_seed_reason(what: str) -> str:
    return (f"{what}: one seed, so the spread over seeds is unknown and accuracies cannot be compared "
            f"(params.yaml seeds: list two or more)")


def _spread(c: stats.Comparison, unit: str) -> str:
    return c.describe(unit)


# ---- the claims -------------------------------------------------------------------------------
def claim_accuracy_anchors(out: PipelineOutputs, ref: Reference, rules: VerdictRules, b: _Builder):
    anchors = {"cifar10": [("OnlyConv", "onlyconv_cifar10_top1_percent")],
               "cifar100": [("OnlyConv", "onlyconv_cifar100_top1_percent"),
                            ("Hybrid-All", "hybrid_all_cifar100_top1_percent")]}
    ours = [(run, key) for run, key in anchors.get(out.dataset, []) if run in out.retrain]
    acc = {run: b.seeds(run, "test accuracy", out.per_seed("retrain", run), ["test_acc"], "%", 100.0)
           for run, _ in ours}
    if out.dataset not in anchors:
        return NOT_COMPARABLE, (f"the paper's anchors are on CIFAR-10/100; this profile trains on {out.dataset}")
    if not ours:
        return NOT_RUN, "no OnlyConv or Hybrid-All search was retrained in this profile"
    epochs = {run: min(s.doc.get("epochs", 0) for s in out.per_seed("retrain", run).values()) for run, _ in ours}
    short = [run for run, _ in ours if epochs[run] < ref.value("retrain_epochs")]
    if short:
        return NOT_COMPARABLE, (f"{', '.join(short)} retrained for {epochs[short[0]]} epochs, "
                                f"the paper's recipe {ref.value('retrain_epochs'):g}")
    outcomes = []
    for run, key in ours:
        c = rules.compare(acc[run].values, ref.value(key))      # the paper's figure: one number, no spread
        gap = f"{run}: {c.mean_a:.4g} % against the paper's {ref.value(key):g} % ({_spread(c, 'points')})"
        if c.status == stats.UNKNOWN:
            outcomes.append((NOT_COMPARABLE, _one_seed_reason(run)))
        elif abs(c.diff) <= rules.accuracy_tolerance_pp:
            outcomes.append((REPRODUCED, f"{gap}, within {rules.accuracy_tolerance_pp:g} points"))
        elif c.counts:
            outcomes.append((NOT_REPRODUCED, f"{gap}, more than {rules.accuracy_tolerance_pp:g} points"))
        else:
            outcomes.append((NOT_COMPARABLE, f"{gap}: the gap is inside the spread over seeds"))
    return _combine(outcomes)


def claim_hybrid_beats_mult_only(out, ref, rules, b: _Builder):
    if out.hw is None:
        return NOT_RUN, "the hw_mapping stage did not run"
    mapped = sorted(n for n in out.retrain if _mapped_every_seed(out, n, "auto", "multiplier_only"))
    mult_only = [n for n in mapped if all(is_mult_only(a) for a in _archs(out, n))]
    # every network is a hybrid through its conv stem and header: a searched one with shift or adder
    # blocks (every seed's) is what NASA's search yields
    hybrids = [n for n in mapped if out.retrain[n].doc["arch_source"] == "search"
               and all(has_mult_free(a) for a in _archs(out, n))]
    if not mult_only:
        return NOT_RUN, "no multiplication-only network (all-conv baseline or OnlyConv search) was trained"
    if not hybrids:
        searched = [n for n in mapped if out.retrain[n].doc["arch_source"] == "search"]
        return (NOT_COMPARABLE, "no searched network has shift or adder blocks at every seed") if searched \
            else (NOT_RUN, "no search ran in this profile")
    acc = {n: stats.mean(out.values("retrain", n, "test_acc", 100.0)) for n in mapped}
    edp = {n: stats.mean([out.hw_row(n, k, "auto")["edp_uj_ms"] for k in out.per_seed("retrain", n)])
           for n in mapped}
    ref_net = max(mult_only, key=lambda n: acc[n])          # the most accurate multiplication-only network
    comparable = [h for h in hybrids if acc[h] >= acc[ref_net] - rules.accuracy_tolerance_pp]
    hyb = min(comparable, key=lambda n: edp[n]) if comparable else max(hybrids, key=lambda n: acc[n])
    g_ref, g_hyb = f"{ref_net} (multiplier-only accelerator)", f"{hyb} (chunk-based, auto-mapper)"
    a_ref = b.seeds(g_ref, "accuracy", out.per_seed("retrain", ref_net), ["test_acc"], "%", 100.0)
    e_ref = _hw_stat(b, out, g_ref, "energy", ref_net, "multiplier_only", "energy_uj", "uJ")
    d_ref = _hw_stat(b, out, g_ref, "EDP", ref_net, "multiplier_only", "edp_uj_ms", "uJ x ms")
    a_h = b.seeds(g_hyb, "accuracy", out.per_seed("retrain", hyb), ["test_acc"], "%", 100.0)
    e_h = _hw_stat(b, out, g_hyb, "energy", hyb, "auto", "energy_uj", "uJ")
    d_h = _hw_stat(b, out, g_hyb, "EDP", hyb, "auto", "edp_uj_ms", "uJ x ms")
    g = "hybrid vs multiplication-only"
    ca = b.difference(g, "accuracy", a_h, a_ref, "points", rules)
    costs = {}
    for name, new, old in (("energy", e_h, e_ref), ("EDP", d_h, d_ref)):
        red = b.value(b.derive(g, name, "reduction_percent", [new.mean_idx, old.mean_idx], "% lower"))
        costs[name] = (red, rules.compare(new.values, old.values))
    if not _trained(out, a_ref.mean, rules):
        return NOT_COMPARABLE, _chance_reason(out, ref_net, a_ref.mean, rules)
    if ca.status == stats.UNKNOWN:
        return NOT_COMPARABLE, _one_seed_reason(f"{hyb} vs {ref_net}")
    if ca.diff < -rules.accuracy_tolerance_pp:
        if ca.counts:
            return NOT_REPRODUCED, (f"no hybrid within {rules.accuracy_tolerance_pp:g} percentage points of "
                                    f"{ref_net}'s accuracy (best: {hyb}, {_spread(ca, 'points')})")
        return NOT_COMPARABLE, (f"{hyb} is {-ca.diff:.3g} points less accurate than {ref_net}, but the difference "
                                f"is inside the spread over seeds ({_spread(ca, 'points')})")
    text = ", ".join(f"{name} {red:.3g} % lower ({_spread(c, 'uJ' if name == 'energy' else 'uJ x ms')})"
                     for name, (red, c) in costs.items())
    lower = {name: red >= rules.min_reduction_percent and c.counts for name, (red, c) in costs.items()}
    if all(lower.values()):
        return REPRODUCED, f"{hyb}: {text}, at {ca.diff:+.3g} points accuracy"
    if any(c.counts and not lower[name] for name, (_, c) in costs.items()):
        return NOT_REPRODUCED, f"{hyb}: {text} (needs >= {rules.min_reduction_percent:g} % each, beyond the spread)"
    return NOT_COMPARABLE, f"{hyb}: {text}: a cost difference inside the spread over seeds"


def claim_pgp(out, ref, rules, b: _Builder):
    pairs = []
    for space in sorted({s.doc["space"] for s in out.pretrain.values()}):
        with_pgp = sorted(r for r, s in out.pretrain.items() if s.doc["space"] == space and s.doc["pgp"])
        without = sorted(r for r, s in out.pretrain.items() if s.doc["space"] == space and not s.doc["pgp"])
        if with_pgp and without and space != "OnlyConv":
            pairs.append((with_pgp[0], without[0]))
    pairs = [(p, n) for p, n in pairs
             if all(s.doc.get("final_val_acc") is not None
                    for r in (p, n) for s in out.per_seed("pretrain", r).values())]
    if not pairs:
        return NOT_RUN, "no hybrid space was pretrained both with and without PGP"
    outcomes = []
    for p, n in pairs:
        g = f"{p} vs {n}"
        sp = b.seeds(g, "supernet val. accuracy with PGP", out.per_seed("pretrain", p), ["final_val_acc"], "%", 100.0)
        sn = b.seeds(g, "without", out.per_seed("pretrain", n), ["final_val_acc"], "%", 100.0)
        cs = b.difference(g, "PGP gain", sp, sn, "points", rules)
        cr = None
        if p in out.retrain and n in out.retrain:
            rp = b.seeds(g, "searched network's test accuracy with PGP", out.per_seed("retrain", p), ["test_acc"],
                         "%", 100.0)
            rn = b.seeds(g, "without", out.per_seed("retrain", n), ["test_acc"], "%", 100.0)
            cr = b.difference(g, "difference", rp, rn, "points", rules)
            nets_learned = _trained(out, min(rp.mean, rn.mean), rules)
        untrained = [f"{r}'s supernet {s.mean:.3g} %" for r, s in ((p, sp), (n, sn))
                     if not _trained(out, s.mean, rules)]
        if untrained:
            outcomes.append((NOT_COMPARABLE, f"{p}: {' and '.join(untrained)} (mean over seeds) below chance "
                             f"({out.chance_percent:.4g} %) + {rules.min_over_chance_pp:g} points: a supernet that "
                             f"has not learned has no accuracy to compare"))
        elif cs.status == stats.UNKNOWN:
            outcomes.append((NOT_COMPARABLE, _one_seed_reason(g)))
        elif not cs.counts:
            outcomes.append((NOT_COMPARABLE, f"{p}: PGP supernet {cs.diff:+.3g} points, inside the spread over seeds "
                             f"({_spread(cs, 'points')})"))
        elif cs.diff < rules.accuracy_tolerance_pp:
            outcomes.append((NOT_REPRODUCED, f"{p}: PGP supernet {cs.diff:+.3g} points ({_spread(cs, 'points')}; "
                             f"needs >= {rules.accuracy_tolerance_pp:g} points)"))
        elif cr is not None and nets_learned and cr.diff < -rules.accuracy_tolerance_pp and cr.counts:
            outcomes.append((NOT_REPRODUCED, f"{p}: PGP supernet {cs.diff:+.3g} points, but the searched network "
                             f"is less accurate with PGP ({_spread(cr, 'points')})"))
        else:
            net = "" if cr is None else f"; searched network {cr.diff:+.3g} points ({cr.status})"
            outcomes.append((REPRODUCED, f"{p}: PGP supernet {cs.diff:+.3g} points ({_spread(cs, 'points')}){net}"))
    return _combine(outcomes)


def _combine(outcomes):
    """All comparable outcomes must reproduce; none comparable: not comparable."""
    tested = [o for o in outcomes if o[0] in (REPRODUCED, NOT_REPRODUCED)]
    if not tested:
        return NOT_COMPARABLE, "; ".join(r for _, r in outcomes)
    verdict = REPRODUCED if all(v == REPRODUCED for v, _ in tested) else NOT_REPRODUCED
    return verdict, "; ".join(r for _, r in outcomes)


# ---- the hardware claims: the auto-mapper's EDP against an ablation, at a scale and a setting --------
SCALE_NAMES = {EMBEDDED: "embedded networks", PAPER: "paper-size networks"}
SCALE_PREFIX = {EMBEDDED: "embedded", PAPER: "paper-size"}
MULT_FREE_CHUNKS = ("shift", "adder")     # chunks of the chunk-based accelerator that run no multiplication


def scale_name(scale: str) -> str:
    """'embedded networks' (the profile's trained networks), 'paper-size networks' (the papers' CIFAR layout)."""
    return SCALE_NAMES.get(scale, f"{scale} networks")


def setting_name(setting: str) -> str:
    """'realistic setting', 'NASA-F-compatible setting', 'realistic setting, static_energy flipped'."""
    if setting == REALISTIC:
        return "realistic setting"
    if setting == NASAF:
        return "NASA-F-compatible setting"
    if setting.startswith("flip:"):
        return f"realistic setting, {setting[len('flip:'):]} flipped"
    return f"setting {setting}"


def fixed_modes(out: PipelineOutputs) -> list[str]:
    """The fixed-dataflow ablations the hardware rows hold (``fixed_RS``, ``fixed_IS``, ...)."""
    return [m for m in out.hw_modes() if m.startswith("fixed_")]


def fixed_name(mode: str) -> str:
    """'fixed RS' for ``fixed_RS``."""
    return "fixed " + mode[len("fixed_"):] if mode.startswith("fixed_") else mode


def row_has_mult_free(row: dict) -> bool:
    """A mapped network has shift or adder layers: it counts shifts, or the chunk-based
    accelerator gave PEs to its shift or adder chunk (a chunk without work gets none)."""
    return (row.get("shift_ops") or 0) > 0 or any((row.get("pe_split") or {}).get(c, 0) > 0 for c in MULT_FREE_CHUNKS)


def _networks(n: int) -> str:
    return f"{n} network" + ("s" if n != 1 else "")


def _distinct_networks(out: PipelineOutputs, modes, setting: str = REALISTIC, scale: str = EMBEDDED) -> dict:
    """Network -> the seeds of its distinct architectures with shift or adder layers, mapped with
    the auto-mapper and under every one of ``modes`` in ``setting`` at ``scale`` (a network the same
    every seed, such as a baseline: once).  A trained network's architectures are its retrain
    files'; a network mapped at another scale (paper-size) is told by its rows, one per seed."""
    modes = ("auto", *modes)
    found = {}
    for n in dict.fromkeys(r["network"] for r in out.hw_rows("auto", setting=setting, scale=scale)):
        if scale == EMBEDDED and n in out.retrain:
            candidates = [(k, tuple(src.doc["arch"]), has_mult_free(src.doc["arch"]))
                          for k, src in out.per_seed("retrain", n).items()]
        else:
            candidates = [(r.get("seed"), r.get("seed"), row_has_mult_free(r))
                          for r in out.hw_rows("auto", n, setting=setting, scale=scale)]
        seen, seeds = set(), []
        for k, arch, mult_free in candidates:
            if arch in seen or not mult_free:
                continue
            if any(out.hw_row(n, k, m, setting=setting, scale=scale) is None for m in modes):
                continue
            seen.add(arch)
            seeds.append(k)
        if seeds:
            found[n] = seeds
    return dict(sorted(found.items()))


@dataclass
class HwJudgement:
    """One hardware claim judged on one setting's rows at one scale."""
    claim: str
    setting: str
    scale: str
    verdict: str
    reason: str
    reduction_percent: float | None = None    # the EDP reduction the verdict rests on (None: none computed)
    against: str | None = None                # what it is against (the auto-mapper claim: the best fixed dataflow)

    def to_dict(self) -> dict:
        return asdict(self)


def _read_edp(b: _Builder, out, group, label, network, seed, mode, setting, scale, shown) -> int:
    row = out.hw_row(network, seed, mode, setting=setting, scale=scale)
    return b.read(group, label, out.hw, _row_path(row, "edp_uj_ms"), "uJ x ms", shown=shown)


def _edp_pairs(out, b: _Builder, nets: dict, mode: str, what: str, setting: str, scale: str, prefix: str,
               shown: bool, auto_idx: dict | None = None):
    """Per distinct network, the EDP with the auto-mapper and under ``mode`` (evidence items;
    ``auto_idx``: the auto-mapper's items already read, (network, seed) -> index), each network's
    reduction (shown when ``shown``), and the per-network log reductions 100 ln(old / new).
    Returns (pairs: [new, old, new, old, ...] item indices, logs, auto_idx)."""
    auto_idx = {} if auto_idx is None else auto_idx
    pairs, logs = [], []
    for n, seeds in nets.items():
        group = f"{prefix}{n}"
        own = []
        for k in seeds:
            suffix = f" (seed {k})" if len(seeds) > 1 else ""
            if (n, k) not in auto_idx:
                auto_idx[(n, k)] = _read_edp(b, out, group, f"EDP with the auto-mapper{suffix}", n, k, "auto",
                                             setting, scale, shown and len(seeds) == 1)
            new = auto_idx[(n, k)]
            old = _read_edp(b, out, group, f"with {what}{suffix}", n, k, mode, setting, scale,
                            shown and len(seeds) == 1)
            own += [new, old]
            logs.append(100.0 * math.log(b.value(old) / b.value(new)))
        if shown and len(seeds) > 1:     # a searched run: its networks' mean EDPs, shown with their spread
            for label, idx in (("EDP with the auto-mapper", own[0::2]), (f"with {what}", own[1::2])):
                m = b.derive(group, label, "mean", idx, "uJ x ms")
                b.items[m].n, b.items[m].sd = len(idx), b.derive(group, f"{label}, standard deviation", "std", idx,
                                                                 "uJ x ms", shown=False)
        b.derive(group, "reduction" if len(seeds) == 1 else f"geometric-mean reduction over {len(seeds)} seeds",
                 "reduction_percent" if len(seeds) == 1 else "geomean_reduction_percent", own, "%", shown=shown)
        pairs += own
    return pairs, logs, auto_idx


def _reduction_verdict(rules: VerdictRules, red: float, logs: list, what: str, over: str | None):
    """The verdict of one paired EDP comparison: ``red`` the geometric-mean reduction (%), ``logs``
    the per-network 100 ln(EDP with ``what`` / with the auto-mapper), their spread the test.
    Reproduced: a reduction of at least ``min_reduction_percent`` beyond the spread; not
    reproduced: a smaller one beyond the spread, or one whose whole spread band lies below
    ``min_reduction_percent``; not comparable: inside the spread."""
    c = rules.compare(logs, 0.0)      # mean log reduction (x100) against none, its spread over the networks
    if over is None:                  # a short text: the caller says what the numbers are
        over, spread = (f"mean {c.diff:.3g}, SE {c.se:.3g}: {c.status}" if c.se is not None
                        else "one network: spread unknown"), ""
    else:
        spread = "; " + (f"per network, 100 ln(EDP with {what} / with the auto-mapper): mean {c.diff:.3g}, SE "
                         f"{c.se:.3g}, counts beyond {rules.spread_multiple:g} SE: {c.status}" if c.se is not None
                         else "one network: spread unknown, judged by the reduction alone")
    if c.status == stats.INSIDE:
        top = 100.0 * (1.0 - math.exp(-(c.diff + c.threshold) / 100.0))    # the top of the spread band, in %
        if top < rules.min_reduction_percent:
            return NOT_REPRODUCED, (f"EDP {red:.3g} % lower ({over}{spread}; even the top of the spread band, "
                                    f"{top:.3g} %, is below the {rules.min_reduction_percent:g} % needed)")
        return NOT_COMPARABLE, (f"EDP {red:.3g} % lower ({over}{spread}), but the reductions vary across the networks "
                                f"more than that: inside the spread")
    if red >= rules.min_reduction_percent:
        return REPRODUCED, f"EDP {red:.3g} % lower ({over}{spread})"
    return NOT_REPRODUCED, f"EDP {red:.3g} % lower ({over}{spread}; needs >= {rules.min_reduction_percent:g} %)"


def _over(count: int, scale: str = EMBEDDED) -> str:
    if scale == EMBEDDED:
        return f"geometric mean over {_networks(count)}: each seed's searched network and each baseline once"
    return f"geometric mean over {count} {scale_name(scale) if count != 1 else scale_name(scale)[:-1]}"


def _edp_ablation(out, rules, b: _Builder, mode: str, what: str, setting: str = REALISTIC, scale: str = EMBEDDED,
                  prefix: str = "") -> tuple:
    """EDP with the auto-mapper against ``mode``, per distinct network (each seed's searched
    network; a baseline once): the same network under two mappings, so the reductions are paired
    and their spread is that of the per-network log reductions.  Returns (verdict, reason,
    reduction %)."""
    if out.hw is None:
        return NOT_RUN, "the hw_mapping stage did not run", None
    nets = _distinct_networks(out, (mode,), setting, scale)
    if not nets:
        return NOT_COMPARABLE, f"no {scale_name(scale)[:-1]} with shift or adder layers was mapped", None
    pairs, logs, _ = _edp_pairs(out, b, nets, mode, what, setting, scale, prefix, shown=True)
    count = len(logs)
    red = b.value(b.derive(f"{prefix}{_networks(count)} with shift or adder layers", "geometric-mean EDP reduction",
                           "geomean_reduction_percent", pairs, "%"))
    if all(b.value(n) == b.value(o) for n, o in zip(pairs[0::2], pairs[1::2])):
        return NOT_COMPARABLE, (f"the cost model gives the same EDP with {what} as with the auto-mapper for every "
                                f"network ({_over(count, scale)}): at this scale it cannot resolve the question"), red
    verdict, reason = _reduction_verdict(rules, red, logs, what, _over(count, scale))
    return verdict, reason, red


def _automapper_ablation(out, rules, b: _Builder, setting: str = REALISTIC, scale: str = EMBEDDED,
                         prefix: str = "") -> tuple:
    """The auto-mapper against every fixed dataflow (``fixed_RS``, ``fixed_IS``, ...): each judged
    as :func:`_edp_ablation` on the same networks; reproduced only when it holds against each.
    Also shown: the reduction against the best fixed dataflow of each network (their lowest EDP).
    Returns (verdict, reason, the smallest reduction %, the fixed dataflow it is against)."""
    if out.hw is None:
        return NOT_RUN, "the hw_mapping stage did not run", None, None
    modes = fixed_modes(out)
    if not modes:
        return NOT_RUN, "the hw_mapping stage mapped no fixed dataflow", None, None
    nets = _distinct_networks(out, modes, setting, scale)
    if not nets:
        return NOT_COMPARABLE, f"no {scale_name(scale)[:-1]} with shift or adder layers was mapped", None, None
    count = sum(len(seeds) for seeds in nets.values())
    total = f"{prefix}{_networks(count)} with shift or adder layers"
    auto_idx, fixed_pairs, results = None, {}, {}
    for m in modes:
        pairs, logs, auto_idx = _edp_pairs(out, b, nets, m, fixed_name(m), setting, scale, prefix, shown=False,
                                           auto_idx=auto_idx)
        label = "EDP reduction against " + fixed_name(m) if m == modes[0] else f"against {fixed_name(m)}"
        red = b.value(b.derive(total, label, "geomean_reduction_percent", pairs, "%"))
        fixed_pairs[m] = pairs
        results[m] = (red, logs)
    best_pairs = []
    for i, ((n, k), new) in enumerate(auto_idx.items()):      # every mode's pairs follow this order
        olds = [fixed_pairs[m][2 * i + 1] for m in modes]
        suffix = f" (seed {k})" if len(nets[n]) > 1 else ""
        best_pairs += [new, b.derive(f"{prefix}{n}", f"EDP with the best fixed dataflow{suffix}", "min", olds,
                                     "uJ x ms", shown=False)]
    best_red = b.value(b.derive(total, "against the best fixed dataflow of each network", "geomean_reduction_percent",
                                best_pairs, "%"))
    if all(b.value(p[i]) == b.value(p[i + 1]) for p in fixed_pairs.values() for i in range(0, len(p), 2)):
        return NOT_COMPARABLE, (f"the cost model gives the same EDP with every fixed dataflow as with the auto-mapper "
                                f"for every network ({_over(count, scale)}): at this scale it cannot resolve the "
                                f"question"), 0.0, None
    verdicts = {m: _reduction_verdict(rules, red, logs, fixed_name(m), None) for m, (red, logs) in results.items()}
    least = min(modes, key=lambda m: results[m][0])       # the best fixed dataflow: the smallest reduction
    lines = [f"{fixed_name(m)}: {verdicts[m][0]}, {verdicts[m][1]}" for m in modes]
    summary = (f"against the best fixed dataflow, {least[len('fixed_'):]}: EDP {results[least][0]:.3g} % lower; "
               f"against the best fixed dataflow of each network: {best_red:.3g} % lower ({_over(count, scale)}). "
               f"Per fixed dataflow, with the per-network 100 ln(EDP with it / with the auto-mapper) and whether it "
               f"counts beyond {rules.spread_multiple:g} SE: ")
    vs = [v for v, _ in verdicts.values()]
    if NOT_REPRODUCED in vs:
        verdict = NOT_REPRODUCED
        head = ("not against every fixed dataflow: not reproduced against "
                + ", ".join(fixed_name(m) for m in modes if verdicts[m][0] == NOT_REPRODUCED))
    elif all(v == REPRODUCED for v in vs):
        verdict, head = REPRODUCED, f"against every fixed dataflow ({', '.join(fixed_name(m) for m in modes)})"
    else:
        verdict = NOT_COMPARABLE
        head = "inside the spread against " + ", ".join(fixed_name(m) for m in modes
                                                         if verdicts[m][0] == NOT_COMPARABLE)
    return verdict, f"{head}; {summary}" + "; ".join(lines), results[least][0], fixed_name(least)


HW_CLAIMS = {   # claim id -> (what the auto-mapper is set against, the mode)
    "automapper_vs_fixed_dataflow": ("every fixed dataflow", None),
    "searched_split_vs_flops_proportional": ("the FLOPs-proportional split", "flops_proportional"),
    "chunking_vs_multiplier_only": ("the multiplier-only accelerator", "multiplier_only"),
}


def judge_hw_claim(out: PipelineOutputs, claim_id: str, rules: VerdictRules | None = None,
                   setting: str = REALISTIC, scale: str = EMBEDDED, b: _Builder | None = None,
                   prefix: str = "") -> HwJudgement:
    """Judge one hardware claim (:data:`HW_CLAIMS`) on the rows of ``setting`` at ``scale``; its
    numbers go to ``b`` (a fresh builder when ``None``), each group prefixed by ``prefix``."""
    if claim_id not in HW_CLAIMS:
        raise ValueError(f"claim_id={claim_id!r} is not a hardware claim; valid ids: {', '.join(HW_CLAIMS)}")
    rules = rules or VerdictRules()
    b = b or _Builder()
    what, mode = HW_CLAIMS[claim_id]
    if mode is None:
        verdict, reason, red, against = _automapper_ablation(out, rules, b, setting, scale, prefix)
    else:
        (verdict, reason, red), against = _edp_ablation(out, rules, b, mode, what, setting, scale, prefix), what
        split = chunking_split(out, setting, scale) if claim_id == "chunking_vs_multiplier_only" else None
        if split is not None:
            reason += (f"; of that gain (100 ln of the EDP ratio, geometric mean over {split['networks']} networks), "
                       f"chunking gives {split['chunking_percent']:.0f} % (dedicated shift / adder chunks at 8 bits, "
                       f"mode chunk_8bit) and narrower words {split['words_percent']:.0f} % (those chunks at 6 bits)")
    return HwJudgement(claim_id, setting, scale, verdict, reason, red, against if red is not None else None)


def chunking_split(out: PipelineOutputs, setting: str = REALISTIC, scale: str = EMBEDDED) -> dict | None:
    """Claim 6's gain split in two: multiplier-only -> chunk-based with 8-bit shift and adder chunks
    (``chunk_8bit``: chunking) -> chunk-based at 6 bits (``auto``: narrower words).  Means of the
    per-network 100 ln(EDP ratio) over the networks with shift or adder layers mapped in all three
    modes; shares of the whole gain in %.  None when there are no such networks (or no gain)."""
    nets = _distinct_networks(out, ("multiplier_only", "chunk_8bit"), setting, scale)
    chunking, words = [], []
    for n, seeds in nets.items():
        for k in seeds:
            edp = {m: out.hw_row(n, k, m, setting=setting, scale=scale)["edp_uj_ms"]
                   for m in ("multiplier_only", "chunk_8bit", "auto")}
            chunking.append(100.0 * math.log(edp["multiplier_only"] / edp["chunk_8bit"]))
            words.append(100.0 * math.log(edp["chunk_8bit"] / edp["auto"]))
    if not chunking:
        return None
    c, w = sum(chunking) / len(chunking), sum(words) / len(words)
    if not c + w > 0:
        return None
    return {"networks": len(chunking), "chunking_log": c, "words_log": w,
            "chunking_percent": 100.0 * c / (c + w), "words_percent": 100.0 * w / (c + w)}


def _hw_claim(claim_id: str):
    """The claims table's evaluator of a hardware claim: judged on the realistic setting at every
    scale the rows cover (each group of numbers names its scale); the verdict is the embedded
    networks', the other scales' are kept in the result's ``scales``."""
    def evaluate(out, ref, rules, b: _Builder):
        if out.hw is None:
            return NOT_RUN, "the hw_mapping stage did not run"
        scales = [EMBEDDED] + [s for s in out.hw_scales() if s != EMBEDDED]
        for scale in scales:
            j = judge_hw_claim(out, claim_id, rules, REALISTIC, scale, b, prefix=f"{SCALE_PREFIX.get(scale, scale)}, ")
            b.scales[scale] = {"setting": REALISTIC, "verdict": j.verdict, "reason": j.reason}
        head = b.scales[EMBEDDED]
        return head["verdict"], head["reason"]
    evaluate.__name__ = f"claim_{claim_id}"
    return evaluate


claim_automapper = _hw_claim("automapper_vs_fixed_dataflow")
claim_searched_split = _hw_claim("searched_split_vs_flops_proportional")
claim_chunking = _hw_claim("chunking_vs_multiplier_only")


def hw_sensitivity(out: PipelineOutputs, rules: VerdictRules | None = None) -> tuple:
    """Each hardware claim judged on each setting's rows at the sensitivity scale
    (:meth:`.inputs.PipelineOutputs.hw_sensitivity_scale`): realistic, each ``flip:<switch>``,
    NASA-F-compatible.  Returns (scale, settings, {claim id: {setting: HwJudgement}}); (None, [],
    {}) when the hardware stage did not run."""
    scale = out.hw_sensitivity_scale()
    if scale is None:
        return None, [], {}
    settings = out.hw_settings(scale)
    return scale, settings, {c: {s: judge_hw_claim(out, c, rules, s, scale) for s in settings} for c in HW_CLAIMS}


def claim_evaluator(out, ref, rules, b: _Builder):
    if not out.dance["evaluator"]:
        return NOT_RUN, "the DANCE evaluator stage did not run"
    worst = []
    for name, src in sorted(out.dance["evaluator"].items()):
        name = src.doc.get("run") or name
        test = src.doc["mape_percent"].get("test", {})
        idx = [b.read(name, f"{METRIC_NAMES.get(m, m)} error", src, ["mape_percent", "test", m], "% MAPE")
               for m in sorted(test)]
        worst += [b.value(i) for i in idx]
    if not worst:
        return NOT_RUN, "the evaluator metrics hold no test-split error"
    if max(worst) <= rules.evaluator_max_error_percent:
        return REPRODUCED, f"largest test error {max(worst):.3g} % (<= {rules.evaluator_max_error_percent:g} %)"
    return NOT_REPRODUCED, f"largest test error {max(worst):.3g} % (> {rules.evaluator_max_error_percent:g} %)"


def more_accurate_at_no_higher_cost(runs: list, key: str = "edap", baseline: str = "sequential") -> list:
    """The other way of DANCE's matched comparison (the metrics' ``matched`` holds the first: for
    each sequential result the cheapest co-exploration result at matched accuracy): for each
    ``baseline`` result (``sequential`` or ``evolutionary``), the most accurate co-exploration
    result whose ``key`` cost is no higher.  ``coexplore_lam`` is ``None`` when every
    co-exploration result costs more."""
    co = [r for r in runs if r["method"] == "coexplore"]
    result = []
    for s in (r for r in runs if r["method"] == baseline):
        ok = [c for c in co if c[key] <= s[key]]
        best = max(ok, key=lambda c: c["accuracy"]) if ok else None
        result.append({f"{baseline}_lam": s["lam"], "coexplore_lam": best["lam"] if best else None,
                       "gain_points": best["accuracy"] - s["accuracy"] if best else None})
    return result


BASELINE_NAMES = {"sequential": "sequential", "evolutionary": "evolutionary co-exploration"}


def _matched_rows(src: Source) -> list:
    """(baseline, lambda, JSON path of its matched entry, JSON path of its run) per matched comparison:
    the sequential ones of the metrics' ``matched``, then the evolutionary ones (kept with each
    evolutionary run, as ``runs[...].matched``)."""
    rows = [("sequential", m["sequential_lam"], ["matched", j], None)
            for j, m in enumerate(src.doc.get("matched", []))]
    for r in src.doc.get("runs", []):
        if r.get("method") == "evolutionary" and isinstance(r.get("matched"), dict):
            run = ["runs", {"method": "evolutionary", "lam": r["lam"]}]
            rows.append(("evolutionary", r["lam"], run + ["matched"], run))
    return rows


def claim_coexplore_cost(out, ref, rules, b: _Builder):
    """Matched both ways, per baseline result (sequential search; evolutionary co-exploration, where
    it ran): co-exploration at matched accuracy and cheaper (the metrics' ``matched``, and the
    evolutionary runs' own ``matched``), or at no higher cost and more accurate (computed here from
    the metrics' ``runs``)."""
    if not out.dance["coexplore"]:
        return NOT_RUN, "the DANCE co-exploration stage did not run"
    outcomes = []
    for name, src in sorted(out.dance["coexplore"].items()):
        name = src.doc.get("run") or name
        runs = src.doc.get("runs", [])
        for base, lam, mpath, _run in _matched_rows(src):
            m = resolve(src.doc, mpath)
            key = m["key"]
            g = f"{name}, {BASELINE_NAMES[base]} lambda {lam:g}"
            unit = COST_UNITS.get(key, "")
            acc_s = b.read(g, f"{BASELINE_NAMES[base]} accuracy", src, mpath + [f"{base}_accuracy"], "%")
            cost_s = b.read(g, f"{BASELINE_NAMES[base]} {key.upper()}", src, mpath + [base], unit)
            ways = []
            if m.get("coexplore") is not None:
                b.read(g, "co-exploration at matched accuracy: accuracy", src, mpath + ["coexplore_accuracy"], "%")
                cost_c = b.read(g, f"{key.upper()}", src, mpath + ["coexplore"], unit)
                red = b.value(b.derive(g, f"{key.upper()} reduction", "reduction_percent", [cost_c, cost_s], "%"))
                ways.append(("cheaper", red >= rules.min_reduction_percent,
                             f"{red:.3g} % cheaper at matched accuracy"))
            else:
                ways.append(("cheaper", False, "no co-exploration result at matched accuracy"))
            other = next((o for o in more_accurate_at_no_higher_cost(runs, key, base) if o[f"{base}_lam"] == lam),
                         None)
            if other is not None and other["coexplore_lam"] is not None:
                a_c = b.read(g, f"co-exploration at no higher {key.upper()}: accuracy", src,
                             ["runs", {"method": "coexplore", "lam": other["coexplore_lam"]}, "accuracy"], "%")
                gain = b.value(b.derive(g, "accuracy gain", "difference", [a_c, acc_s], "points"))
                ways.append(("more accurate", gain > rules.accuracy_tolerance_pp,
                             f"{gain:+.3g} points at no higher {key.upper()}"))
            else:
                ways.append(("more accurate", False, f"no co-exploration result at no higher {key.upper()}"))
            text = f"{g}: " + "; ".join(t for _, _, t in ways)
            if not _trained(out, b.value(acc_s), rules):
                outcomes.append((NOT_COMPARABLE, _chance_reason(out, g, b.value(acc_s), rules)))
            elif any(ok for _, ok, _ in ways):
                outcomes.append((REPRODUCED, text))
            else:
                outcomes.append((NOT_REPRODUCED, text + f" (needs >= {rules.min_reduction_percent:g} % cheaper, or "
                                 f"> {rules.accuracy_tolerance_pp:g} points more accurate)"))
    if not outcomes:
        return NOT_RUN, "the co-exploration metrics hold no matched-accuracy comparison"
    verdict, reason = _combine(outcomes)
    return verdict, (reason + "; DANCE runs once (the supernet of seed common.seed), so the accuracy spread is "
                     "unknown: accuracies match within the stage's tolerance, and more accurate means by more than "
                     f"{rules.accuracy_tolerance_pp:g} points")


def claim_coexplore_time(out, ref, rules, b):
    if not out.dance["coexplore"]:
        return NOT_RUN, "the DANCE co-exploration stage did not run"
    return IN_TIMING, ("wall times differ from run to run, so they are kept out of this file (which "
                       "regenerates byte for byte): TIMING.md gives the times and this claim's verdict, against "
                       "the evolutionary (non-differentiable) co-exploration at its budget of pair evaluations")


EVALUATORS = {
    "accuracy_anchors": claim_accuracy_anchors,
    "hybrid_beats_mult_only": claim_hybrid_beats_mult_only,
    "pgp_enables_search": claim_pgp,
    "automapper_vs_fixed_dataflow": claim_automapper,
    "searched_split_vs_flops_proportional": claim_searched_split,
    "chunking_vs_multiplier_only": claim_chunking,
    "evaluator_models_cost_tool": claim_evaluator,
    "coexplore_beats_sequential_cost": claim_coexplore_cost,
    "coexplore_beats_sequential_time": claim_coexplore_time,
}


def evaluate_claims(out: PipelineOutputs, ref: Reference, rules: VerdictRules | None = None) -> list[ClaimResult]:
    """Every claim of the reference file, in its order, with our numbers and the verdict."""
    rules = rules or VerdictRules()
    results = []
    for claim in ref.claims:
        if claim.id not in EVALUATORS:
            raise ValueError(f"claim {claim.id!r} of {ref.path} has no evaluator; valid ids: {', '.join(EVALUATORS)}")
        b = _Builder()
        verdict, reason = EVALUATORS[claim.id](out, ref, rules, b)
        assert verdict in VERDICTS, verdict
        results.append(ClaimResult(claim.id, claim.paper, claim.statement, claim.figure(ref.values),
                                   [ref.citation(s) for s in claim.sources], verdict, reason, b.items,
                                   scales=b.scales))
    return results
