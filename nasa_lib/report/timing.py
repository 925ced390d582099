"""TIMING.md: the wall times the stages measured (``reports/timing/...``) and DANCE's time claim.

Wall times change from run to run, so they are kept out of REPORT.md (which must regenerate
byte for byte); this file and its figure (``figures/report_wall_times.png``) are the part of the
report that does not.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .claims import NOT_COMPARABLE, NOT_REPRODUCED, NOT_RUN, REPRODUCED, VerdictRules, _combine, apply_formula
from .inputs import PipelineOutputs, Source
from .tables import fmt, markdown_table


def stage_seconds(doc: dict) -> float | None:
    """The total wall time a timing file records (its first known total field)."""
    if isinstance(doc.get("generate_seconds"), (int, float)):     # the DANCE data set: tables + pairs
        return float(doc["generate_seconds"]) + float(doc.get("tables_seconds", 0.0) or 0.0)
    for key in ("wall_s", "train_seconds", "total_seconds", "seconds"):
        if isinstance(doc.get(key), (int, float)):
            return float(doc[key])
    runs = doc.get("runs")
    if isinstance(runs, list) and runs and all(isinstance(r.get("total_seconds"), (int, float)) for r in runs):
        return float(sum(r["total_seconds"] for r in runs)) + float(doc.get("tables_seconds", 0.0) or 0.0)
    return None


def time_comparison(seconds: float, baseline_seconds: float, reduction_percent: float,
                    baseline: str | None = None) -> str:
    """"12.5 % faster than <baseline>" when ``seconds`` is the shorter, "2.08x the time of
    <baseline>" when it is the longer (a negative "faster by" reads as nonsense); without a
    baseline's name, the phrase alone."""
    if reduction_percent >= 0:
        return f"{reduction_percent:.3g} % faster" + (f" than {baseline}" if baseline else "")
    return f"{seconds / baseline_seconds:.3g}x the time" + (f" of {baseline}" if baseline else "")


