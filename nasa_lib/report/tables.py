"""The report's tables, as Markdown, built from the metrics files only.

Numbers are printed with :func:`fmt` (four significant digits); a reader, or a test, finds each
one again in the metrics file named beside the table.
"""
from __future__ import annotations

from ..opkinds import OP_KINDS
from ..ops.registry import get_op
from ..space.networks import BASELINES
from . import stats
from .claims import ClaimResult
from .inputs import PipelineOutputs

# the hardware mapping modes and memory levels, as every table and figure names them
MODE_LABELS = {"auto": "auto-mapper (chunk-based)", "fixed_dataflow": "fixed dataflow (chunk-based)",
               "flops_proportional": "FLOPs-proportional PE split (chunk-based)",
               "multiplier_only": "multiplier-only (Eyeriss-like)"}
LEVELS = ("dram", "gb", "noc", "rf", "compute")
LEVEL_LABELS = {"dram": "DRAM", "gb": "global buffer", "noc": "NoC", "rf": "register files", "compute": "compute"}

BASELINE_PAPERS = {"all-conv": "FBNet", "all-shift": "DeepShift", "all-adder": "AdderNet", "shift-adder": "ShiftAddNet"}


def fmt(value) -> str:
    """Four significant digits, no trailing zeros; ``n/a`` for a missing value."""
    if value is None:
        return "n/a"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return f"{value:.4g}"


def cell(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: list[str], rows: list[list], align: list[str] | None = None) -> str:
    align = align or ["l"] * len(header)
    sep = ["---:" if a == "r" else ":---:" if a == "c" else "---" for a in align]
    lines = ["| " + " | ".join(cell(h) for h in header) + " |", "| " + " | ".join(sep) + " |"]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def composition(arch: list[str]) -> str:
    """'3 conv, 2 shift, 1 skip': how many blocks of each operator kind a network has."""
    counts = {}
    for op in arch:
        kind = get_op(op).kind
        counts[kind] = counts.get(kind, 0) + 1
    return ", ".join(f"{counts[k.name]} {k.short_label}" for k in OP_KINDS.values() if k.name in counts)


def network_order(out: PipelineOutputs) -> list[str]:
    """Searched networks first (by name), then the baselines in FBNet, DeepShift, AdderNet,
    ShiftAddNet order."""
    searched = sorted(r for r, s in out.retrain.items() if s.doc["arch_source"] == "search")
    base = [b for b in BASELINES if b in out.retrain] + sorted(
        r for r, s in out.retrain.items() if s.doc["arch_source"] != "search" and r not in BASELINES)
    return searched + base


def found_by(out: PipelineOutputs, run: str) -> str:
    doc = out.retrain[run].doc
    if doc["arch_source"] == "search":
        space = out.search[run].doc["space"] if run in out.search else "?"
        return f"search ({space})"
    return f"baseline: {BASELINE_PAPERS.get(run, run)} layout"


# ---- the tables -------------------------------------------------------------------------------
def claims_table(results: list[ClaimResult]) -> str:
    """Claim, the paper's figure, ours (every number bold, from a metrics file or derived from
    those), and the verdict with its reason."""
    rows = []
    for i, r in enumerate(results, 1):
        rows.append([str(i), r.paper, r.statement, r.figure, ours_cell(r) or "-",
                     f"**{r.verdict}**<br>{r.reason}"])
    return markdown_table(["#", "paper", "claim", "paper's figure", "ours", "verdict"], rows)


def ours_cell(r: ClaimResult) -> str:
    """The claim's shown items, one line per group: ``label **value** unit``, a mean over seeds as
    ``label **mean** ± **sd** unit (n=3)`` (its per-seed values are in REPORT_claims.json)."""
    lines, groups = [], []
    for item in r.items:
        if item.shown and item.group not in groups:
            groups.append(item.group)
    for g in groups:
        parts = []
        for it in (it for it in r.items if it.group == g and it.shown):
            unit = f" {it.unit}" if it.unit else ""
            if it.sd is not None:
                parts.append(f"{it.label} **{fmt(it.value)}** ± **{fmt(r.items[it.sd].value)}**{unit} (n={it.n})")
            elif it.n is not None:
                parts.append(f"{it.label} **{fmt(it.value)}**{unit} (n={it.n})")
            else:
                parts.append(f"{it.label} **{fmt(it.value)}**{unit}")
        lines.append(f"{g}: " + ", ".join(parts))
    return "<br>".join(lines)


