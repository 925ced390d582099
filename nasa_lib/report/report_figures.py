"""The report's figures (``reports/figures/report_*.png`` and ``.svg``), drawn from the stages'
metrics files, alpha histories and checkpoints only.

Each function takes the loaded :class:`~.inputs.PipelineOutputs`, draws one figure whose title
names the profile and the data set, and returns it (unsaved; :func:`save_figure` writes it with
fixed metadata so re-running gives byte-identical files).  A function returns ``None`` when the
stages it needs did not run in this profile; the report then says so in a line of text.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib.ticker
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ..io import load_torch  # noqa: E402
from ..opkinds import CONV_TWIN_KIND, OP_KINDS, kinds_with_layer_op, op_kind  # noqa: E402
from ..ops.registry import get_op  # noqa: E402
from .claims import is_mult_only  # noqa: E402
from .figures import (HYBRID_COLOUR, accuracy_axis, kind_colour, kind_probabilities,  # noqa: E402
                      label_points, layer_labels, mark_uniform_levels, network_colour, network_kind, op_colour,
                      pareto_front, phase_legend, shade_phases)
from .inputs import PipelineOutputs  # noqa: E402
from .tables import LEVEL_LABELS, LEVELS, mode_label, network_order  # noqa: E402

KIND_COLORS = {k: kind_colour(k) for k in OP_KINDS}    # the op-kind table's colours (figures.kind_colour)
KIND_NAMES = {k.name: k.label for k in OP_KINDS.values()}
MODE_COLORS = {"auto": "#4c72b0", "fixed_RS": "#55a868", "fixed_IS": "#8fbc8f", "fixed_WS": "#2e6b3f",
               "fixed_OS": "#b5cf6b", "flops_proportional": "#c44e52", "multiplier_only": "#8c8c8c"}
LEVEL_COLORS = {"dram": "#c44e52", "gb": "#dd8452", "noc": "#ccb974", "rf": "#55a868", "compute": "#4c72b0",
                "static": "#8172b3"}
PARTS = ("pw1", "dw", "pw2")
ADDER_WEIGHT_KINDS = kinds_with_layer_op("adder")  # kinds whose blocks have adder weights
CONV_WEIGHT_KINDS = kinds_with_layer_op("mult")    # kinds whose blocks have convolution weights
PART_LABELS = {"pw1": "PW1 (1x1 expansion)", "dw": "DW (depthwise kxk)", "pw2": "PW2 (1x1 projection)"}


def save_figure(fig, path_png) -> list[str]:
    """PNG and SVG beside it, without dates or versions in the files (byte-identical reruns).
    The layout is computed once and then frozen, so the two formats share it (and it is not
    computed twice)."""
    path_png = Path(path_png)
    path_png.parent.mkdir(parents=True, exist_ok=True)
    fig.draw_without_rendering()
    fig.set_layout_engine("none")
    fig.savefig(path_png, dpi=110, metadata={"Software": None})
    svg = path_png.with_suffix(".svg")
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [str(path_png), str(svg)]


def placeholder(title: str, message: str):
    """A small figure that says why a figure could not be drawn (its files must exist for DVC)."""
    fig, ax = plt.subplots(figsize=(6, 1.6), layout="constrained")
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True, fontsize=10)
    ax.set_title(title)
    return fig


def _plain_log_ticks(ax, axis: str = "both") -> None:
    """Log axes labelled 2, 5, 10 ... instead of overlapping 2x10^0 labels."""
    from matplotlib.ticker import LogLocator, NullFormatter, FormatStrFormatter
    for a in ([ax.xaxis, ax.yaxis] if axis == "both" else [getattr(ax, f"{axis}axis")]):
        a.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        a.set_major_formatter(FormatStrFormatter("%g"))
        a.set_minor_formatter(NullFormatter())


def _title(fig, what: str, out: PipelineOutputs):
    """Title and provenance line, wrapped to the figure's width (about 11 characters per inch)."""
    import textwrap
    width = max(30, int(fig.get_figwidth() * 12))
    fig.suptitle("\n".join(textwrap.fill(part, width) for part in (what, out.provenance())), fontsize=11)


def _grid(n: int, ncols: int = 3, size=(5.0, 3.6)):
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(max(7.5, size[0] * ncols), size[1] * nrows + 0.8),
                             squeeze=False, layout="constrained")
    for ax in axes.flat[n:]:
        ax.axis("off")
    return fig, list(axes.flat[:n])


# ---- pretraining ------------------------------------------------------------------------------
def _seed_mean(rows_per_seed: list[list[dict]], key: str, epoch: int, how=np.mean) -> float:
    """``how`` (mean, min, max) over the seeds of ``key`` at ``epoch`` (seeds without it left out)."""
    vals = [_percent(rows[epoch].get(key)) for rows in rows_per_seed if epoch < len(rows)]
    vals = [v for v in vals if np.isfinite(v)]
    return float(how(vals)) if vals else np.nan


