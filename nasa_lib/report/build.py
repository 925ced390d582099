"""The report stage: ``reports/REPORT.md`` (+ HTML), its figures, the claims with their provenance,
and the data files of ``dvc plots`` -- all from the other stages' metrics files.

Everything in ``REPORT.md`` is a function of the metrics files (which the stages reproduce
exactly), so deleting ``reports/`` and running ``dvc repro`` again regenerates it byte for byte.
Wall times are not reproducible, so they go to ``TIMING.md`` beside it.
"""
from __future__ import annotations

import csv
import json
from dataclasses import asdict
from pathlib import Path

from ..io import write_text
from . import report_figures as rf
from .claims import VERDICTS, ClaimResult, VerdictRules, evaluate_claims
from .html import markdown_to_html
from .headline import headline_json
from .inputs import PipelineOutputs, load_outputs, load_timing
from .reference import Reference, load_reference
from . import stats
from .sanity import SanityCheck, sanity_checks
from .claims import hw_sensitivity, scale_name
from .inputs import EMBEDDED, REALISTIC
from .tables import (ablation_table, claims_table, dance_table, fmt, main_table, markdown_table, nasaf_table,
                     pretrain_table, random_table, sanity_table, search_table, sensitivity_table, settings_table,
                     sweep_table)
from .timing import timing_markdown

# stem -> (what it shows, for the caption and the "not run" line)
FIGURES = {
    "report_pretrain_accuracy": "supernet accuracy per pretraining epoch for every search space, PGP vs no PGP",
    "report_search_op_choice": "per-layer operator choice of each searched architecture",
    "report_search_alpha_evolution": "how alpha evolved during search",
    "report_weight_distributions": "adder weight distributions (PW1 / DW / PW2) beside the conv twin",
    "report_accuracy_vs_energy": "accuracy vs energy with the Pareto front",
    "report_accuracy_vs_edp": "accuracy vs EDP with the Pareto front",
    "report_accelerator_ablation": "accelerator ablation (EDP per mapping, relative and absolute)",
    "report_energy_breakdown": "energy breakdown by memory level",
    "report_dance_evaluator": "DANCE evaluator: predicted vs true per metric",
    "report_dance_tradeoff": "DANCE: accuracy vs cost, co-exploration vs sequential across lambda",
    "report_sweep_tradeoff": "cost-weight sweep: accuracy vs the search's cost, one point per weight, baselines beside",
    "report_searched_vs_random": "searched networks vs random networks of the same cost",
}
PLOTS_DIR = "plots"


_write = write_text


def draw_figures(out: PipelineOutputs, figures_dir, dance_predictions=None,
                 spread_multiple: float = 2.0) -> dict[str, bool]:
    """Every report figure (a placeholder where its stages did not run): stem -> drawn?"""
    makers = {
        "report_pretrain_accuracy": lambda: rf.fig_pretrain_accuracy(out),
        "report_search_op_choice": lambda: rf.fig_op_choice(out),
        "report_search_alpha_evolution": lambda: rf.fig_alpha_evolution(out),
        "report_weight_distributions": lambda: rf.fig_weight_distributions(out),
        "report_accuracy_vs_energy": lambda: rf.fig_accuracy_vs_cost(out, "energy_uj"),
        "report_accuracy_vs_edp": lambda: rf.fig_accuracy_vs_cost(out, "edp_uj_ms"),
        "report_accelerator_ablation": lambda: rf.fig_accelerator_ablation(out),
        "report_energy_breakdown": lambda: rf.fig_energy_breakdown(out),
        "report_dance_evaluator": lambda: rf.fig_dance_evaluator(out, dance_predictions),
        "report_dance_tradeoff": lambda: rf.fig_dance_tradeoff(out),
        "report_sweep_tradeoff": lambda: rf.fig_sweep_tradeoff(out),
        "report_searched_vs_random": lambda: rf.fig_searched_vs_random(out, spread_multiple),
    }
    drawn = {}
    for stem, make in makers.items():
        fig = make()
        drawn[stem] = fig is not None
        if fig is None:
            fig = rf.placeholder(FIGURES[stem], f"not run in this profile ({out.profile})")
        rf.save_figure(fig, Path(figures_dir) / f"{stem}.png")
    return drawn