def mean_sd(values, with_n: bool = False) -> str:
    """A table cell: '95.5 ± 0.5' (with ``with_n``: '95.5 ± 0.5 (n=3)'); one value: '95.5' ('95.5 (n=1)')."""
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    sd = stats.sample_std(values)
    if sd is not None and sd <= 1e-9 * max(abs(v) for v in values):
        sd = 0.0            # values equal but for floating-point rounding (a cost recomputed per seed)
    text = fmt(stats.mean(values)) if sd is None else f"{fmt(stats.mean(values))} ± {fmt(sd)}"
    return f"{text} (n={len(values)})" if with_n else text


def seed_compositions(out: PipelineOutputs, run: str) -> str:
    """'3 conv, 2 shift' when every seed's network is made the same; else one line per seed."""
    comps = {k: composition(s.doc["arch"]) for k, s in out.per_seed("retrain", run).items()}
    if len(set(comps.values())) == 1:
        return next(iter(comps.values()))
    return "<br>".join(f"seed {k}: {c}" for k, c in comps.items())


def main_table(out: PipelineOutputs) -> str:
    """Every trained network: accuracy (mean ± sd over the seeds), size, operation counts, and
    its costs on the chunk-based accelerator (auto-mapper) and on the Eyeriss-like
    multiplier-only accelerator (mean ± sd over the seeds' networks)."""
    header = ["network", "found by", "blocks", "test acc. (%)", "params", "mult. / image", "add. / image",
              "shift / image"]
    for acc in ("chunk", "Eyeriss-like"):
        header += [f"{acc}: energy (uJ)", f"{acc}: latency (ms)", f"{acc}: EDP (uJ x ms)", f"{acc}: area (mm^2)"]
    body = []
    for run in network_order(out):
        docs = [s.doc for s in out.per_seed("retrain", run).values()]
        line = [run, found_by(out, run), seed_compositions(out, run),
                mean_sd([100 * d["test_acc"] for d in docs], with_n=True)]
        line += [mean_sd([d.get(k) for d in docs]) for k in ("params", "mult_ops", "add_ops", "shift_ops")]
        for mode in ("auto", "multiplier_only"):
            rows = [out.hw_row(run, k, mode) for k in out.per_seed("retrain", run)]
            line += [mean_sd([r[k] for r in rows]) if all(rows) else "not mapped"
                     for k in ("energy_uj", "latency_ms", "edp_uj_ms", "area_mm2")]
        body.append(line)
    return markdown_table(header, body, ["l", "l", "l"] + ["r"] * (len(header) - 3))


def distinct_seed_groups(out: PipelineOutputs, run: str) -> list[list]:
    """The seeds of ``run`` grouped by architecture (a baseline: one group of every seed)."""
    groups = {}
    for k, s in out.per_seed("retrain", run).items():
        groups.setdefault(tuple(s.doc["arch"]), []).append(k)
    return list(groups.values())


def _seeds_label(seeds: list) -> str:
    return f"seed {seeds[0]}" if len(seeds) == 1 else "seeds " + ", ".join(map(str, seeds))


def ablation_table(out: PipelineOutputs, mode_label) -> str:
    """Per network (each seed's searched network; a network the same every seed once) and mapping:
    energy by memory level, latency, EDP, PE split and dataflows."""
    header = ["network", "mapping", "energy (uJ)"] + [f"{LEVEL_LABELS[lv]} (uJ)" for lv in LEVELS] + \
             ["latency (ms)", "EDP (uJ x ms)", "PEs per chunk", "dataflow per chunk"]
    body = []
    mapped = {r["network"] for r in out.hw_rows()}
    for run in [n for n in network_order(out) if n in mapped]:
        for seeds in distinct_seed_groups(out, run):
            for mode in MODE_LABELS:
                r = out.hw_row(run, seeds[0], mode)
                if r is None:
                    continue
                b = r["energy_breakdown_uj"]
                body.append([f"{run} ({_seeds_label(seeds)})", mode_label(out, mode), fmt(r["energy_uj"])]
                            + [fmt(b.get(lv, 0.0)) for lv in LEVELS]
                            + [fmt(r["latency_ms"]), fmt(r["edp_uj_ms"]),
                               ", ".join(f"{k} {v}" for k, v in r["pe_split"].items() if v),
                               ", ".join(f"{k} {v}" for k, v in r["dataflow"].items() if v) or "-"])
    return markdown_table(header, body, ["l", "l"] + ["r"] * (len(header) - 4) + ["l", "l"])