def fig_pretrain_accuracy(out: PipelineOutputs):
    """Supernet validation accuracy per pretraining epoch, one panel per search space, PGP
    (solid, the phases that ran shaded) against no PGP (dashed): the mean over the seeds (thick)
    and each seed (thin, same colour).  Where the rows carry them, the min-max band over the
    evaluation paths of every seed (``val_acc_paths_min`` / ``val_acc_paths_max``) and the widest
    path (``val_acc_widest``, mean over seeds, dotted) in the run's colour.  The axis runs from 0
    to 100 % with chance dashed; the legend names only the phases shaded (those of the first
    seed: every seed runs the same schedule)."""
    if not out.pretrain:
        return None
    spaces = sorted({s.doc["space"] for s in out.pretrain.values()})
    fig, axes = _grid(len(spaces))
    for ax, space in zip(axes, spaces):
        runs = sorted((r for r, s in out.pretrain.items() if s.doc["space"] == space),
                      key=lambda r: (not out.pretrain[r].doc["pgp"], r))
        seen, phases = [], []
        for run in runs:
            doc = out.pretrain[run].doc
            hists = [s.doc["history"] for s in out.per_seed("pretrain", run).values()]
            n = len(hists)
            if doc["pgp"]:
                phases += [p for p in shade_phases(ax, doc["history"], full_width=False) if p not in phases]
            epochs = [h["epoch"] + 1 for h in doc["history"]]
            e = range(len(epochs))
            acc = [_seed_mean(hists, "val_acc", i) for i in e]
            seen += acc
            what = f"mean of {n} seeds" if n > 1 else f"seed {out.first_seed}"
            line, = ax.plot(epochs, acc, ls="-" if doc["pgp"] else "--", marker="o" if doc["pgp"] else "s", lw=2,
                            label=f"{run} ({'PGP' if doc['pgp'] else 'no PGP'}), {what}")
            if n > 1:
                for k, hist in zip(out.per_seed("pretrain", run), hists):
                    vals = [_percent(h.get("val_acc")) for h in hist]
                    ax.plot([h["epoch"] + 1 for h in hist], vals, ls=line.get_linestyle(), lw=0.8, alpha=0.5,
                            color=line.get_color(), gid=f"seed:{run}:{k}",
                            label=f"{run}: each seed" if k == out.first_seed else None)
                    seen += vals
            if any(h.get("val_acc_paths_min") is not None and h.get("val_acc_paths_max") is not None
                   for hist in hists for h in hist):
                lo = [_seed_mean(hists, "val_acc_paths_min", i, np.min) for i in e]
                hi = [_seed_mean(hists, "val_acc_paths_max", i, np.max) for i in e]
                ax.fill_between(epochs, lo, hi, color=line.get_color(), alpha=0.2, lw=0, gid=f"paths_band:{run}",
                                label=f"{run}: min-max over the evaluation paths" + (" and seeds" if n > 1 else ""))
                seen += lo + hi
            if any(h.get("val_acc_widest") is not None for hist in hists for h in hist):
                widest = [_seed_mean(hists, "val_acc_widest", i) for i in e]
                ax.plot(epochs, widest, ls=":", marker="^", ms=4, color=line.get_color(), gid=f"widest:{run}",
                        label=f"{run}: widest path" + (" (mean of the seeds)" if n > 1 else ""))
                seen += widest
        order = ["mult", "adder", "mixed"]
        phases.sort(key=lambda p: order.index(p) if p in order else len(order))
        accuracy_axis(ax, seen, out.chance_percent, "supernet validation accuracy (%)")
        ax.set_title(f"search space {space}")
        ax.set_xlabel("pretraining epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_xlim(0.5, max(len(out.pretrain[r].doc["history"]) for r in runs) + 0.5)
        handles, labels = ax.get_legend_handles_labels()
        extra = phase_legend(phases)
        ax.legend(handles + extra[0], labels + extra[1], fontsize=7, loc="best")
    _title(fig, "Supernet accuracy during pretraining (fixed random paths), PGP vs no PGP", out)
    return fig


def _percent(value) -> float:
    return np.nan if value is None else 100.0 * float(value)


# ---- search -----------------------------------------------------------------------------------
def fig_op_choice(out: PipelineOutputs):
    """Final operator probabilities (softmax of alpha) per layer of every search; the chosen op
    (per-layer argmax) is marked with a white dot.  The colour scale is fixed to 0-1 and the
    colour bar marks the uniform level 1/n of a layer of n candidates (a band from the smallest
    to the largest 1/n when layers' counts differ; each row label then names its layer's level,
    see :func:`.figures.mark_uniform_levels`); candidate names are coloured by operator kind."""
    runs = sorted(out.alpha)
    if not runs:
        return None
    widest = max(len({op for c in out.alpha[r].doc["candidates"] for op in c}) for r in runs)
    fig, axes = _grid(len(runs), ncols=2 if len(runs) > 1 else 1, size=(0.42 * widest + 2.5, 4.4))
    image = None
    counts = []         # candidates per layer, of every run (the colour bar's uniform levels)
    for ax, run in zip(axes, runs):
        alpha = out.alpha[run].doc
        final = alpha["probabilities_per_epoch"][-1]
        names = sorted({op for c in alpha["candidates"] for op in c},
                       key=lambda o: (list(OP_KINDS).index(get_op(o).kind), o))
        matrix = np.full((len(final), len(names)), np.nan)
        for i, (cands, probs) in enumerate(zip(alpha["candidates"], final)):
            for op, p in zip(cands, probs):
                matrix[i, names.index(op)] = p
        ax.set_facecolor("#d9d9d9")
        image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
        counts += [len(c) for c in alpha["candidates"][:len(final)]]
        # the architecture the search exported (its argmax of alpha; the stored probabilities are
        # rounded, so their argmax can tie)
        chosen = out.search[run].doc["arch"] if run in out.search else [c[int(np.argmax(p))] for c, p in
                                                                        zip(alpha["candidates"], final)]
        for i, op in enumerate(chosen):
            ax.plot(names.index(op), i, "o", color="white", ms=6, mec="black", mew=0.8)
        ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
        for tick, name in zip(ax.get_xticklabels(), names):
            tick.set_color(op_colour(name))
        ax.set_yticks(range(len(final)), layer_labels(alpha["candidates"][:len(final)]), fontsize=7)
        ax.set_xlabel("candidate operator (grey: not allowed at that layer)")
        ax.set_ylabel("searchable layer")
        space = out.search[run].doc["space"] if run in out.search else "?"
        epochs = len(alpha["probabilities_per_epoch"])
        ax.set_title(f"{run} (space {space}), seed {out.first_seed}, after {epochs} search "
                     f"epoch{'s' * (epochs != 1)}", fontsize=9)
    mark_uniform_levels(fig.colorbar(image, ax=axes, label="probability softmax(alpha)", shrink=0.8), counts)
    _title(fig, f"Per-layer operator choice of each search, seed {out.first_seed} (white dot: the operator the "
                f"search chose)", out)
    return fig


def fig_alpha_evolution(out: PipelineOutputs):
    """Mean probability of each operator kind over the layers, per search epoch, per search."""
    runs = sorted(out.alpha)
    if not runs:
        return None
    fig, axes = _grid(len(runs), size=(4.6, 3.4))
    for ax, run in zip(axes, runs):
        alpha = out.alpha[run].doc
        per_epoch = alpha["probabilities_per_epoch"]
        for kind, series in kind_probabilities(alpha).items():
            ax.plot(range(1, len(per_epoch) + 1), series, marker="o", color=kind_colour(kind), label=KIND_NAMES[kind],
                    gid=f"kind:{kind}")
        ax.set_xlabel("search epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("mean probability over layers")
        ax.set_ylim(0, 1)
        ax.set_xticks(range(1, len(per_epoch) + 1))
        ax.set_title(f"{run}, seed {out.first_seed}", fontsize=9)
        ax.legend(fontsize=7, title="operator kind", title_fontsize=7)
    _title(fig, f"How alpha evolved during search (seed {out.first_seed}): probability of each operator kind", out)
    return fig


# ---- weights ----------------------------------------------------------------------------------
def pick_weight_pair(out: PipelineOutputs):
    """(network with adder layers, its adder block indices, conv twin or None).  The searched
    network with the most adder blocks, else the all-adder baseline; the twin is the all-conv
    baseline of the same layout, else the OnlyConv search.  ``None`` when no trained network has
    adder layers."""
    def adder_blocks(run):
        return [i for i, op in enumerate(out.retrain[run].doc["arch"]) if get_op(op).kind in ADDER_WEIGHT_KINDS]
    have = [r for r in out.checkpoints if adder_blocks(r)]
    searched = sorted((r for r in have if out.retrain[r].doc["arch_source"] == "search"),
                      key=lambda r: (-len(adder_blocks(r)), r))
    chosen = searched[0] if searched else ("all-adder" if "all-adder" in have else (sorted(have)[0] if have else None))
    if chosen is None:
        return None
    twins = [r for r in ("all-conv", "OnlyConv") if r in out.checkpoints and is_mult_only(out.retrain[r].doc["arch"])]
    return chosen, adder_blocks(chosen), (twins[0] if twins else None)


def _block_weights(state: dict, arch: list, blocks: list, part: str, kinds: tuple) -> np.ndarray:
    vals = []
    for i in blocks:
        kind = get_op(arch[i]).kind
        if kind not in kinds:
            continue
        # a convolution of several layers (shift then adder) keeps its adder layer in ``.adder``
        multi_layer = len(op_kind(kind).layer_ops) > 1
        key = f"blocks.{i}.{part}.adder.weight" if multi_layer else f"blocks.{i}.{part}.weight"
        if key in state:
            vals.append(state[key].detach().double().flatten().numpy())
    return np.concatenate(vals) if vals else np.zeros(0)


def fig_weight_distributions(out: PipelineOutputs):
    """Weight histograms of the adder layers (PW1 / DW / PW2) of a trained network beside the
    convolution weights of its conv twin at the same layers."""
    pick = pick_weight_pair(out)
    if pick is None:
        return None
    net, blocks, twin = pick
    state = load_torch(out.checkpoints[net])["state_dict"]
    arch = out.retrain[net].doc["arch"]
    twin_state = (load_torch(out.checkpoints[twin])["state_dict"]
                  if twin else None)
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.4), layout="constrained")
    for ax, part in zip(axes, PARTS):
        adder = _block_weights(state, arch, blocks, part, ADDER_WEIGHT_KINDS)
        series = [(f"{net}: adder weights", adder, kind_colour("adder"))]
        if twin_state is not None:
            conv = _block_weights(twin_state, out.retrain[twin].doc["arch"], blocks, part, CONV_WEIGHT_KINDS)
            series.append((f"{twin}: conv weights, same layers", conv, kind_colour(CONV_TWIN_KIND)))
        both = np.concatenate([s[1] for s in series if s[1].size])
        lo, hi = np.percentile(both, [0.5, 99.5]) if both.size else (-1, 1)
        bins = np.linspace(lo, hi, 50)
        for label, w, color in series:
            if w.size:
                ax.hist(np.clip(w, lo, hi), bins=bins, density=True, alpha=0.55, color=color,
                        label=f"{label}\n(n={w.size}, std {w.std():.3g})")
        ax.set_title(PART_LABELS[part], fontsize=10)
        ax.set_xlabel("weight value (clipped to the 0.5-99.5 percentile range)")
        ax.set_ylabel("density (1 / weight unit)")
        ax.legend(fontsize=7)
    _title(fig, f"Weight distributions of {net}'s {len(blocks)} adder blocks (seed {out.first_seed})"
                + (f" beside its conv twin {twin}" if twin else " (no conv twin trained in this profile)"), out)
    return fig


