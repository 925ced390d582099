"""The report's tables, as Markdown, built from the metrics files only.

Numbers are printed with :func:`fmt` (four significant digits); a reader, or a test, finds each
one again in the metrics file named beside the table.
"""
from __future__ import annotations

from ..opkinds import OP_KINDS
from ..ops.registry import get_op
from ..space.networks import BASELINES
from . import stats
from .claims import HW_CLAIMS, ClaimResult, VerdictRules, hw_sensitivity, scale_name, setting_name
from .inputs import EMBEDDED, FLIP, NASAF, REALISTIC, PipelineOutputs
from .reference import Reference, fmt_reference

# the hardware mapping modes and memory levels, as every table and figure names them
MODE_LABELS = {"auto": "auto-mapper (chunk-based)",
               "fixed_RS": "fixed dataflow RS (chunk-based)", "fixed_IS": "fixed dataflow IS (chunk-based)",
               "fixed_WS": "fixed dataflow WS (chunk-based)", "fixed_OS": "fixed dataflow OS (chunk-based)",
               "flops_proportional": "FLOPs-proportional PE split, NASA-F's rule (chunk-based)",
               "multiplier_only": "multiplier-only (Eyeriss-like)",
               "chunk_8bit": "chunk-based, 8-bit shift / adder chunks"}
LEVELS = ("dram", "gb", "noc", "rf", "compute", "static")
LEVEL_LABELS = {"dram": "DRAM", "gb": "global buffer", "noc": "NoC", "rf": "register files", "compute": "compute",
                "static": "static (leakage)"}
HW_CLAIM_LABELS = {"automapper_vs_fixed_dataflow": "auto-mapper vs every fixed dataflow",
                   "searched_split_vs_flops_proportional": "searched PE split vs the FLOPs-proportional split "
                                                           "(NASA-F's rule)",
                   "chunking_vs_multiplier_only": "chunk-based vs multiplier-only accelerator"}


def mode_label(mode: str) -> str:
    """'fixed dataflow RS (chunk-based)' for ``fixed_RS``; the mode itself when unknown."""
    if mode in MODE_LABELS:
        return MODE_LABELS[mode]
    if mode.startswith("fixed_"):
        return f"fixed dataflow {mode[len('fixed_'):]} (chunk-based)"
    return mode

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
        rows.append([str(i), r.paper, r.statement, r.figure, ours_cell(r) or "-", verdict_cell(r)])
    return markdown_table(["#", "paper", "claim", "paper's figure", "ours", "verdict"], rows)


def verdict_cell(r: ClaimResult) -> str:
    """The verdict and its reason; a hardware claim's at every scale, the embedded networks' first
    (the verdict the counts use), each naming its scale and setting."""
    if not r.scales:
        return f"**{r.verdict}**<br>{r.reason}"
    return "<br>".join(f"**{v['verdict']}** ({scale_name(scale)}, {setting_name(v['setting'])})<br>{v['reason']}"
                       for scale, v in r.scales.items())


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


def hw_network_groups(out: PipelineOutputs, scale: str = EMBEDDED, setting: str = REALISTIC) -> list[tuple]:
    """(network, seeds, label) of every distinct network mapped at ``scale`` under ``setting``: a
    trained network's seeds grouped by architecture, in the main table's order; a network mapped at
    another scale (paper-size) once per seed, in the rows' order."""
    rows = out.hw_rows(setting=setting, scale=scale)
    mapped = list(dict.fromkeys(r["network"] for r in rows))
    trained = [n for n in network_order(out) if n in mapped] if scale == EMBEDDED else []
    groups = []
    for run in trained + [n for n in mapped if n not in trained]:
        if run in trained:
            groups += [(run, seeds, f"{run} ({_seeds_label(seeds)})") for seeds in distinct_seed_groups(out, run)]
            continue
        seeds = list(dict.fromkeys(r.get("seed") for r in rows if r["network"] == run))
        groups += [(run, [k], run if len(seeds) == 1 else f"{run} (seed {k})") for k in seeds]
    return groups