# ---- dvc plots data ---------------------------------------------------------------------------
def _csv(path: Path, header: list[str], rows: list[list]) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)
    return str(path)


def write_plot_data(out: PipelineOutputs, plots_dir) -> list[str]:
    """CSV files for ``dvc plots``: accuracy per pretraining epoch (one file per run: the mean over
    the seeds, their sample sd, and each seed's), accuracy vs energy / EDP per network and seed,
    DANCE's accuracy vs cost, the cost-weight sweep per (run, weight, seed) and the searched and
    random networks' accuracies (header only where those stages did not run)."""
    plots_dir = Path(plots_dir)
    written = []
    pre = plots_dir / "report_pretrain"
    pre.mkdir(parents=True, exist_ok=True)
    for stale in pre.glob("*.csv"):
        stale.unlink()
    for run in sorted(out.pretrain):
        per_seed = out.per_seed("pretrain", run)
        hist = out.pretrain[run].doc["history"]
        rows = []
        for i, h in enumerate(hist):
            vals = {k: s.doc["history"][i].get("val_acc") if i < len(s.doc["history"]) else None
                    for k, s in per_seed.items()}
            known = [100 * v for v in vals.values() if v is not None]
            sd = stats.sample_std(known) if known else None
            rows.append([h["epoch"] + 1, fmt(stats.mean(known)) if known else "", fmt(sd) if sd is not None else "",
                         h.get("phase", "mixed")] + [fmt(100 * v) if v is not None else "" for v in vals.values()])
        written.append(_csv(pre / f"{run}.csv", ["epoch", "val_acc_percent", "val_acc_sd_percent", "phase"]
                            + [f"val_acc_percent_seed{k}" for k in per_seed], rows))
    written.append(_csv(plots_dir / "report_accuracy_vs_cost.csv",
                        ["network", "seed", "arch_source", "energy_uj", "edp_uj_ms", "test_acc_percent"],
                        [[r["network"], r.get("seed", ""), r["arch_source"], fmt(r["energy_uj"]), fmt(r["edp_uj_ms"]),
                          fmt(100 * r["test_acc"])] for r in out.hw_rows("auto")]))
    written.append(_csv(plots_dir / "report_dance_tradeoff.csv",
                        ["results", "method", "lam", "cost_value", "accuracy_percent"],
                        [[name, r["method"], fmt(r["lam"]), fmt(r["cost_value"]), fmt(r["accuracy"])]
                         for name, src in sorted(out.dance["coexplore"].items()) for r in src.doc["runs"]]))
    from .sanity import sweep_points
    written.append(_csv(plots_dir / "report_sweep_tradeoff.csv",
                        ["run", "hw_weight", "main_search", "seed", "search_cost", "test_acc_percent"],
                        [[run, f"{p.hw_weight:g}", "yes" if p.main else "no", k, fmt(c), fmt(a)]
                         for run in sorted(out.sweep) for p in sweep_points(out, run)
                         for k, c, a in zip(out.seeds, p.cost, p.acc)]))
    written.append(_csv(plots_dir / "report_searched_vs_random.csv",
                        ["run", "kind", "seed_or_draw", "cost", "test_acc_percent"],
                        [[run, "searched", k, fmt(out.per_seed("search", run)[k].doc["derived_cost"])
                          if k in out.per_seed("search", run) else "", fmt(100 * src.doc["test_acc"])]
                         for run in sorted(out.random) for k, src in out.per_seed("retrain", run).items()]
                        + [[run, "random", d, fmt(src.doc["cost"]), fmt(100 * src.doc["test_acc"])]
                           for run in sorted(out.random) for d, src in out.random[run].items()]))
    return written


# ---- REPORT.md --------------------------------------------------------------------------------
def _figure(stem: str, drawn: dict, number: int, caption: str, out: PipelineOutputs) -> str:
    if not drawn[stem]:
        return f"> **Figure {number}** ({FIGURES[stem]}): not run in this profile ({out.profile}).\n"
    return (f"![{FIGURES[stem]}](figures/{stem}.png)\n\n"
            f"*Figure {number}. {caption} Profile {out.profile}, data {out.dataset}. "
            f"Files: `figures/{stem}.png`, `figures/{stem}.svg`.*\n")