def search_table(out: PipelineOutputs) -> str:
    """Every search, one row per seed: the architecture it derived, its cost, the supernet's accuracy."""
    header = ["run", "seed", "space", "mode", "architecture (one op per searchable layer)", "blocks", "derived cost",
              "supernet val. acc. (%)"]
    body = []
    for run in sorted(out.search):
        for k, src in out.per_seed("search", run).items():
            doc = src.doc
            acc = doc.get("final_val_acc")
            body.append([run, str(k), doc["space"], doc.get("mode", "?"), " ".join(f"`{op}`" for op in doc["arch"]),
                         composition(doc["arch"]),
                         f"{fmt(doc.get('derived_cost'))} {doc.get('cost_unit', '')}".strip(),
                         fmt(None if acc is None else 100 * acc)])
    return markdown_table(header, body)


def pretrain_table(out: PipelineOutputs) -> str:
    """Every pretraining run: its phases and the final supernet accuracy, mean ± sd over the seeds
    and each seed's."""
    header = ["run", "space", "PGP", "epochs", "phases (epochs)", "final supernet val. acc. (%)", "per seed (%)"]
    body = []
    for run in sorted(out.pretrain):
        doc = out.pretrain[run].doc
        phases = {}
        for h in doc["history"]:
            phases[h.get("phase", "mixed")] = phases.get(h.get("phase", "mixed"), 0) + 1
        accs = {k: s.doc.get("final_val_acc") for k, s in out.per_seed("pretrain", run).items()}
        body.append([run, doc["space"], "yes" if doc["pgp"] else "no", fmt(len(doc["history"])),
                     ", ".join(f"{k} {v}" for k, v in phases.items()),
                     mean_sd([100 * a for a in accs.values() if a is not None], with_n=True),
                     ", ".join(f"seed {k}: {fmt(None if a is None else 100 * a)}" for k, a in accs.items())])
    return markdown_table(header, body)


def sweep_table(out: PipelineOutputs, run: str) -> str:
    """The swept run's points by rising weight (mean ± sd over seeds), then the baselines in the
    same cost unit."""
    from .sanity import baseline_points, cost_unit, sweep_points
    unit = cost_unit(out, run)
    header = ["network", "hw_weight", f"search cost ({unit})", "test acc. (%)", "files"]
    body = [[f"{run} (searched)", f"{p.hw_weight:g}" + (" (main search)" if p.main else ""), mean_sd(p.cost, True),
             mean_sd(p.acc, True), " ".join(f"`{f}`" for f in p.files)] for p in sweep_points(out, run)]
    base, why = baseline_points(out, run)
    body += [[f"{p.name} (baseline)", "-", fmt(p.cost), mean_sd(p.acc, True),
              f"cost: computed from its architecture and the layout of `{out.layouts[run][0]}`"] for p in base]
    table = markdown_table(header, body, ["l", "r", "r", "r", "l"])
    return table + (f"\n\nNo baseline point: {why}." if why else "")


def random_table(out: PipelineOutputs, run: str, spread_multiple: float) -> str:
    from .sanity import random_comparison
    searched, drawn, c, verdict = random_comparison(out, run, spread_multiple)
    docs = [s.doc for s in out.random[run].values()]
    header = ["run", "searched: test acc. (%)", "random, same cost: test acc. (%)", "difference (points)",
              "standard error (points)", "random networks' cost", "verdict"]
    body = [[run, mean_sd(searched, True), mean_sd(drawn, True), fmt(c.diff), fmt(c.se),
             f"{mean_sd([d['cost'] for d in docs], True)} {docs[0]['cost_unit']}", f"**{verdict}**"]]
    return markdown_table(header, body, ["l", "r", "r", "r", "r", "r", "l"])


def sanity_table(checks) -> str:
    rows = [[c.check, c.run, f"**{c.verdict}**", c.reason] for c in checks]
    return markdown_table(["check", "run", "verdict", "numbers"], rows)


def design_text(design) -> str:
    """An accelerator design point in a line: 'pe_split conv 112 / shift 14 / adder 42, global_buffer_kb 64'."""
    if not isinstance(design, dict):
        return str(design)
    parts = []
    for k, v in design.items():
        if isinstance(v, dict):
            v = " / ".join(f"{a} {b}" for a, b in v.items())
        parts.append(f"{k} {v}")
    return ", ".join(parts)


def dance_table(out: PipelineOutputs) -> str:
    header = ["run", "method", "lambda", "accuracy (%)", "cost", "EDAP (uJ x ms x mm^2)", "accelerator found"]
    body = []
    for name, src in sorted(out.dance["coexplore"].items()):
        cost = src.doc.get("cost", "?")
        for r in src.doc["runs"]:
            design = r.get("design") or {}
            body.append([src.doc.get("run") or name, r["method"], fmt(r["lam"]), fmt(r["accuracy"]),
                         f"{cost.upper()} {fmt(r['cost_value'])}", fmt(r.get("edap")), design_text(design)])
    return markdown_table(header, body)
