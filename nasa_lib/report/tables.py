"""The report's tables, as Markdown, built from the metrics files only.

Numbers are printed with :func:`fmt` (four significant digits); a reader, or a test, finds each
one again in the metrics file named beside the table.
"""
from __future__ import annotations

from ..opkinds import OP_KINDS
from ..ops.registry import get_op
from ..space.networks import BASELINES
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
    lines, groups = [], []
    for item in r.items:
        if item.group not in groups:
            groups.append(item.group)
    for g in groups:
        parts = [f"{it.label} **{fmt(it.value)}**" + (f" {it.unit}" if it.unit else "")
                 for it in r.items if it.group == g]
        lines.append(f"{g}: " + ", ".join(parts))
    return "<br>".join(lines)


def main_table(out: PipelineOutputs) -> str:
    """Every trained network: accuracy, size, operation counts, and its costs on the chunk-based
    accelerator (auto-mapper) and on the Eyeriss-like multiplier-only accelerator."""
    rows = {(r["network"], r["mode"]): r for r in out.hw_rows()}
    header = ["network", "found by", "blocks", "test acc. (%)", "params", "mult. / image", "add. / image",
              "shift / image"]
    for acc in ("chunk", "Eyeriss-like"):
        header += [f"{acc}: energy (uJ)", f"{acc}: latency (ms)", f"{acc}: EDP (uJ x ms)", f"{acc}: area (mm^2)"]
    body = []
    for run in network_order(out):
        doc = out.retrain[run].doc
        line = [run, found_by(out, run), composition(doc["arch"]), fmt(100 * doc["test_acc"]), fmt(doc["params"]),
                fmt(doc.get("mult_ops")), fmt(doc.get("add_ops")), fmt(doc.get("shift_ops"))]
        for mode in ("auto", "multiplier_only"):
            r = rows.get((run, mode))
            line += [fmt(r[k]) if r else "not mapped" for k in ("energy_uj", "latency_ms", "edp_uj_ms", "area_mm2")]
        body.append(line)
    return markdown_table(header, body, ["l", "l", "l"] + ["r"] * (len(header) - 3))


def ablation_table(out: PipelineOutputs, mode_label) -> str:
    """Per network and mapping: energy by memory level, latency, EDP, PE split and dataflows."""
    table = {(r["network"], r["mode"]): r for r in out.hw_rows()}
    header = ["network", "mapping", "energy (uJ)"] + [f"{LEVEL_LABELS[lv]} (uJ)" for lv in LEVELS] + \
             ["latency (ms)", "EDP (uJ x ms)", "PEs per chunk", "dataflow per chunk"]
    body = []
    for run in [n for n in network_order(out) if any((n, m) in table for m in MODE_LABELS)]:
        for mode in MODE_LABELS:
            r = table.get((run, mode))
            if r is None:
                continue
            b = r["energy_breakdown_uj"]
            body.append([run, mode_label(out, mode), fmt(r["energy_uj"])] + [fmt(b.get(lv, 0.0)) for lv in LEVELS]
                        + [fmt(r["latency_ms"]), fmt(r["edp_uj_ms"]),
                           ", ".join(f"{k} {v}" for k, v in r["pe_split"].items() if v),
                           ", ".join(f"{k} {v}" for k, v in r["dataflow"].items() if v) or "-"])
    return markdown_table(header, body, ["l", "l"] + ["r"] * (len(header) - 4) + ["l", "l"])


def search_table(out: PipelineOutputs) -> str:
    header = ["run", "space", "mode", "architecture (one op per searchable layer)", "blocks", "derived cost",
              "supernet val. acc. (%)"]
    body = []
    for run in sorted(out.search):
        doc = out.search[run].doc
        acc = doc.get("final_val_acc")
        body.append([run, doc["space"], doc.get("mode", "?"), " ".join(f"`{op}`" for op in doc["arch"]),
                     composition(doc["arch"]), f"{fmt(doc.get('derived_cost'))} {doc.get('cost_unit', '')}".strip(),
                     fmt(None if acc is None else 100 * acc)])
    return markdown_table(header, body)


def pretrain_table(out: PipelineOutputs) -> str:
    header = ["run", "space", "PGP", "epochs", "phases (epochs)", "final supernet val. acc. (%)"]
    body = []
    for run in sorted(out.pretrain):
        doc = out.pretrain[run].doc
        phases = {}
        for h in doc["history"]:
            phases[h.get("phase", "mixed")] = phases.get(h.get("phase", "mixed"), 0) + 1
        acc = doc.get("final_val_acc")
        body.append([run, doc["space"], "yes" if doc["pgp"] else "no", fmt(len(doc["history"])),
                     ", ".join(f"{k} {v}" for k, v in phases.items()), fmt(None if acc is None else 100 * acc)])
    return markdown_table(header, body)


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