def hardware_assumptions(out: PipelineOutputs) -> list[str]:
    """The unsourced numbers (``assumption: true``) of the accelerators the hardware rows used,
    one line per field and reason (naming every accelerator that shares it)."""
    from ..hw import load_accelerator
    grouped, lines = {}, []
    for name in sorted({r["accelerator"] for r in out.hw_rows(setting=None, scale=None)}):
        try:
            sources = load_accelerator(name).describe_sources()
        except ValueError:
            lines.append(f"- `{name}`: its YAML file was not found by name; see the hw_mapping stage's parameters")
            continue
        for field, why in sources.items():
            if why.startswith("assumption:"):
                grouped.setdefault((field, why[len("assumption:"):].strip()), []).append(name)
    for (field, why), names in grouped.items():
        lines.append(f"- `{field}` ({', '.join(names)}): {why}")
    return lines


def dance_assumptions() -> list[str]:
    from ..dance.assumptions import assumptions_table
    return [f"- **{r['key']}** ({r['status']}): {r['choice']} *Basis:* {r['basis']}"
            for r in assumptions_table() if r["status"] != "confirmed"]


def _seeds_text(out: PipelineOutputs) -> str:
    return f"seed{'s' * (len(out.seeds) != 1)} {', '.join(map(str, out.seeds))}"