def ablation_table(out: PipelineOutputs, mode_label=lambda out, mode: mode_label(mode), scale: str = EMBEDDED,
                   setting: str = REALISTIC) -> str:
    """Per network (each seed's searched network; a network the same every seed once) and mapping,
    at ``scale`` under ``setting``: energy by memory level, latency (the row's headline latency and
    the single-image latency), EDP, PE split and dataflows."""
    header = ["network", "mapping", "energy (uJ)"] + [f"{LEVEL_LABELS[lv]} (uJ)" for lv in LEVELS] + \
             ["latency (ms)", "single-image latency (ms)", "EDP (uJ x ms)", "PEs per chunk", "dataflow per chunk"]
    body = []
    for run, seeds, label in hw_network_groups(out, scale, setting):
        for mode in out.hw_modes():
            r = out.hw_row(run, seeds[0], mode, setting=setting, scale=scale)
            if r is None:
                continue
            b = r["energy_breakdown_uj"]
            body.append([label, mode_label(out, mode), fmt(r["energy_uj"])]
                        + [fmt(b.get(lv, 0.0)) for lv in LEVELS]
                        + [fmt(r["latency_ms"]), fmt(r.get("single_image_latency_ms")), fmt(r["edp_uj_ms"]),
                           ", ".join(f"{k} {v}" for k, v in r["pe_split"].items() if v),
                           ", ".join(f"{k} {v}" for k, v in r["dataflow"].items() if v) or "-"])
    return markdown_table(header, body, ["l", "l"] + ["r"] * (len(header) - 4) + ["l", "l"])