# ---- hardware ---------------------------------------------------------------------------------
def _network_points(out: PipelineOutputs, mode: str, cost: str) -> list[dict]:
    """Per network mapped under ``mode``: the mean and sample sd over its seeds' rows of the cost
    and of the test accuracy (%), in the hardware file's order of first appearance."""
    groups = {}
    for r in out.hw_rows(mode):
        groups.setdefault(r["network"], []).append(r)
    points = []
    for net, rows in groups.items():
        c = [float(r[cost]) for r in rows]
        a = [100.0 * float(r["test_acc"]) for r in rows]
        points.append({"network": net, "arch_source": rows[0]["arch_source"], "n": len(rows),
                       "cost": float(np.mean(c)), "cost_sd": float(np.std(c, ddof=1)) if len(c) > 1 else 0.0,
                       "acc": float(np.mean(a)), "acc_sd": float(np.std(a, ddof=1)) if len(a) > 1 else 0.0})
    return points


def _error_bars(ax, points: list[dict], color, zorder=2.5, **kw):
    """Mean ± sd bars of ``points`` (both axes), only where a spread exists."""
    pts = [p for p in points if p["n"] > 1]
    if pts:
        ax.errorbar([p["cost"] for p in pts], [p["acc"] for p in pts], xerr=[p["cost_sd"] for p in pts],
                    yerr=[p["acc_sd"] for p in pts], fmt="none", ecolor=color, elinewidth=1, capsize=2.5,
                    zorder=zorder, **kw)