def render_report(out: PipelineOutputs, claims: list[ClaimResult], ref: Reference, rules: VerdictRules,
                  drawn: dict, reference_name: str = "nasa_lib/report/paper_reference.yaml") -> str:
    counts = {v: sum(c.verdict == v for c in claims) for v in VERDICTS}
    checks = sanity_checks(out, rules.spread_multiple)
    runs = ", ".join(sorted(out.search)) or "none"
    baselines = ", ".join(r for r, s in sorted(out.retrain.items()) if s.doc["arch_source"] != "search") or "none"
    n_seeds = len(out.seeds)
    md = ["# Reproduction report: NASA (ICCAD'22) and DANCE (DAC'21)\n",
          f"Generated by the `report` stage of nasa_lib from the metrics files of this run: **profile {out.profile}**, "
          f"{out.provenance().split(', ', 1)[1]}. Searches: {runs}. Baselines: {baselines}. Every search and "
          f"retraining ran with {_seeds_text(out)} ({n_seeds} run{'s' * (n_seeds != 1)} each); accuracies are "
          f"given as mean ± sample standard deviation over them (n = {n_seeds}).\n",
          "Every number of ours comes from a metrics file of the pipeline (listed at the end); the papers' figures "
          f"come from the one cited data file `{reference_name}`; each verdict is computed from the numbers by "
          "`nasa_lib/report/claims.py`, never written by hand. Wall times vary from run to run, so they are in "
          "[TIMING.md](TIMING.md), and this file regenerates byte for byte.\n",
          "## What reproduces\n",
          "Verdicts: " + ", ".join(f"**{counts[v]}** {v}" for v in VERDICTS) + ".\n",
          claims_table(claims) + "\n",
          f"*Verdict rules (params.yaml `report`): a difference of two means counts only when it exceeds "
          f"{rules.spread_multiple:g} standard errors of the difference, sqrt(s1^2/n1 + s2^2/n2) with s the standard "
          f"deviation over seeds (`nasa_lib/report/stats.py`); a difference inside that spread is not comparable at "
          f"this scale, and with one seed the spread is unknown, so accuracy claims are not comparable. Accuracy "
          f"comparable within {rules.accuracy_tolerance_pp:g} "
          f"percentage points; a network (or supernet) has learned when it beats chance ({out.chance_percent:g} %) by "
          f"{rules.min_over_chance_pp:g} percentage points, "
          f"otherwise accuracy claims are not comparable at this scale; a cost counts as lower from a "
          f"{rules.min_reduction_percent:g} % reduction on (and beyond the spread), and is not lower when even the "
          f"top of its spread band is below that; a cost model that gives two "
          f"mappings the same cost for every network cannot resolve which is better; the auto-mapper claim holds only "
          f"when its EDP reduction holds against each fixed dataflow (RS, IS, WS, OS); the hardware claims are judged "
          f"in the cost model's realistic setting on the embedded networks (the verdict counted above) and, where "
          f"the hw_mapping stage mapped them, on paper-size networks (the papers' CIFAR layout) beside it, and under "
          f"every other setting in section 6; the evaluator models the cost "
          f"tool when its largest test error is at most {rules.evaluator_max_error_percent:g} %. Bold numbers of ours: "
          "read from the metrics files or derived from them; a mean ± sd (n) is over the seeds, and "
          "`REPORT_claims.json` gives every seed's value with its file and JSON path.*\n",
          "Sources of the papers' figures:\n"]
    md += [f"- **{key}**: {ref.citation(key)}" for key in ref.sources] + [""]
    md.append("## Sanity checks of the method\n")
    md.append("Not claims of the papers: what any working NAS should show (sections 8 and 9). The verdicts are "
              "computed (`nasa_lib/report/sanity.py`): the cost check on the means over seeds, searched vs random by "
              f"the same comparison as the claims ({rules.spread_multiple:g} standard errors).\n")
    md.append(sanity_table(checks) + "\n")

    n = 0

    def fig(stem, caption):
        nonlocal n
        n += 1
        md.append(_figure(stem, drawn, n, caption, out))

    first = out.first_seed
    md.append("## 1. Progressive pretraining (PGP)\n")
    fig("report_pretrain_accuracy", "Validation accuracy of the supernet (a few fixed random paths of the whole "
        f"space) after each pretraining epoch, the mean over {_seeds_text(out)} (thick) and each seed (thin); with PGP "
        "the shading shows its phases (only the multiplication-based ops train, then only the adder ops, then all). "
        "Dashed: "
        "the same space pretrained with all ops mixed from the start.")
    if out.pretrain:
        md.append(pretrain_table(out) + "\n")
    md.append("## 2. Search: operator choice per layer and how alpha evolved\n")
    fig("report_search_op_choice", f"Final probability of every candidate operator at every searchable layer "
        f"(softmax of alpha) of the search of seed {first} (one search per seed; every seed's architecture "
        "is in the table below); the white dot is the operator the search chose (per-layer argmax); tick colours "
        "give the operator kind.")
    fig("report_search_alpha_evolution", "Probability of each operator kind, averaged over the layers, after "
        f"each search epoch, of the search of seed {first}.")
    if out.search:
        md.append(search_table(out) + "\n")
    md.append("## 3. Weight distributions: adder layers beside their conv twin\n")
    fig("report_weight_distributions", "Histograms of the trained weights of the adder blocks' PW1, DW and PW2 "
        "layers, beside the convolution weights of the conv twin (same layout, all blocks conv) at the same layers, "
        f"both the networks retrained with seed {first}.")
    if not drawn["report_weight_distributions"] and out.retrain:
        md.append("No trained network of this profile has adder layers (searched or all-adder baseline).\n")
    md.append("## 4. Main table: every searched network and every baseline\n")
    if out.retrain:
        md.append(f"Accuracy on the test split (seen once, after training), mean ± sd over {_seeds_text(out)} (n); "
                  "parameter count; multiplications, additions and shifts per image (the layer specs' counting); "
                  "energy, latency, EDP and area per image on the chunk-based accelerator (columns `chunk:`, "
                  "auto-mapper) and on the Eyeriss-like multiplier-only accelerator (columns `Eyeriss-like:`, same "
                  "PE budget), the cost model in its realistic setting (section 6). A searched network differs per "
                  "seed, so its counts and costs are mean ± sd over "
                  "the seeds' networks too (a baseline is the same network every seed: sd 0). Sources: "
                  "`reports/metrics/retrain/*/seed*.json`, "
                  f"`{out.hw.path if out.hw else 'reports/metrics/hw_mapping.json (not run)'}`.\n")
        md.append(main_table(out) + "\n")
    else:
        md.append("> No network was retrained in this profile.\n")
    md.append("## 5. Accuracy vs energy and EDP\n")
    fig("report_accuracy_vs_energy", "Test accuracy against energy per image, each network the mean over its "
        "seeds with ± sd bars in both axes; filled markers on the chunk-based "
        "accelerator (auto-mapper), hollow diamonds the same network on the multiplier-only accelerator; the "
        "dashed line joins the chunk-based networks no other beats in both.")
    fig("report_accuracy_vs_edp", "The same against EDP (energy x latency) per image.")
    md.append("## 6. Accelerator ablation and energy breakdown\n")
    fig("report_accelerator_ablation", "EDP per image of every embedded network (the profile's trained networks), "
        "cost model in its realistic setting, relative to the auto-mapper (left) and absolute (right), mean ± sd "
        "over the seeds' networks: auto-mapper (dataflow and PE / buffer split searched per network), each fixed "
        "dataflow (RS, IS, WS, OS), the FLOPs-proportional PE split of the NASA-F simulator (PEs in proportion to "
        "each chunk's work under its area budget), and the Eyeriss-like multiplier-only accelerator (shift and "
        "adder layers run as multiply-accumulates).")
    fig("report_energy_breakdown", "Where the energy goes: DRAM, global buffer, network on chip, register files, "
        "compute and leakage, per embedded network and mapping (realistic setting, mean over the seeds' networks).")
    if out.hw is not None:
        md.append(hardware_section(out, ref, rules, reference_name))
    md.append("## 7. DANCE: evaluator and co-exploration\n")
    fig("report_dance_evaluator", "The evaluator network's prediction against the cost tool's value, per metric, "
        "on the held-out test rows of its data set (log-log; the dashed line is a perfect prediction).")
    fig("report_dance_tradeoff", "Accuracy against hardware cost of the network and accelerator each method found, "
        "one point per lambda: co-exploration (evaluator + hardware generator) against the sequential baseline "
        "(network search on a fixed accelerator, then exhaustive accelerator search). DANCE runs once, from the "
        "supernet of seed common.seed: no spread over seeds.")
    if out.dance["coexplore"]:
        md.append(dance_table(out) + "\n")
        md.append("**Assumptions the DANCE results rest on** (recalled from the paper, unconfirmed, or our own "
                  "choice; `nasa_lib/dance/assumptions.py`):\n")
        md += dance_assumptions() + [""]
    md.append("Search wall times of DANCE and of every stage: [TIMING.md](TIMING.md).\n")
    md.append("## 8. Cost-weight sweep: accuracy against the search's cost\n")
    fig("report_sweep_tradeoff", "Test accuracy against the search's own cost (discounted MACs per image, fixed "
        "layers included) of the network each search derived, one point per weight of the hardware-cost term "
        f"(labelled; the star is the main search), mean ± sd over {_seeds_text(out)} in both axes; squares: the fixed "
        "baselines, their cost computed the same way from their architecture.")
    for run in sorted(out.sweep):
        check = next(c for c in checks if c.run == run and c.check.startswith("cost falls"))
        md.append(f"**{run}**: cost falls (or stays) as the weight rises: **{check.verdict}**.\n")
        md.append(sweep_table(out, run) + "\n")
    if not out.sweep:
        md.append("> No run is swept in this profile (params.yaml `sweep.runs`).\n")
    md.append("## 9. Searched vs random networks of the same cost\n")
    fig("report_searched_vs_random", "Test accuracy of the searched networks (one per seed) beside networks drawn "
        "uniformly from the same space within the random stage's tolerance of the searched network's cost (one per "
        "draw, each retrained with the same recipe, seed = draw); bars: mean ± sd. The verdict (panel title and "
        f"table) is the claims' comparison: a difference counts beyond {rules.spread_multiple:g} standard errors.")
    for run in sorted(r for r in out.random if out.random[r]):
        md.append(random_table(out, run, rules.spread_multiple) + "\n")
    if not any(out.random.values()):
        md.append("> No random architectures were drawn in this profile (params.yaml `random.runs`).\n")
    md.append("## Inputs read\n")
    md.append(markdown_table(["stage", "files"], input_rows(out)) + "\n")
    return "\n".join(md)