# ---- the hardware model's settings, the sensitivity of the claims, the NASA-F comparison -------------
def switch_text(value) -> str:
    """A switch's value as a table prints it: on / off for a boolean."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def settings_table(out: PipelineOutputs) -> str | None:
    """Every switch of the cost model: its value in the realistic and the NASA-F-compatible
    settings, and what the sensitivity analysis flips it to (metrics' ``settings``)."""
    settings = (out.hw.doc.get("settings") or {}) if out.hw else {}
    real, compat = settings.get(REALISTIC) or {}, settings.get(NASAF) or {}
    switches = list(dict.fromkeys([*real, *compat]))
    if not switches:
        return None
    body = []
    for sw in switches:
        flip = settings.get(f"{FLIP}{sw}")
        body.append([f"`{sw}`", switch_text(real.get(sw, "n/a")), switch_text(compat.get(sw, "n/a")),
                     switch_text(flip.get(sw)) if flip else "not flipped"])
    return markdown_table(["switch", "realistic (default)", "NASA-F-compatible", "sensitivity: flipped alone to"], body)


def setting_header(out: PipelineOutputs, setting: str) -> str:
    """A sensitivity column: 'realistic', 'NASA-F-compatible', 'static_energy: on -> off'."""
    if setting == REALISTIC:
        return "realistic"
    if setting == NASAF:
        return "NASA-F-compatible"
    if setting.startswith(FLIP):
        sw = setting[len(FLIP):]
        settings = (out.hw.doc.get("settings") or {}) if out.hw else {}
        before, after = (settings.get(REALISTIC) or {}).get(sw), (settings.get(setting) or {}).get(sw)
        if before is not None and after is not None:
            return f"{sw}: {switch_text(before)} -> {switch_text(after)}"
        return f"{sw} flipped"
    return setting


def sensitivity_cell(j) -> str:
    """'**reproduced**<br>EDP reduction 9.05 % (against fixed WS)'."""
    text = f"**{j.verdict}**"
    if j.reduction_percent is not None:
        text += f"<br>EDP reduction {fmt(j.reduction_percent)} %"
        if j.claim == "automapper_vs_fixed_dataflow" and j.against:
            text += f" (against {j.against}, the best fixed dataflow)"
    return text


def sensitivity_table(out: PipelineOutputs, rules: VerdictRules | None = None) -> tuple | None:
    """Each hardware claim's verdict (and EDP reduction) on the rows of each setting: realistic,
    each switch flipped alone, NASA-F-compatible, at the sensitivity scale.  Returns (the scale,
    the Markdown table), or ``None`` when the hardware stage did not run."""
    scale, settings, judged = hw_sensitivity(out, rules)
    if scale is None:
        return None
    header = ["claim"] + [setting_header(out, s) for s in settings]
    body = [[f"{HW_CLAIM_LABELS.get(c, c)} (`{c}`)"] + [sensitivity_cell(judged[c][s]) for s in settings]
            for c in HW_CLAIMS]
    return scale, markdown_table(header, body)


NASAF_ROWS = (  # label, ours (a key of the comparison's summaries), NASA-F's value in paper_reference.yaml
    ("energy per image (uJ)", ("energy_uj",), "nasa_f_hybrid_all_energy_uj"),
    ("latency per image (ms)", ("latency_ms",), "nasa_f_hybrid_all_latency_ms"),
    ("EDP per image (mJ x ms)", ("edp_mj_ms",), "nasa_f_hybrid_all_edp_mj_ms"),
    ("PEs conv / shift / adder", ("pe_split",), ("nasa_f_pe_split_conv", "nasa_f_pe_split_shift",
                                                 "nasa_f_pe_split_adder")),
    ("DRAM share of the energy (%)", ("energy_share_percent", "dram"), "nasa_f_dram_energy_share_percent"),
    ("register-file share of the energy (%)", ("energy_share_percent", "rf"), "nasa_f_rf_energy_share_percent"),
)


def _nasaf_ours(summary: dict | None, keys: tuple) -> str:
    node = summary
    for k in keys:
        node = node.get(k) if isinstance(node, dict) else None
    if keys == ("pe_split",):
        return " / ".join(fmt(node.get(c)) for c in ("conv", "shift", "adder")) if isinstance(node, dict) else "n/a"
    return fmt(node)


def nasaf_table(doc: dict, ref: Reference) -> str | None:
    """The NASA-F reference network: ours under the NASA-F-compatible setting, ours under the
    realistic one (the metrics' ``nasaf_comparison``) and NASA-F's published run
    (``paper_reference.yaml``), then the differences the stage states.  ``None`` when the stage
    ran without the comparison."""
    comp = doc.get("nasaf_comparison") if doc else None
    if not comp:
        return None
    compat, real = comp.get("ours_nasaf_compatible"), comp.get("ours_realistic")
    body = []
    for label, keys, ref_key in NASAF_ROWS:
        paper = (" / ".join(fmt_reference(ref.value(k)) for k in ref_key) if isinstance(ref_key, tuple)
                 else fmt_reference(ref.value(ref_key)))
        body.append([label, _nasaf_ours(compat, keys), _nasaf_ours(real, keys), paper])
    if any(isinstance(x, dict) and x.get("single_image_latency_ms") is not None for x in (compat, real)):
        body.insert(2, ["single-image latency (ms)", _nasaf_ours(compat, ("single_image_latency_ms",)),
                        _nasaf_ours(real, ("single_image_latency_ms",)), "-"])
    table = markdown_table(["quantity", "ours, NASA-F-compatible", "ours, realistic",
                            "NASA-F (its simulator, unmodified)"], body, ["l", "r", "r", "r"])
    diffs = comp.get("differences") or []
    return table + ("\n\nWhat remains different, and why:\n\n" + "\n".join(f"- {d}" for d in diffs) if diffs else "")
def search_table(out: PipelineOutputs) -> str:
    """Every search, one row per seed: the architecture it derived, its cost, the supernet's accuracy, and how
    far alpha left uniform (mean normalised entropy over the layers, mean probability of each layer's most
    likely candidate): a search that stays near uniform has in effect drawn its architecture at random."""
    header = ["run", "seed", "space", "mode", "architecture (one op per searchable layer)", "blocks", "derived cost",
              "supernet val. acc. (%)", "alpha entropy (1 = uniform)", "alpha max. prob."]
    body = []
    for run in sorted(out.search):
        for k, src in out.per_seed("search", run).items():
            doc = src.doc
            acc = doc.get("final_val_acc")
            last = doc["history"][-1] if doc.get("history") else {}
            body.append([run, str(k), doc["space"], doc.get("mode", "?"), " ".join(f"`{op}`" for op in doc["arch"]),
                         composition(doc["arch"]),
                         f"{fmt(doc.get('derived_cost'))} {doc.get('cost_unit', '')}".strip(),
                         fmt(None if acc is None else 100 * acc), fmt(last.get("alpha_entropy")),
                         fmt(last.get("alpha_max_prob"))])
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
