"""TIMING.md: the wall times the stages measured (``reports/timing/...``) and DANCE's time claim.

Wall times change from run to run, so they are kept out of REPORT.md (which must regenerate
byte for byte); this file and its figure (``figures/report_wall_times.png``) are the part of the
report that does not.
"""
from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

from .claims import NOT_REPRODUCED, NOT_RUN, REPRODUCED, VerdictRules, _combine, apply_formula
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


def dance_time_claim(out: PipelineOutputs, timing: dict[str, Source], rules: VerdictRules):
    """Per lambda: co-exploration's search time against the sequential baseline's (its search plus
    its exhaustive accelerator search).  Returns (verdict, reason, table rows)."""
    if not out.dance["coexplore"]:
        return NOT_RUN, "the DANCE co-exploration stage did not run", []
    outcomes, rows = [], []
    for name in sorted(out.dance["coexplore"]):
        src = timing.get(f"dance/{name}")
        if src is None or "runs" not in src.doc:
            continue
        by = {(r["method"], r["lam"]): r for r in src.doc["runs"]}
        for (method, lam), co in sorted(by.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))):
            seq = by.get(("sequential", lam))
            if method != "coexplore" or seq is None:
                continue
            red = apply_formula("reduction_percent", [co["total_seconds"], seq["total_seconds"]])
            rows.append([out.dance["coexplore"][name].doc.get("run") or name, fmt(lam), fmt(co["total_seconds"]),
                         fmt(seq["search_seconds"]),
                         fmt(seq.get("hw_search_seconds", 0.0)), fmt(seq["total_seconds"]), fmt(red)])
            ok = red >= rules.min_reduction_percent
            outcomes.append((REPRODUCED if ok else NOT_REPRODUCED,
                             f"{rows[-1][0]}, lambda {lam:g}: co-exploration {red:.3g} % faster"))
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
        colors = {"coexplore": "#4c72b0", "sequential": "#dd8452", "plain+hw": "#55a868"}
        methods = [m for m in ("coexplore", "sequential") if any(r["method"] == m for _, r in dance)]
        lams = sorted({r["lam"] for _, r in dance if r["method"] in methods})
        width = 0.8 / max(1, len(methods))
        for j, m in enumerate(methods):
            vals = [next((r["total_seconds"] for _, r in dance if r["method"] == m and r["lam"] == lam), np.nan)
                    for lam in lams]
            ax.bar(np.arange(len(lams)) + (j - (len(methods) - 1) / 2) * width, vals, width, color=colors[m],
                   label={"coexplore": "co-exploration", "sequential": "sequential (search + accelerator search)"}[m])
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
    md.append("## DANCE: co-exploration takes less search time than sequential search\n")
    md.append(f"Paper (DANCE, abstract): co-exploration \"in a significantly shorter time\" (against "
              f"non-differentiable co-exploration). Ours: **{verdict}**: {reason}.\n")
    if claim_rows:
        md.append(markdown_table(["results", "lambda", "co-exploration (s)", "sequential: search (s)",
                                  "+ accelerator search (s)", "sequential total (s)", "co-exploration faster by (%)"],
                                 claim_rows, ["l"] + ["r"] * 6))
        md.append("\nThe one-time costs of co-exploration (generating the evaluator's data set, training the "
                  "evaluator) are in the stage table above.\n")
    return "\n".join(md) + "\n", wall_time_figure(out, timing)
