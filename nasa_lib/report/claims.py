"""The claims table: for each claim of the papers, our numbers and a verdict computed from them.

Each number of ours is an :class:`Item`: either *evidence* (a value read from a metrics file,
with the file and the JSON path it came from, so anyone can read it back) or *derived* (a named
formula over other items: a reduction in %, a difference in points...).  The verdict is a rule
over those numbers (:class:`VerdictRules`, from ``params.yaml: report``), never written by hand:

- ``reproduced``: our numbers show what the paper claims;
- ``not reproduced``: they do not;
- ``not comparable at this scale``: the run is too small for the claim to be tested (networks at
  chance accuracy, another data set or a shorter recipe than the paper's);
- ``not run in this profile``: the stages the claim needs did not run;
- ``judged in TIMING.md``: a claim about wall time, whose numbers differ from run to run and so are
  kept out of REPORT.md (which regenerates byte for byte); TIMING.md gives them and the verdict.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from ..opkinds import op_kind
from ..ops.registry import get_op
from .inputs import PipelineOutputs, Source
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

    def __post_init__(self):
        for name in ("accuracy_tolerance_pp", "min_over_chance_pp", "min_reduction_percent",
                     "evaluator_max_error_percent"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v < 0:
                raise ValueError(f"report.{name}={v!r} is not valid; it must be a number >= 0")


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


FORMULAS = ("reduction_percent", "difference", "ratio", "geomean_reduction_percent")


def apply_formula(formula: str, values: list[float]) -> float:
    """``reduction_percent(new, old)`` = 100 (1 - new/old); ``difference(a, b)`` = a - b;
    ``ratio(a, b)`` = a / b; ``geomean_reduction_percent(new1, old1, new2, old2, ...)`` =
    100 (1 - geometric mean of new_i / old_i)."""
    if formula == "reduction_percent":
        return 100.0 * (1.0 - values[0] / values[1])
    if formula == "difference":
        return values[0] - values[1]
    if formula == "ratio":
        return values[0] / values[1]
    if formula == "geomean_reduction_percent":
        logs = [math.log(n / o) for n, o in zip(values[0::2], values[1::2])]
        return 100.0 * (1.0 - math.exp(sum(logs) / len(logs)))
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

    def to_dict(self) -> dict:
        return asdict(self)


class _Builder:
    """Collects the items of one claim."""

    def __init__(self):
        self.items: list[Item] = []

    def read(self, group: str, label: str, src: Source, path: list, unit: str = "", scale: float = 1.0) -> int:
        raw = resolve(src.doc, path)
        if raw is None or isinstance(raw, bool) or not isinstance(raw, (int, float)):
            raise ValueError(f"{src.path}: {path} is {raw!r}, not a number")
        self.items.append(Item(group, label, float(raw) * scale, unit, source=src.path, path=list(path), scale=scale))
        return len(self.items) - 1

    def derive(self, group: str, label: str, formula: str, args: list[int], unit: str = "") -> int:
        value = apply_formula(formula, [self.items[i].value for i in args])
        self.items.append(Item(group, label, value, unit, kind="derived", formula=formula, args=list(args)))
        return len(self.items) - 1

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


def _row_path(network: str, mode: str, key: str) -> list:
    return ["rows", {"network": network, "mode": mode}, key]


def _has_row(out: PipelineOutputs, network: str, mode: str) -> bool:
    return any(r["network"] == network and r["mode"] == mode for r in out.hw_rows())


def _trained(out: PipelineOutputs, acc_percent: float, rules: VerdictRules) -> bool:
    return acc_percent >= out.chance_percent + rules.min_over_chance_pp


def _chance_reason(out, what, acc, rules) -> str:
    return (f"{what} reached {acc:.4g} % accuracy, less than chance ({out.chance_percent:.4g} %) + "
            f"{rules.min_over_chance_pp:g} percentage points: too few epochs or images for accuracy to mean anything")


# ---- the claims -------------------------------------------------------------------------------
def claim_accuracy_anchors(out: PipelineOutputs, ref: Reference, rules: VerdictRules, b: _Builder):
    anchors = {"cifar10": [("OnlyConv", "onlyconv_cifar10_top1_percent")],
               "cifar100": [("OnlyConv", "onlyconv_cifar100_top1_percent"),
                            ("Hybrid-All", "hybrid_all_cifar100_top1_percent")]}
    ours = [(run, key) for run, key in anchors.get(out.dataset, []) if run in out.retrain]
    for run, _ in ours:
        b.read(run, "test accuracy", out.retrain[run], ["test_acc"], "%", 100.0)
    if out.dataset not in anchors:
        return NOT_COMPARABLE, (f"the paper's anchors are on CIFAR-10/100; this profile trains on {out.dataset}")
    if not ours:
        return NOT_RUN, "no OnlyConv or Hybrid-All search was retrained in this profile"
    short = [run for run, _ in ours if out.retrain[run].doc.get("epochs", 0) < ref.value("retrain_epochs")]
    if short:
        return NOT_COMPARABLE, (f"{', '.join(short)} retrained for {out.retrain[short[0]].doc.get('epochs')} epochs, "
                                f"the paper's recipe {ref.value('retrain_epochs'):g}")
    gaps = [abs(b.items[i].value - ref.value(key)) for i, (_, key) in enumerate(ours)]
    if max(gaps) <= rules.accuracy_tolerance_pp:
        return REPRODUCED, f"every anchor within {rules.accuracy_tolerance_pp:g} points of the paper's"
    return NOT_REPRODUCED, (f"largest gap to the paper's accuracy {max(gaps):.3g} points "
                            f"(> {rules.accuracy_tolerance_pp:g})")


def claim_hybrid_beats_mult_only(out, ref, rules, b: _Builder):
    if out.hw is None:
        return NOT_RUN, "the hw_mapping stage did not run"
    mapped = {n: s for n, s in out.retrain.items() if _has_row(out, n, "auto") and _has_row(out, n, "multiplier_only")}
    mult_only = sorted(n for n, s in mapped.items() if is_mult_only(s.doc["arch"]))
    # every network is a hybrid through its conv stem and header: a searched one with any shift or
    # adder block is what NASA's search yields
    hybrids = sorted(n for n, s in mapped.items() if s.doc["arch_source"] == "search" and has_mult_free(s.doc["arch"]))
    if not mult_only:
        return NOT_RUN, "no multiplication-only network (all-conv baseline or OnlyConv search) was trained"
    if not hybrids:
        searched = [n for n, s in mapped.items() if s.doc["arch_source"] == "search"]
        return (NOT_COMPARABLE, "no searched network has shift or adder blocks") if searched \
            else (NOT_RUN, "no search ran in this profile")
    acc = {n: 100.0 * mapped[n].doc["test_acc"] for n in mapped}
    edp = {r["network"]: r["edp_uj_ms"] for r in out.hw_rows("auto")}
    ref_net = max(mult_only, key=lambda n: acc[n])          # the most accurate multiplication-only network
    comparable = [h for h in hybrids if acc[h] >= acc[ref_net] - rules.accuracy_tolerance_pp]
    hyb = min(comparable, key=lambda n: edp[n]) if comparable else max(hybrids, key=lambda n: acc[n])
    g_ref, g_hyb = f"{ref_net} (multiplier-only accelerator)", f"{hyb} (chunk-based, auto-mapper)"
    a_ref = b.read(g_ref, "accuracy", mapped[ref_net], ["test_acc"], "%", 100.0)
    e_ref = b.read(g_ref, "energy", out.hw, _row_path(ref_net, "multiplier_only", "energy_uj"), "uJ")
    d_ref = b.read(g_ref, "EDP", out.hw, _row_path(ref_net, "multiplier_only", "edp_uj_ms"), "uJ x ms")
    a_h = b.read(g_hyb, "accuracy", mapped[hyb], ["test_acc"], "%", 100.0)
    e_h = b.read(g_hyb, "energy", out.hw, _row_path(hyb, "auto", "energy_uj"), "uJ")
    d_h = b.read(g_hyb, "EDP", out.hw, _row_path(hyb, "auto", "edp_uj_ms"), "uJ x ms")
    da = b.derive("hybrid vs multiplication-only", "accuracy", "difference", [a_h, a_ref], "points")
    re = b.derive("hybrid vs multiplication-only", "energy", "reduction_percent", [e_h, e_ref], "% lower")
    rd = b.derive("hybrid vs multiplication-only", "EDP", "reduction_percent", [d_h, d_ref], "% lower")
    if not _trained(out, b.value(a_ref), rules):
        return NOT_COMPARABLE, _chance_reason(out, ref_net, b.value(a_ref), rules)
    if b.value(da) < -rules.accuracy_tolerance_pp:
        return NOT_REPRODUCED, (f"no hybrid within {rules.accuracy_tolerance_pp:g} percentage points of {ref_net}'s "
                                f"accuracy (best: {hyb}, {b.value(da):+.3g} points)")
    if b.value(re) >= rules.min_reduction_percent and b.value(rd) >= rules.min_reduction_percent:
        return REPRODUCED, (f"{hyb}: {b.value(re):.3g} % less energy, {b.value(rd):.3g} % lower EDP "
                            f"at {b.value(da):+.3g} points accuracy")
    return NOT_REPRODUCED, (f"{hyb}: energy {b.value(re):.3g} %, EDP {b.value(rd):.3g} % lower "
                            f"(needs >= {rules.min_reduction_percent:g} % each)")


def claim_pgp(out, ref, rules, b: _Builder):
    pairs = []
    for space in sorted({s.doc["space"] for s in out.pretrain.values()}):
        with_pgp = sorted(r for r, s in out.pretrain.items() if s.doc["space"] == space and s.doc["pgp"])
        without = sorted(r for r, s in out.pretrain.items() if s.doc["space"] == space and not s.doc["pgp"])
        if with_pgp and without and space != "OnlyConv":
            pairs.append((with_pgp[0], without[0]))
    pairs = [(p, n) for p, n in pairs if out.pretrain[p].doc.get("final_val_acc") is not None
             and out.pretrain[n].doc.get("final_val_acc") is not None]
    if not pairs:
        return NOT_RUN, "no hybrid space was pretrained both with and without PGP"
    outcomes = []
    for p, n in pairs:
        g = f"{p} vs {n}"
        sp = b.read(g, "supernet val. accuracy with PGP", out.pretrain[p], ["final_val_acc"], "%", 100.0)
        sn = b.read(g, "without", out.pretrain[n], ["final_val_acc"], "%", 100.0)
        gain = b.value(b.derive(g, "PGP gain", "difference", [sp, sn], "points"))
        derived_ok = True
        if p in out.retrain and n in out.retrain:
            rp = b.read(g, "searched network's test accuracy with PGP", out.retrain[p], ["test_acc"], "%", 100.0)
            rn = b.read(g, "without", out.retrain[n], ["test_acc"], "%", 100.0)
            diff = b.value(b.derive(g, "difference", "difference", [rp, rn], "points"))
            derived_ok = diff >= -rules.accuracy_tolerance_pp
        if max(b.value(sp), b.value(sn)) < out.chance_percent + rules.min_over_chance_pp:
            outcomes.append((NOT_COMPARABLE,
                             f"{p}: both supernets near chance ({b.value(sp):.3g} / {b.value(sn):.3g} %)"))
        elif gain >= rules.accuracy_tolerance_pp and derived_ok:
            outcomes.append((REPRODUCED, f"{p}: PGP supernet {gain:+.3g} points"))
        else:
            outcomes.append((NOT_REPRODUCED, f"{p}: PGP supernet {gain:+.3g} points"
                             + ("" if derived_ok else ", searched network less accurate with PGP")
                             + f" (needs >= {rules.accuracy_tolerance_pp:g} points)"))
    return _combine(outcomes)


def _combine(outcomes):
    """All comparable outcomes must reproduce; none comparable: not comparable."""
    tested = [o for o in outcomes if o[0] in (REPRODUCED, NOT_REPRODUCED)]
    if not tested:
        return NOT_COMPARABLE, "; ".join(r for _, r in outcomes)
    verdict = REPRODUCED if all(v == REPRODUCED for v, _ in tested) else NOT_REPRODUCED
    return verdict, "; ".join(r for _, r in outcomes)


def _networks(n: int) -> str:
    return f"{n} network" + ("s" if n != 1 else "")


def _edp_ablation(out, rules, b: _Builder, mode: str, what: str):
    if out.hw is None:
        return NOT_RUN, "the hw_mapping stage did not run"
    nets = sorted(n for n, s in out.retrain.items()
                  if has_mult_free(s.doc["arch"]) and _has_row(out, n, "auto") and _has_row(out, n, mode))
    if not nets:
        return NOT_COMPARABLE, "no network with shift or adder layers was mapped"
    pairs = []
    for n in nets:
        new = b.read(n, "EDP with the auto-mapper", out.hw, _row_path(n, "auto", "edp_uj_ms"), "uJ x ms")
        old = b.read(n, f"with {what}", out.hw, _row_path(n, mode, "edp_uj_ms"), "uJ x ms")
        b.derive(n, "reduction", "reduction_percent", [new, old], "%")
        pairs += [new, old]
    red = b.value(b.derive(f"{_networks(len(nets))} with shift or adder layers", "geometric-mean EDP reduction",
                           "geomean_reduction_percent", pairs, "%"))
    if red >= rules.min_reduction_percent:
        return REPRODUCED, f"EDP {red:.3g} % lower (geometric mean over {_networks(len(nets))})"
    return NOT_REPRODUCED, (f"EDP {red:.3g} % lower (geometric mean over {_networks(len(nets))}; "
                            f"needs >= {rules.min_reduction_percent:g} %)")


def claim_automapper(out, ref, rules, b):
    return _edp_ablation(out, rules, b, "fixed_dataflow", "one fixed dataflow")


def claim_searched_split(out, ref, rules, b):
    return _edp_ablation(out, rules, b, "flops_proportional", "the FLOPs-proportional split")


def claim_chunking(out, ref, rules, b):
    return _edp_ablation(out, rules, b, "multiplier_only", "the multiplier-only accelerator")


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


def claim_coexplore_cost(out, ref, rules, b: _Builder):
    if not out.dance["coexplore"]:
        return NOT_RUN, "the DANCE co-exploration stage did not run"
    outcomes = []
    for name, src in sorted(out.dance["coexplore"].items()):
        name = src.doc.get("run") or name
        for j, m in enumerate(src.doc.get("matched", [])):
            key = m["key"]
            g = f"{name}, sequential lambda {m['sequential_lam']:g}"
            unit = COST_UNITS.get(key, "")
            acc_s = b.read(g, "sequential accuracy", src, ["matched", j, "sequential_accuracy"], "%")
            cost_s = b.read(g, f"sequential {key.upper()}", src, ["matched", j, "sequential"], unit)
            if m.get("coexplore") is None:
                outcomes.append((NOT_REPRODUCED if _trained(out, b.value(acc_s), rules) else NOT_COMPARABLE,
                                 f"{g}: no co-exploration result within the matching tolerance of its accuracy"))
                continue
            b.read(g, "co-exploration accuracy", src, ["matched", j, "coexplore_accuracy"], "%")
            cost_c = b.read(g, f"co-exploration {key.upper()}", src, ["matched", j, "coexplore"], unit)
            red = b.value(b.derive(g, f"{key.upper()} reduction", "reduction_percent", [cost_c, cost_s], "%"))
            if not _trained(out, b.value(acc_s), rules):
                outcomes.append((NOT_COMPARABLE, _chance_reason(out, g, b.value(acc_s), rules)))
            elif red >= rules.min_reduction_percent:
                outcomes.append((REPRODUCED, f"{g}: {red:.3g} % cheaper"))
            else:
                outcomes.append((NOT_REPRODUCED,
                                 f"{g}: {red:.3g} % cheaper (needs >= {rules.min_reduction_percent:g} %)"))
    if not outcomes:
        return NOT_RUN, "the co-exploration metrics hold no matched-accuracy comparison"
    return _combine(outcomes)


def claim_coexplore_time(out, ref, rules, b):
    if not out.dance["coexplore"]:
        return NOT_RUN, "the DANCE co-exploration stage did not run"
    return IN_TIMING, ("wall times differ from run to run, so they are kept out of this file (which "
                       "regenerates byte for byte): TIMING.md gives the times and this claim's verdict")


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
                                   [ref.citation(s) for s in claim.sources], verdict, reason, b.items))
    return results