def hardware_section(out: PipelineOutputs, ref: Reference, rules: VerdictRules,
                     reference_name: str = "nasa_lib/report/paper_reference.yaml") -> str:
    """Section 6's tables: the cost model's settings, the ablation per network at every scale, the
    assumptions, the NASA-F comparison and the claims' sensitivity to each switch."""
    md = []
    settings = settings_table(out)
    if settings:
        md.append("**The cost model's settings.** Every hardware number is computed under a setting of the cost "
                  "model's switches (the physics it puts in or leaves out; `nasa_lib/hw/options.py`): the "
                  "*realistic* default, which every table and figure above uses unless it says otherwise, and the "
                  "*NASA-F-compatible* setting, NASA-F's assumptions; the sensitivity analysis below flips each "
                  f"switch of the realistic setting alone (source: `{out.hw.path}`, `settings`).\n")
        md.append(settings + "\n")
    for scale in [EMBEDDED] + [s for s in out.hw_scales() if s != EMBEDDED]:
        if not out.hw_rows(setting=REALISTIC, scale=scale):
            continue
        what = ("each seed's searched network; a network that is the same every seed once" if scale == EMBEDDED
                else "the papers' CIFAR layout: 32 px, full width, 22 searchable layers; not trained, so no accuracy")
        md.append(f"Per network and mapping, **{scale_name(scale)}** ({what}), realistic setting; latency is each "
                  "row's headline latency (the pipelined interval of the chunks working on successive images "
                  "unless the setting says single-image), the single-image latency beside it:\n")
        md.append(ablation_table(out, rf._mode_label, scale, REALISTIC) + "\n")
    assumptions = hardware_assumptions(out)
    if assumptions:
        md.append("**Assumptions these hardware figures rest on** (numbers the sources do not give; from the "
                  "accelerator YAML files):\n")
        md += assumptions + [""]
    comparison = nasaf_table(out.hw.doc, ref)
    if comparison:
        comp = out.hw.doc["nasaf_comparison"]
        md.append(f"**Against the NASA-F simulator.** The reference network {comp.get('network', '')} "
                  f"({comp.get('what', '')}; {comp.get('layers', '?')} layers), mapped by our model in the "
                  "NASA-F-compatible and in the realistic setting, beside the authors' NASA-F simulator run "
                  f"unmodified (SOURCES.md [NASA-F-run]; its numbers from `{reference_name}`, ours from "
                  f"`{out.hw.path}`, `nasaf_comparison`):\n")
        md.append(comparison + "\n")
    else:
        md.append(f"For scale: the authors' NASA-F simulator (run unmodified, SOURCES.md [NASA-F-run]) gives "
                  f"{fmt(ref.value('nasa_f_hybrid_all_energy_uj'))} uJ, "
                  f"{fmt(ref.value('nasa_f_hybrid_all_latency_ms'))} ms "
                  f"and EDP {fmt(ref.value('nasa_f_hybrid_all_edp_mj_ms'))} mJ x ms per image for a "
                  f"{fmt(ref.value('nasa_f_hybrid_all_blocks'))}-block Hybrid-All "
                  f"CIFAR network (from `{reference_name}`); the hw_mapping stage ran without the comparison on "
                  "that network, so only the ratios compare.\n")
    sens = sensitivity_table(out, rules)
    if sens:
        scale, table = sens
        md.append(f"**Which assumption each hardware claim rests on** ({scale_name(scale)}). Each claim judged "
                  "as in the claims table, on the rows of one setting: the realistic default, the realistic setting "
                  "with one switch flipped alone (column: switch, realistic value -> flipped value), and the "
                  "NASA-F-compatible setting; each cell the verdict and the geometric-mean EDP reduction it rests "
                  "on (the auto-mapper: against the fixed dataflow it beats by least). A verdict that changes along "
                  "a row rests on that switch.\n")
        md.append(table + "\n")
    return "\n".join(md)