def dance_time_claim(out: PipelineOutputs, timing: dict[str, Source], rules: VerdictRules):
    """Per lambda: co-exploration's search time against the evolutionary (non-differentiable)
    co-exploration's -- the baseline of DANCE's claim, which decides the verdict -- and, beside it,
    against the sequential baseline's (its search plus its exhaustive accelerator search).  Without
    an evolutionary run the claim is not comparable.  Returns (verdict, reason, table rows)."""
    if not out.dance["coexplore"]:
        return NOT_RUN, "the DANCE co-exploration stage did not run", []
    outcomes, rows = [], []
    for name in sorted(out.dance["coexplore"]):
        src = timing.get(f"dance/{name}")
        if src is None or "runs" not in src.doc:
            continue
        by = {(r["method"], r["lam"]): r for r in src.doc["runs"]}
        run = out.dance["coexplore"][name].doc.get("run") or name
        for (method, lam), co in sorted(by.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            if method != "coexplore":
                continue
            evo, seq = by.get(("evolutionary", lam)), by.get(("sequential", lam))
            if evo is None and seq is None:
                continue
            red_e = (apply_formula("reduction_percent", [co["total_seconds"], evo["total_seconds"]])
                     if evo is not None else None)
            red_s = (apply_formula("reduction_percent", [co["total_seconds"], seq["total_seconds"]])
                     if seq is not None else None)
            rows.append([run, fmt(lam), fmt(co["total_seconds"]), fmt(co.get("cost_evaluations")),
                         fmt(evo["total_seconds"]) if evo else "-", fmt(evo.get("evaluations")) if evo else "-",
                         fmt(red_e) if evo else "-", fmt(seq["total_seconds"]) if seq else "-",
                         fmt(red_s) if seq else "-"])
            beside = (f" (vs sequential: {time_comparison(co['total_seconds'], seq['total_seconds'], red_s)})"
                      if seq is not None else "")
            if evo is None:
                outcomes.append((NOT_COMPARABLE, f"{run}, lambda {lam:g}: no evolutionary (non-differentiable) "
                                 f"co-exploration was timed{beside}"))
                continue
            ok = red_e >= rules.min_reduction_percent
            outcomes.append((REPRODUCED if ok else NOT_REPRODUCED,
                             f"{run}, lambda {lam:g}: co-exploration "
                             f"{time_comparison(co['total_seconds'], evo['total_seconds'], red_e, 'evolutionary co-exploration')} "
                             f"({fmt(evo.get('evaluations'))} pair evaluations){beside}"))
    if not outcomes:
        return NOT_RUN, "no wall times were recorded for the co-exploration runs", []
    verdict, reason = _combine(outcomes)
    return verdict, reason, rows


def wall_time_figure(out: PipelineOutputs, timing: dict[str, Source]):
    stages = [(k, stage_seconds(s.doc)) for k, s in sorted(timing.items())]
    stages = [(k, v) for k, v in stages if v is not None]
    dance = [(name, r) for name, s in sorted(timing.items()) if name.startswith("dance/") and "runs" in s.doc
             for r in s.doc["runs"]]
    fig, axes = plt.subplots(1, 2 if dance else 1, figsize=(13 if dance else 7, max(3.2, 0.28 * len(stages) + 1.6)),
                             squeeze=False, layout="constrained")
    ax = axes[0][0]
    if stages:
        y = np.arange(len(stages))[::-1]
        ax.barh(y, [v for _, v in stages], color="#4c72b0")
        ax.set_yticks(y, [k for k, _ in stages], fontsize=7)
    else:
        ax.text(0.5, 0.5, "no wall times recorded", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("stage / run")
    ax.set_title("Wall time of every stage that records one", fontsize=9)
    if dance:
        ax = axes[0][1]
        colors = {"coexplore": "#4c72b0", "sequential": "#dd8452", "evolutionary": "#8172b3", "plain+hw": "#55a868"}
        methods = [m for m in ("coexplore", "evolutionary", "sequential") if any(r["method"] == m for _, r in dance)]
        lams = sorted({r["lam"] for _, r in dance if r["method"] in methods})
        width = 0.8 / max(1, len(methods))
        for j, m in enumerate(methods):
            vals = [next((r["total_seconds"] for _, r in dance if r["method"] == m and r["lam"] == lam), np.nan)
                    for lam in lams]
            ax.bar(np.arange(len(lams)) + (j - (len(methods) - 1) / 2) * width, vals, width, color=colors[m],
                   label={"coexplore": "co-exploration", "sequential": "sequential (search + accelerator search)",
                          "evolutionary": "evolutionary co-exploration (same pair budget)"}[m])
        ticks = [f"lambda {lam:g}" for lam in lams]
        plain = [r for _, r in dance if r["method"] == "plain+hw"]
        if plain:   # the plain search has no lambda: its own slot, labelled with its hardware weight
            ax.bar([len(lams)], [plain[0]["total_seconds"]], width, color=colors["plain+hw"],
                   label="plain search + accelerator search")
            ticks.append(f"plain search\n(hw_weight {plain[0]['lam']:g})")
        ax.set_xticks(range(len(ticks)), ticks, fontsize=8)
        ax.set_xlabel("method setting (lambda: weight of the hardware cost)")
        ax.set_ylabel("search wall time (s), accelerator search included")
        ax.set_title("DANCE: search wall time per method", fontsize=9)
        ax.legend(fontsize=7)
    fig.suptitle(f"Wall times (vary between runs)\n{out.provenance()}", fontsize=11)
    return fig


def timing_markdown(out: PipelineOutputs, timing: dict[str, Source], rules: VerdictRules):
    """(TIMING.md text, wall-time figure)."""
    md = ["# Wall times\n",
          f"Profile **{out.profile}**, {out.provenance().split(', ', 1)[1]}. Measured by the stages on this machine "
          "(`reports/timing/`); unlike the metrics they differ from run to run, which is why they are not in "
          "[REPORT.md](REPORT.md).\n",
          "![wall times](figures/report_wall_times.png)\n",
          "*Wall time of every stage that records one, and DANCE's search time per method and lambda. Files: "
          "`figures/report_wall_times.png`, `figures/report_wall_times.svg`.*\n"]
    rows = [[k, fmt(stage_seconds(s.doc)), f"`{s.path}`"] for k, s in sorted(timing.items())
            if stage_seconds(s.doc) is not None]
    md.append(markdown_table(["stage / run", "wall time (s)", "file"], rows, ["l", "r", "l"]) if rows
              else "> No stage recorded a wall time.")
    md.append("")
    verdict, reason, claim_rows = dance_time_claim(out, timing, rules)
    md.append("## DANCE: co-exploration takes less search time than non-differentiable co-exploration\n")
    md.append(f"Paper (DANCE, abstract): co-exploration \"in a significantly shorter time\" (against "
              f"non-differentiable co-exploration). Ours, against aging evolution over (network, accelerator) "
              f"pairs (fitness: supernet validation accuracy - lambda * log(cost / reference), exact cost), "
              f"with as many pair evaluations as co-exploration costs pairs unless `dance.evolution_evaluations` "
              f"sets the number: **{verdict}**: {reason}.\n")
    if claim_rows:
        md.append(markdown_table(["results", "lambda", "co-exploration (s)", "co-exploration cost evaluations",
                                  "evolutionary (s)", "evolutionary pair evaluations",
                                  "faster than evolutionary by (%)", "sequential total (s)",
                                  "faster than sequential by (%)"],
                                 claim_rows, ["l"] + ["r"] * 8))
        md.append("\nCo-exploration's time is its search (supernet weights and architecture trained together); the "
                  "evolution scores pairs with the pretrained supernet's weights and needs neither a data set nor "
                  "an evaluator: the one-time costs of co-exploration (generating the evaluator's data set, "
                  "training the evaluator) are in the stage table above. The sequential total is its search plus "
                  "its exhaustive accelerator search.\n")
    return "\n".join(md) + "\n", wall_time_figure(out, timing)
