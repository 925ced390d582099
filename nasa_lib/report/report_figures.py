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
from ..opkinds import OP_KINDS, kinds_with_layer_op, op_kind  # noqa: E402
from ..ops.registry import get_op  # noqa: E402
from .claims import is_mult_only  # noqa: E402
from .figures import PHASE_COLORS, label_points, pareto_front  # noqa: E402
from .inputs import PipelineOutputs  # noqa: E402
from .tables import LEVEL_LABELS, LEVELS, MODE_LABELS, network_order  # noqa: E402

KIND_COLORS = {k.name: k.color for k in OP_KINDS.values()}
KIND_NAMES = {k.name: k.label for k in OP_KINDS.values()}
MODE_COLORS = {"auto": "#4c72b0", "fixed_dataflow": "#55a868", "flops_proportional": "#c44e52",
               "multiplier_only": "#8c8c8c"}
LEVEL_COLORS = {"dram": "#c44e52", "gb": "#dd8452", "noc": "#ccb974", "rf": "#55a868", "compute": "#4c72b0"}
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


def _chance_line(ax, out: PipelineOutputs, accuracies_percent) -> None:
    """Mark chance accuracy, but only where some network is near it (else it squashes the axis)."""
    values = [v for v in accuracies_percent if v is not None and np.isfinite(v)]
    if values and min(values) < out.chance_percent + 15:
        ax.axhline(out.chance_percent, color="grey", ls=":", lw=1, label=f"chance ({out.chance_percent:g} %)")


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
def fig_pretrain_accuracy(out: PipelineOutputs):
    """Supernet validation accuracy per pretraining epoch, one panel per search space, PGP
    (solid, its phases shaded) against no PGP (dashed)."""
    if not out.pretrain:
        return None
    spaces = sorted({s.doc["space"] for s in out.pretrain.values()})
    fig, axes = _grid(len(spaces))
    for ax, space in zip(axes, spaces):
        runs = sorted((r for r, s in out.pretrain.items() if s.doc["space"] == space),
                      key=lambda r: (not out.pretrain[r].doc["pgp"], r))
        seen = []
        for run in runs:
            doc = out.pretrain[run].doc
            hist = doc["history"]
            if doc["pgp"]:
                for h in hist:
                    ax.axvspan(h["epoch"] + 0.5, h["epoch"] + 1.5, color=PHASE_COLORS.get(h.get("phase"), "white"),
                               lw=0)
            acc = [100 * h["val_acc"] if h.get("val_acc") is not None else np.nan for h in hist]
            seen += acc
            ax.plot([h["epoch"] + 1 for h in hist], acc, ls="-" if doc["pgp"] else "--",
                    marker="o" if doc["pgp"] else "s",
                    label=f"{run} ({'PGP' if doc['pgp'] else 'no PGP'})")
        _chance_line(ax, out, seen)
        ax.set_title(f"search space {space}")
        ax.set_xlabel("pretraining epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("supernet validation accuracy (%)")
        ax.set_xlim(0.5, max(len(out.pretrain[r].doc["history"]) for r in runs) + 0.5)
        handles, labels = ax.get_legend_handles_labels()
        handles += [plt.Rectangle((0, 0), 1, 1, color=c) for c in PHASE_COLORS.values()]
        labels += [f"PGP phase: {p}" for p in PHASE_COLORS]
        ax.legend(handles, labels, fontsize=7, loc="best")
    _title(fig, "Supernet accuracy during pretraining (fixed random paths), PGP vs no PGP", out)
    return fig


# ---- search -----------------------------------------------------------------------------------
def fig_op_choice(out: PipelineOutputs):
    """Final operator probabilities (softmax of alpha) per layer of every search; the chosen op
    (per-layer argmax) is marked with a white dot."""
    runs = sorted(out.alpha)
    if not runs:
        return None
    widest = max(len({op for c in out.alpha[r].doc["candidates"] for op in c}) for r in runs)
    fig, axes = _grid(len(runs), ncols=2 if len(runs) > 1 else 1, size=(0.42 * widest + 2.5, 4.4))
    image = None
    # colour scale up to the largest probability of any run, so near-uniform choices stay readable
    top = max(max(max(p) for p in out.alpha[r].doc["probabilities_per_epoch"][-1]) for r in runs)
    for ax, run in zip(axes, runs):
        alpha = out.alpha[run].doc
        final = alpha["probabilities_per_epoch"][-1]
        names = sorted({op for c in alpha["candidates"] for op in c},
                       key=lambda o: (list(KIND_COLORS).index(get_op(o).kind), o))
        matrix = np.full((len(final), len(names)), np.nan)
        for i, (cands, probs) in enumerate(zip(alpha["candidates"], final)):
            for op, p in zip(cands, probs):
                matrix[i, names.index(op)] = p
        ax.set_facecolor("#d9d9d9")
        image = ax.imshow(matrix, cmap="viridis", vmin=0.0, vmax=top, aspect="auto")
        # the architecture the search exported (its argmax of alpha; the stored probabilities are
        # rounded, so their argmax can tie)
        chosen = out.search[run].doc["arch"] if run in out.search else [c[int(np.argmax(p))] for c, p in
                                                                        zip(alpha["candidates"], final)]
        for i, op in enumerate(chosen):
            ax.plot(names.index(op), i, "o", color="white", ms=6, mec="black", mew=0.8)
        ax.set_xticks(range(len(names)), names, rotation=70, fontsize=7)
        for tick, name in zip(ax.get_xticklabels(), names):
            tick.set_color(KIND_COLORS[get_op(name).kind])
        ax.set_yticks(range(len(final)), [f"L{i}" for i in range(len(final))], fontsize=7)
        ax.set_xlabel("candidate operator (grey: not allowed at that layer)")
        ax.set_ylabel("searchable layer")
        space = out.search[run].doc["space"] if run in out.search else "?"
        epochs = len(alpha["probabilities_per_epoch"])
        ax.set_title(f"{run} (space {space}), after {epochs} search epoch{'s' * (epochs != 1)}", fontsize=9)
    fig.colorbar(image, ax=axes, label="probability softmax(alpha)", shrink=0.8)
    _title(fig, "Per-layer operator choice of each search (white dot: the operator the search chose)", out)
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
        kinds = sorted({get_op(op).kind for c in alpha["candidates"] for op in c}, key=list(KIND_COLORS).index)
        for kind in kinds:
            series = []
            for layers in per_epoch:
                series.append(sum(p for cands, probs in zip(alpha["candidates"], layers)
                                  for op, p in zip(cands, probs) if get_op(op).kind == kind) / len(layers))
            ax.plot(range(1, len(per_epoch) + 1), series, marker="o", color=KIND_COLORS[kind], label=KIND_NAMES[kind])
        ax.set_xlabel("search epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel("mean probability over layers")
        ax.set_ylim(0, 1)
        ax.set_xticks(range(1, len(per_epoch) + 1))
        ax.set_title(run, fontsize=9)
        ax.legend(fontsize=7, title="operator kind", title_fontsize=7)
    _title(fig, "How alpha evolved during search: probability of each operator kind", out)
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
        series = [(f"{net}: adder weights", adder, KIND_COLORS["adder"])]
        if twin_state is not None:
            conv = _block_weights(twin_state, out.retrain[twin].doc["arch"], blocks, part, CONV_WEIGHT_KINDS)
            series.append((f"{twin}: conv weights, same layers", conv, KIND_COLORS["mult"]))
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
    _title(fig, f"Weight distributions of {net}'s {len(blocks)} adder blocks"
                + (f" beside its conv twin {twin}" if twin else " (no conv twin trained in this profile)"), out)
    return fig


# ---- hardware ---------------------------------------------------------------------------------
def fig_accuracy_vs_cost(out: PipelineOutputs, cost: str = "energy_uj"):
    """Test accuracy against energy (or EDP) per image: every network on the chunk-based
    accelerator (auto-mapper, filled) and on the multiplier-only baseline (hollow); the dashed
    line is the Pareto front of the chunk-based points."""
    rows = out.hw_rows("auto")
    if not rows:
        return None
    label = {"energy_uj": "energy (uJ per image)", "edp_uj_ms": "EDP (uJ x ms per image)"}[cost]
    fig, ax = plt.subplots(figsize=(7.5, 5.0), layout="constrained")
    for source, marker in (("search", "o"), ("baseline", "s")):
        pts = [r for r in rows if r["arch_source"] == source]
        ax.scatter([r[cost] for r in pts], [100 * r["test_acc"] for r in pts], marker=marker, s=70, zorder=3,
                   color="#4c72b0" if source == "search" else "#dd8452",
                   label=f"{'searched' if source == 'search' else 'baseline'} network, chunk-based (auto-mapper)")
    base = out.hw_rows("multiplier_only")
    ax.scatter([r[cost] for r in base], [100 * r["test_acc"] for r in base], marker="D", s=45, facecolors="none",
               edgecolors="#555555", label="same network, multiplier-only (Eyeriss-like)", zorder=2)
    ax.margins(0.12)
    front = pareto_front([(r[cost], r["test_acc"]) for r in rows])
    ax.plot([rows[i][cost] for i in front], [100 * rows[i]["test_acc"] for i in front], "k--", lw=1,
            label="Pareto front (chunk-based)", zorder=1)
    values = [r[cost] for r in rows + base]
    if min(values) > 0 and max(values) / min(values) > 20:
        ax.set_xscale("log")
        _plain_log_ticks(ax, "x")
    _chance_line(ax, out, [100 * r["test_acc"] for r in rows])
    ax.set_xlabel(label + (", log scale" if ax.get_xscale() == "log" else ""))
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=7, loc="best")
    _title(fig, f"Test accuracy vs {label.split(' (')[0]}, Pareto front marked", out)
    label_points(ax, [(r[cost], 100 * r["test_acc"], r["network"]) for r in rows],
                 avoid=[(r[cost], 100 * r["test_acc"]) for r in base])
    return fig


def _networks_in_order(out: PipelineOutputs) -> list[str]:
    """The main table's order (searched networks, then FBNet, DeepShift, AdderNet, ShiftAddNet
    layouts), for the networks the hardware stage mapped."""
    mapped = {r["network"] for r in out.hw_rows()}
    return [n for n in network_order(out) if n in mapped] + sorted(mapped - set(out.retrain))


def fig_accelerator_ablation(out: PipelineOutputs):
    """EDP of every network under each mapping, relative to the auto-mapper (left: > 1 means the
    ablation costs more) and absolute (right): auto-mapper, a fixed dataflow, the FLOPs-proportional
    PE split, and the multiplier-only baseline."""
    if out.hw is None:
        return None
    nets = _networks_in_order(out)
    modes = [m for m in MODE_LABELS if out.hw_rows(m)]
    table = {(r["network"], r["mode"]): r for r in out.hw_rows()}
    fig, axes = plt.subplots(1, 2, figsize=(max(11, 1.6 * len(nets) + 5), 4.8), layout="constrained")
    width = 0.8 / len(modes)

    def value(n, mode, relative):
        if (n, mode) not in table:
            return np.nan
        edp = table[(n, mode)]["edp_uj_ms"]
        return edp / table[(n, "auto")]["edp_uj_ms"] if relative and (n, "auto") in table else edp
    for ax, relative in ((axes[0], True), (axes[1], False)):
        for j, mode in enumerate(modes):
            x = np.arange(len(nets)) + (j - (len(modes) - 1) / 2) * width
            ax.bar(x, [value(n, mode, relative) for n in nets], width, color=MODE_COLORS[mode],
                   label=_mode_label(out, mode))
        ax.set_xticks(range(len(nets)), nets, rotation=30, ha="right", fontsize=8)
        ax.set_xlabel("network")
    axes[0].axhline(1.0, color="black", lw=0.8)
    axes[0].set_ylabel("EDP relative to the auto-mapper (x)")
    axes[0].set_ylim(bottom=0)
    axes[0].set_title("relative: above 1 = the ablation costs more", fontsize=9)
    axes[1].set_ylabel("EDP (uJ x ms per image)")
    values = [r["edp_uj_ms"] for r in out.hw_rows()]
    if min(values) > 0 and max(values) / min(values) > 20:
        axes[1].set_yscale("log")
        _plain_log_ticks(axes[1], "y")
        axes[1].set_ylabel("EDP (uJ x ms per image), log scale")
    axes[1].set_title("absolute", fontsize=9)
    axes[0].legend(fontsize=7, loc="lower right")
    _title(fig, "Accelerator ablation: auto-mapper vs fixed dataflow vs FLOPs-proportional split vs "
                "multiplier-only", out)
    return fig


def _mode_label(out: PipelineOutputs, mode: str) -> str:
    if mode == "fixed_dataflow":
        flows = {v for r in out.hw_rows(mode) for v in r["dataflow"].values() if v}
        if len(flows) == 1:
            return f"fixed dataflow {flows.pop()} (chunk-based)"
    return MODE_LABELS[mode]


def fig_energy_breakdown(out: PipelineOutputs):
    """Energy per image by memory level and compute, for every network and mapping (stacked)."""
    if out.hw is None:
        return None
    nets = _networks_in_order(out)
    modes = [m for m in MODE_LABELS if out.hw_rows(m)]
    table = {(r["network"], r["mode"]): r for r in out.hw_rows()}
    labels, rows = [], []
    for n in nets:
        for m in modes:
            if (n, m) in table:
                labels.append(f"{n} / {_mode_label(out, m).split(' (')[0]}")
                rows.append(table[(n, m)]["energy_breakdown_uj"])
    fig, ax = plt.subplots(figsize=(11, max(3.5, 0.3 * len(rows) + 1.5)), layout="constrained")
    y = np.arange(len(rows))[::-1]
    left = np.zeros(len(rows))
    for level in LEVELS:
        vals = np.array([r.get(level, 0.0) for r in rows])
        ax.barh(y, vals, left=left, color=LEVEL_COLORS[level], label=LEVEL_LABELS[level])
        left += vals
    ax.set_yticks(y, labels, fontsize=7)
    ax.set_xlabel("energy (uJ per image)")
    ax.set_ylabel("network / mapping")
    ax.legend(title="energy spent in", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    _title(fig, "Energy breakdown by memory level", out)
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
    and by the sequential baseline, one point per lambda (annotated)."""
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
        for method, (marker, color, label) in styles.items():
            pts = sorted((r for r in doc["runs"] if r["method"] == method), key=lambda r: r["lam"])
            if not pts:
                continue
            ax.plot([r["cost_value"] for r in pts], [r["accuracy"] for r in pts], marker=marker, color=color,
                    ls="-" if len(pts) > 1 else "none", label=label)
            what = "hw_weight" if method == "plain+hw" else "lambda"
            for (x, y), lams in _coincident(pts).items():
                to_label.append((x, y, f"{what}={', '.join(lams)}"))
        joint = doc.get("joint", {})
        if isinstance(joint, dict) and "optimum" in joint:
            ax.plot(joint["optimum"]["cost_value"], 100 * joint["optimum"]["accuracy"], "k*", ms=11,
                    label="exhaustive joint optimum (supernet accuracy)")
        ax.margins(0.15)
        unit = {"latency": "ms", "energy": "uJ", "edp": "uJ x ms", "edap": "uJ x ms x mm^2"}.get(cost, "")
        ax.set_xlabel(f"{cost.upper()} per image ({unit})")
        ax.set_ylabel("accuracy (%)")
        ax.set_title(f"run {doc.get('run') or name} (space {doc.get('space', '?')}); accuracy: "
                     f"{doc['runs'][0].get('accuracy_source', '?') if doc['runs'] else '?'}", fontsize=8)
        ax.legend(fontsize=7)
    _title(fig, "DANCE: accuracy vs hardware cost across lambda (co-exploration vs sequential)", out)
    for ax, points in labels.items():    # once the layout is final
        label_points(ax, points, fontsize=6)
    return fig