def input_rows(out: PipelineOutputs) -> list[list[str]]:
    rows = [["data", f"`{out.data.path}`"]]
    for stage in ("pretrain", "search", "retrain", "alpha"):
        files = [s.path for _, by_seed in sorted(getattr(out, f"{stage}_seeds").items()) for s in by_seed.values()]
        if files:
            rows.append([stage if stage != "alpha" else "search (alpha)", " ".join(f"`{f}`" for f in files)])
    if out.checkpoint_seeds:
        rows.append(["retrain (weights)", " ".join(f"`{p}`" for _, by_seed in sorted(out.checkpoint_seeds.items())
                                                   for p in by_seed.values())])
    if out.hw:
        rows.append(["hw_mapping", f"`{out.hw.path}`"])
    if out.sweep:
        rows.append(["sweep", " ".join(f"`{s.path}`" for _, by_w in sorted(out.sweep.items())
                                       for by_seed in by_w.values() for s in by_seed.values())])
        rows.append(["search (layout)", " ".join(f"`{path}`" for _, (path, _) in sorted(out.layouts.items()))])
    if any(out.random.values()):
        rows.append(["random_arch", " ".join(f"`{s.path}`" for _, by_draw in sorted(out.random.items())
                                             for s in by_draw.values())])
    for kind, group in out.dance.items():
        if group:
            rows.append([f"dance ({kind})", " ".join(f"`{s.path}`" for _, s in sorted(group.items()))])
    return rows