def fig_accuracy_vs_cost(out: PipelineOutputs, cost: str = "energy_uj"):
    """Test accuracy against energy (or EDP) per image: every network on the chunk-based
    accelerator (auto-mapper, filled: searched networks black circles, each one-kind baseline a
    square in its operator kind's colour) and on the multiplier-only baseline (hollow), each the
    mean over its seeds with mean ± sd bars in both axes (a searched network differs per seed; a
    baseline's cost is the same every seed); the dashed line is the Pareto front of the
    chunk-based means.  The accuracy axis shows chance (dashed), or zooms onto the networks when
    they are all far above it and then says "axis does not include chance (X %)"
    (:func:`.figures.accuracy_axis`)."""
    rows = _network_points(out, "auto", cost)
    if not rows:
        return None
    label = {"energy_uj": "energy (uJ per image)", "edp_uj_ms": "EDP (uJ x ms per image)"}[cost]
    fig, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    searched = [r for r in rows if r["arch_source"] == "search"]
    if searched:
        ax.scatter([r["cost"] for r in searched], [r["acc"] for r in searched], marker="o", s=70, zorder=3,
                   color=HYBRID_COLOUR, label="searched network, chunk-based (auto-mapper)")
        _error_bars(ax, searched, HYBRID_COLOUR)
    for r in (r for r in rows if r["arch_source"] != "search"):
        arch = out.retrain[r["network"]].doc.get("arch") if r["network"] in out.retrain else None
        kind = network_kind(r["network"], arch)
        colour = network_colour(r["network"], r["arch_source"], arch)
        ax.scatter([r["cost"]], [r["acc"]], marker="s", s=70, zorder=3, gid=f"network:{r['network']}",
                   color=colour,
                   label=f"{r['network']} ({KIND_NAMES[kind] if kind else r['arch_source']}), chunk-based")
        _error_bars(ax, [r], colour)
    base = _network_points(out, "multiplier_only", cost)
    ax.scatter([r["cost"] for r in base], [r["acc"] for r in base], marker="D", s=45, facecolors="none",
               edgecolors="#555555", label="same network, multiplier-only (Eyeriss-like)", zorder=2)
    _error_bars(ax, base, "#999999", zorder=1.8)
    ax.margins(0.12)
    front = pareto_front([(r["cost"], r["acc"]) for r in rows])
    ax.plot([rows[i]["cost"] for i in front], [rows[i]["acc"] for i in front], "k--", lw=1,
            label="Pareto front (chunk-based, means)", zorder=1)
    values = [r["cost"] for r in rows + base]
    if min(values) > 0 and max(values) / min(values) > 20:
        ax.set_xscale("log")
        _plain_log_ticks(ax, "x")
    spread = [r["acc"] + s * r["acc_sd"] for r in rows + base for s in (-1, 1)]
    accuracy_axis(ax, spread, out.chance_percent, "test accuracy (%)", zoom=True)
    seeds = max(r["n"] for r in rows)
    ax.set_xlabel(label + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.legend(fontsize=7, loc="best")
    _title(fig, f"Test accuracy vs {label.split(' (')[0]}, Pareto front marked"
                + (f" (mean ± sd over {seeds} seeds)" if seeds > 1 else ""), out)
    label_points(ax, [(r["cost"], r["acc"], r["network"]) for r in rows],
                 avoid=[(r["cost"], r["acc"]) for r in base])
    return fig


def _networks_in_order(out: PipelineOutputs) -> list[str]:
    """The main table's order (searched networks, then FBNet, DeepShift, AdderNet, ShiftAddNet
    layouts), for the networks the hardware stage mapped."""
    mapped = {r["network"] for r in out.hw_rows()}
    return [n for n in network_order(out) if n in mapped] + sorted(mapped - set(out.retrain))


def _mode_values(out: PipelineOutputs, network: str, mode: str, key: str) -> list[float]:
    return [float(r[key]) for r in out.hw_rows(mode, network)]


def fig_accelerator_ablation(out: PipelineOutputs):
    """EDP of every network under each mapping, relative to the auto-mapper (left: > 1 means the
    ablation costs more) and absolute (right): auto-mapper, a fixed dataflow, the FLOPs-proportional
    PE split, and the multiplier-only baseline.  Each bar is the mean over the network's seeds
    (left: of each seed's ratio), the whisker one sample standard deviation."""
    if out.hw is None:
        return None
    nets = _networks_in_order(out)
    modes = _modes(out)
    fig, axes = plt.subplots(1, 2, figsize=(max(11, 1.6 * len(nets) + 5), 4.8), layout="constrained")
    width = 0.8 / len(modes)

    def values(n, mode, relative) -> list[float]:
        rows = out.hw_rows(mode, n)
        if not relative:
            return [float(r["edp_uj_ms"]) for r in rows]
        auto = {r.get("seed"): r for r in out.hw_rows("auto", n)}
        return [float(r["edp_uj_ms"]) / float(auto[r.get("seed")]["edp_uj_ms"]) for r in rows if r.get("seed") in auto]

    def mean_sd(vals):
        if not vals:
            return np.nan, 0.0
        return float(np.mean(vals)), float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
    n_seeds = 1
    for ax, relative in ((axes[0], True), (axes[1], False)):
        for j, mode in enumerate(modes):
            x = np.arange(len(nets)) + (j - (len(modes) - 1) / 2) * width
            stats_ = [mean_sd(values(n, mode, relative)) for n in nets]
            n_seeds = max([n_seeds] + [len(values(n, mode, relative)) for n in nets])
            ax.bar(x, [m for m, _ in stats_], width, yerr=[sd if sd > 1e-9 * abs(m) else np.nan for m, sd in stats_],
                   capsize=2,
                   error_kw={"elinewidth": 0.8}, color=MODE_COLORS.get(mode, "#999999"),
                   label=_mode_label(out, mode))
        ax.set_xticks(range(len(nets)), nets, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("network")
    axes[0].axhline(1.0, color="black", lw=0.8)
    axes[0].set_ylabel("EDP relative to the auto-mapper (x)")
    axes[0].set_ylim(bottom=0)
    axes[0].set_title("relative: above 1 = the ablation costs more", fontsize=9)
    axes[1].set_ylabel("EDP (uJ x ms per image)")
    edps = [r["edp_uj_ms"] for r in out.hw_rows()]
    if min(edps) > 0 and max(edps) / min(edps) > 20:
        axes[1].set_yscale("log")
        _plain_log_ticks(axes[1], "y")
        axes[1].set_ylabel("EDP (uJ x ms per image), log scale")
    axes[1].set_title("absolute", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")
    _title(fig, "Accelerator ablation: auto-mapper vs each fixed dataflow vs FLOPs-proportional split vs "
                "multiplier-only, embedded networks, realistic setting"
                + (f" (mean ± sd over {n_seeds} seeds)" if n_seeds > 1 else ""), out)
    return fig


def _mode_label(out: PipelineOutputs, mode: str) -> str:
    return mode_label(mode)


def _modes(out: PipelineOutputs) -> list[str]:
    """The mapping modes of the embedded networks' realistic rows, in the metrics' order."""
    return [m for m in out.hw_modes() if out.hw_rows(m)]


def fig_energy_breakdown(out: PipelineOutputs):
    """Energy per image by memory level and compute, for every network and mapping (stacked),
    each level the mean over the network's seeds."""
    if out.hw is None:
        return None
    nets = _networks_in_order(out)
    modes = _modes(out)
    labels, rows = [], []
    n_seeds = 1
    for n in nets:
        for m in modes:
            seeds_rows = out.hw_rows(m, n)
            if seeds_rows:
                n_seeds = max(n_seeds, len(seeds_rows))
                labels.append(f"{n} / {_mode_label(out, m).split(' (')[0]}")
                rows.append({lv: float(np.mean([r["energy_breakdown_uj"].get(lv, 0.0) for r in seeds_rows]))
                             for lv in LEVELS})
    fig, ax = plt.subplots(figsize=(11, max(3.5, 0.3 * len(rows) + 1.5)), layout="constrained")
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for level in LEVELS:
        vals = np.array([r.get(level, 0.0) for r in rows])
        ax.barh(y, vals, left=left, color=LEVEL_COLORS[level], label=LEVEL_LABELS[level])
        left += vals
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("energy (uJ per image)" + (f", mean over {n_seeds} seeds" if n_seeds > 1 else ""))
    ax.set_ylabel("network / mapping")
    ax.legend(title="energy spent in", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _title(fig, "Energy breakdown by memory level (embedded networks, realistic setting)", out)
    return fig


# ---- sanity checks: the cost-weight sweep and searched vs random ------------------------------------
def fig_sweep_tradeoff(out: PipelineOutputs):
    """Per swept run: test accuracy (mean ± sd over the seeds, error bars) against the search's
    cost (mean ± sd), one point per cost weight joined in rising-weight order (the main search
    among them, a larger marker), each labelled with its weight; the fixed baselines as squares
    in their operator kind's colour, at their cost in the same unit (computed from their
    architecture).  The accuracy axis shows chance (dashed), or zooms and says "axis does not
    include chance (X %)" (:func:`.figures.accuracy_axis`)."""
    from .sanity import baseline_points, cost_unit, sweep_points
    runs = sorted(out.sweep)
    if not runs:
        return None
    fig, axes = _grid(len(runs), ncols=2, size=(7.5, 5.0))
    for ax, run in zip(axes, runs):
        points = sweep_points(out, run)
        pts = [{"cost": float(np.mean(p.cost)), "cost_sd": float(np.std(p.cost, ddof=1)) if len(p.cost) > 1 else 0.0,
                "acc": float(np.mean(p.acc)), "acc_sd": float(np.std(p.acc, ddof=1)) if len(p.acc) > 1 else 0.0,
                "n": len(p.acc)} for p in points]
        ax.plot([p["cost"] for p in pts], [p["acc"] for p in pts], "-", color=HYBRID_COLOUR, lw=1, zorder=2,
                label=f"{run}, searched: one point per cost weight (mean ± sd over {pts[0]['n']} seeds)")
        ax.scatter([p["cost"] for p, sp in zip(pts, points) if not sp.main],
                   [p["acc"] for p, sp in zip(pts, points) if not sp.main], marker="o", s=45, zorder=3,
                   color=HYBRID_COLOUR, gid=f"sweep:{run}")
        ax.scatter([p["cost"] for p, sp in zip(pts, points) if sp.main],
                   [p["acc"] for p, sp in zip(pts, points) if sp.main], marker="*", s=160, zorder=3,
                   color=HYBRID_COLOUR, gid=f"main:{run}",
                   label=f"main search (hw_weight {out.sweep_main_hw_weight:g})")
        _error_bars(ax, pts, HYBRID_COLOUR)
        accs = [p["acc"] + s * p["acc_sd"] for p in pts for s in (-1, 1)]
        base, why = baseline_points(out, run)
        for bp in base:
            colour = network_colour(bp.name, "baseline", bp.arch)
            kind = network_kind(bp.name, bp.arch)
            m, sd = float(np.mean(bp.acc)), float(np.std(bp.acc, ddof=1)) if len(bp.acc) > 1 else 0.0
            ax.scatter([bp.cost], [m], marker="s", s=60, zorder=3, color=colour, gid=f"network:{bp.name}",
                       label=f"{bp.name} ({KIND_NAMES[kind] if kind else 'baseline'}), fixed")
            if len(bp.acc) > 1:
                ax.errorbar([bp.cost], [m], yerr=[sd], fmt="none", ecolor=colour, elinewidth=1, capsize=2.5)
            accs += [m - sd, m + sd]
        ax.margins(0.12)
        costs = [p["cost"] for p in pts] + [bp.cost for bp in base]
        if min(costs) > 0 and max(costs) / min(costs) > 20:
            ax.set_xscale("log")
            _plain_log_ticks(ax, "x")
        unit = cost_unit(out, run)
        ax.set_xlabel(f"search cost ({unit} per image)" + (", log scale" if ax.get_xscale() == "log" else ""))
        accuracy_axis(ax, accs, out.chance_percent, "test accuracy (%)", zoom=True)
        ax.set_title(f"{run}" + (f" (no baseline: {why})" if why else ""), fontsize=9)
        ax.legend(fontsize=7, loc="best")
    _title(fig, "Cost-weight sweep: accuracy vs the search's cost, one point per weight of the cost term", out)
    for ax, run in zip(axes, runs):     # once the layout is final
        pts = sweep_points(out, run)
        label_points(ax, [(float(np.mean(p.cost)), float(np.mean(p.acc)), f"{p.hw_weight:g}") for p in pts],
                     fontsize=6)
    return fig


def fig_searched_vs_random(out: PipelineOutputs, spread_multiple: float = 2.0):
    """Per random run: the searched networks' test accuracy (one dot per seed) beside the random
    networks' of the same cost (one dot per draw), each group's mean with a ± sd bar, and the
    verdict of :func:`.sanity.random_comparison` in the panel's title.  The accuracy axis shows
    chance (dashed), or zooms and says so (:func:`.figures.accuracy_axis`)."""
    from .sanity import random_comparison
    runs = sorted(r for r in out.random if out.random[r])
    if not runs:
        return None
    fig, axes = _grid(len(runs), ncols=3, size=(4.8, 4.4))
    for ax, run in zip(axes, runs):
        searched, drawn, c, verdict = random_comparison(out, run, spread_multiple)
        groups = [(f"searched\n({len(searched)} seed{'s' * (len(searched) != 1)})", searched, HYBRID_COLOUR,
                   "searched"),
                  (f"random, same cost\n({len(drawn)} draw{'s' * (len(drawn) != 1)})", drawn, "#8c8c8c", "random")]
        shown = []
        for x, (label, vals, colour, gid) in enumerate(groups):
            offsets = np.linspace(-0.12, 0.12, len(vals)) if len(vals) > 1 else np.zeros(1)
            ax.scatter(x + offsets, vals, s=30, color=colour, alpha=0.8, zorder=3, gid=f"{gid}:{run}",
                       label=f"{gid}: one network each")
            m = float(np.mean(vals))
            sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
            ax.errorbar([x + 0.3], [m], yerr=[sd] if len(vals) > 1 else None, fmt="_", ms=14, color=colour,
                        capsize=4, zorder=3, label=f"{gid}: mean" + (" ± sd" if len(vals) > 1 else ""))
            shown += vals + [m - sd, m + sd]
        ax.set_xticks([0, 1], [g[0] for g in groups], fontsize=8)
        ax.set_xlim(-0.5, 1.6)
        accuracy_axis(ax, shown, out.chance_percent, "test accuracy (%)", zoom=True)
        se = "spread unknown" if c.se is None else f"SE {c.se:.2g}"
        ax.set_title(f"{run}: {verdict}\n(difference {c.diff:+.3g} points, {se})", fontsize=9)
        ax.legend(fontsize=6, loc="best")
    _title(fig, "Searched vs random networks of the same cost (within the random stage's cost tolerance)", out)
    return fig


# ---- DANCE ------------------------------------------------------------------------------------
def fig_dance_evaluator(out: PipelineOutputs, predictions: dict | None):
    """Evaluator prediction against the cost tool's true value, per DANCE run (rows) and metric
    (columns), on the held-out test rows.  ``predictions``: run -> metric -> (true, predicted),
    or None when DANCE did not run."""
    if not predictions:
        return None
    units = {"latency_ms": "ms", "energy_uj": "uJ", "area_mm2": "mm^2"}
    runs = sorted(predictions)
    ncols = max(len(predictions[r]) for r in runs)
    fig, axes = plt.subplots(len(runs), ncols, figsize=(4.4 * ncols, 3.9 * len(runs) + 0.8), squeeze=False,
                             layout="constrained")
    for row, run in zip(axes, runs):
        for ax, (metric, (true, pred)) in zip(row, predictions[run].items()):
            true, pred = np.asarray(true, float), np.asarray(pred, float)
            ax.scatter(true, pred, s=8, alpha=0.6, color="#4c72b0", label=f"held-out rows (n={true.size})")
            lo, hi = min(true.min(), pred.min()), max(true.max(), pred.max())
            ax.plot([lo, hi], [lo, hi], "k--", lw=1, label="prediction = truth")
            ax.set_xscale("log")
            ax.set_yscale("log")
            _plain_log_ticks(ax)
            unit = units.get(metric, "")
            name = metric.rsplit("_", 1)[0] if metric in units else metric
            ax.set_xlabel(f"cost tool's {name} ({unit}, log scale)")
            ax.set_ylabel(f"evaluator's {name} ({unit}, log scale)")
            err = 100 * np.mean(np.abs(pred / true - 1))
            ax.set_title(f"run {run}, {name}: mean abs. error {err:.3g} %", fontsize=9)
            ax.legend(fontsize=7)
    _title(fig, "DANCE evaluator: predicted vs true hardware metrics", out)
    return fig


def _coincident(pts: list[dict]) -> dict:
    """(cost, accuracy) -> the lambdas found there: coincident points share one label."""
    spots = {}
    for r in pts:
        spots.setdefault((r["cost_value"], r["accuracy"]), []).append(f"{r['lam']:g}")
    return spots


def fig_dance_tradeoff(out: PipelineOutputs):
    """Accuracy against hardware cost of the networks and accelerators found by co-exploration
    and by the sequential baseline, one point per lambda (annotated).  The accuracy axis shows
    chance (dashed), or zooms onto the points when they are all far above it and then says "axis
    does not include chance (X %)" (:func:`.figures.accuracy_axis`)."""
    docs = sorted(out.dance["coexplore"].items())
    if not docs:
        return None
    fig, axes = _grid(len(docs), ncols=2, size=(7.5, 4.8))
    styles = {"coexplore": ("o", "#4c72b0", "co-exploration"),
              "sequential": ("s", "#dd8452", "sequential (NAS, then accelerator)"),
              "plain+hw": ("^", "#55a868", "plain search, then accelerator")}
    labels = {}
    for ax, (name, src) in zip(axes, docs):
        doc = src.doc
        cost = doc.get("cost", "edap")
        to_label = labels[ax] = []
        accs = []
        for method, (marker, color, label) in styles.items():
            pts = sorted((r for r in doc["runs"] if r["method"] == method), key=lambda r: r["lam"])
            if not pts:
                continue
            ax.plot([r["cost_value"] for r in pts], [r["accuracy"] for r in pts], marker=marker, color=color,
                    ls="-" if len(pts) > 1 else "none", label=label)
            accs += [r["accuracy"] for r in pts]
            what = "hw_weight" if method == "plain+hw" else "lambda"
            for (x, y), lams in _coincident(pts).items():
                to_label.append((x, y, f"{what}={', '.join(lams)}"))
        joint = doc.get("joint", {})
        if isinstance(joint, dict) and "optimum" in joint:
            ax.plot(joint["optimum"]["cost_value"], 100 * joint["optimum"]["accuracy"], "k*", ms=11,
                    label="exhaustive joint optimum (supernet accuracy)")
            accs.append(100 * joint["optimum"]["accuracy"])
        ax.margins(0.15)
        unit = {"latency": "ms", "energy": "uJ", "edp": "uJ x ms", "edap": "uJ x ms x mm^2"}.get(cost, "")
        ax.set_xlabel(f"{cost.upper()} per image ({unit})")
        accuracy_axis(ax, accs, out.chance_percent, "accuracy (%)", zoom=True)
        ax.set_title(f"run {doc.get('run') or name} (space {doc.get('space', '?')}); accuracy: "
                     f"{doc['runs'][0].get('accuracy_source', '?') if doc['runs'] else '?'}", fontsize=8)
        ax.legend(fontsize=7)
    _title(fig, "DANCE: accuracy vs hardware cost across lambda (co-exploration vs sequential)", out)
    for ax, points in labels.items():    # once the layout is final
        label_points(ax, points, fontsize=6)
    return fig