def claims_json(claims: list[ClaimResult], out: PipelineOutputs, rules: VerdictRules,
                checks: list[SanityCheck] | None = None) -> str:
    """The claims with every number's provenance, the sanity checks, and the hardware claims'
    sensitivity (each claim on each setting's rows at the sensitivity scale)."""
    checks = sanity_checks(out, rules.spread_multiple) if checks is None else checks
    scale, settings, judged = hw_sensitivity(out, rules)
    sensitivity = {"scale": scale, "settings": settings,
                   "verdicts": [j.to_dict() for by_setting in judged.values() for j in by_setting.values()]}
    return json.dumps({"profile": out.profile, "dataset": out.dataset, "seeds": list(out.seeds), "rules": asdict(rules),
                       "claims": [c.to_dict() for c in claims], "sanity_checks": [c.to_dict() for c in checks],
                       "hw_sensitivity": sensitivity}, indent=1) + "\n"


# ---- the stage --------------------------------------------------------------------------------
def build_report(profile: str, runs, baselines, dance_runs, metrics_dir="reports/metrics", artifacts_dir="artifacts",
                 timing_dir="reports/timing", out_dir="reports", rules: VerdictRules | None = None, *, seeds,
                 sweep: dict | None = None, random: dict | None = None, reference_path=None,
                 dance_predictions=None) -> dict:
    """Write REPORT.md, REPORT.html, REPORT_claims.json, TIMING.md, the figures
    (``<out_dir>/figures/report_*.png|svg``) and the plot data (``<out_dir>/plots/``) for the runs
    params.yaml lists (``runs``, ``baselines``, ``dance_runs``: names; ``seeds``: the training
    seeds; ``sweep``: ``{"runs", "hw_weights", "main_hw_weight"}`` or None; ``random``: ``{"runs",
    "draws"}`` or None).  Returns what it wrote, the claims (``"claims"``), the sanity checks
    (``"sanity"``) and which figures were drawn (``"drawn"``)."""
    rules = rules or VerdictRules()
    out = load_outputs(profile, runs, baselines, dance_runs, metrics_dir, artifacts_dir, seeds=seeds, sweep=sweep,
                       random=random)
    ref = load_reference(reference_path)
    claims = evaluate_claims(out, ref, rules)
    checks = sanity_checks(out, rules.spread_multiple)
    out_dir = Path(out_dir)
    if dance_predictions is None:
        from .dance_inputs import load_dance_predictions
        dance_predictions = load_dance_predictions(out)
    drawn = draw_figures(out, out_dir / "figures", dance_predictions, rules.spread_multiple)
    written = {"figures": {stem: [str(out_dir / "figures" / f"{stem}.{ext}") for ext in ("png", "svg")]
                           for stem in FIGURES}}
    written["plots"] = write_plot_data(out, out_dir / PLOTS_DIR)
    report = render_report(out, claims, ref, rules, drawn)
    written["report_md"] = _write(out_dir / "REPORT.md", report)
    written["report_html"] = _write(out_dir / "REPORT.html", markdown_to_html(report, f"nasa_lib report ({profile})"))
    written["claims_json"] = _write(out_dir / "REPORT_claims.json", claims_json(claims, out, rules, checks))
    written["headline"] = _write(out_dir / "headline_metrics.json", headline_json(out, claims))
    names = {*runs, *baselines, *dance_runs}
    timing_md, timing_fig = timing_markdown(out, load_timing(timing_dir, names), rules)
    rf.save_figure(timing_fig, out_dir / "figures" / "report_wall_times.png")
    written["timing_md"] = _write(out_dir / "TIMING.md", timing_md)
    written["drawn"] = drawn
    written["claims"] = claims
    written["sanity"] = checks
    return written
