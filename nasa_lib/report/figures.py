"""Figures of the pipeline's stages, drawn from the stages' own outputs (never typed-in numbers).

Every function takes what a stage wrote (history lists, alpha histories, data modules), draws
one figure with labelled axes, units and a title that names the run, saves it (PNG, plus SVG when
``svg=True``) and returns the matplotlib figure so a notebook shows it inline.  A training run's
per-epoch curves are not drawn here: they are DVCLive's files, which ``dvc plots show`` draws.

The figures cannot mislead (these helpers are shared with :mod:`.report_figures` and
:mod:`.dance_figures`): an accuracy axis includes chance, dashed and labelled, or says in its label
that it does not (:func:`accuracy_axis`; a function that draws accuracy takes ``num_classes`` and,
without it, runs the axis from 0 to 100 % and says that chance is not marked); operator
probabilities are coloured on a fixed 0-1 scale with the uniform level marked
(:func:`mark_uniform_levels`); pretraining epochs are shaded only by the phases that ran
(:func:`shade_phases`); an operator kind has one colour everywhere, the op-kind table's
(:func:`kind_colour`).
"""
from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.ticker

# SVG element ids are hashes salted with a random value unless this is fixed: with it, the same
# figure gives the same SVG bytes (the report must regenerate identically).
matplotlib.rcParams["svg.hashsalt"] = "nasa_lib"

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib import patheffects  # noqa: E402

from ..opkinds import OP_KINDS, OpKind, kind_of_op_name, op_kind  # noqa: E402

# Background of a pretraining epoch, by the PGP phase that ran in it (an unknown phase: UNKNOWN_PHASE_COLOR).
PHASE_COLORS = {"mult": "#dbe9f6", "adder": "#fde0c5", "mixed": "#e2f0d9"}
UNKNOWN_PHASE_COLOR = "#eeeeee"
FULL_WIDTH_HATCH = "#a6a6a6"     # hatching of the part of an epoch run at full width
# Networks of no one operator kind (searched hybrids): black, which no kind of the table uses.
HYBRID_COLOUR = "#000000"
CHANCE_COLOUR = "#555555"


# ---- one colour per operator kind ---------------------------------------------------------------
def kind_colour(kind) -> str:
    """The colour of operator kind ``kind`` (a kind name such as ``"adder"``, or an
    :class:`~nasa_lib.opkinds.OpKind`) in every figure: the op-kind table's ``colour`` column."""
    return (kind if isinstance(kind, OpKind) else op_kind(kind)).colour


def op_colour(op_name: str) -> str:
    """The colour of the kind of op ``op_name`` (``add_k3_e6`` -> the adder kind's)."""
    return kind_colour(kind_of_op_name(op_name))


def network_kind(name: str, arch=None) -> str | None:
    """The one operator kind a fixed network is made of: read from its op list ``arch`` when
    given (skip layers aside), else from the fixed baselines' table by ``name`` (all-conv,
    all-shift, all-adder, shift-adder and their aliases); ``None`` for a network of several kinds
    or an unknown name."""
    if arch:
        kinds = {kind_of_op_name(op).name for op in arch} - {"skip"}
        return kinds.pop() if len(kinds) == 1 else None
    from ..space.networks import BASELINE_ALIASES, BASELINES   # torch: only where baselines are drawn
    key = BASELINE_ALIASES.get(str(name).lower(), str(name).lower())
    return kind_of_op_name(BASELINES[key][0] + "k3_e6").name if key in BASELINES else None


def network_colour(name: str, arch_source: str | None = None, arch=None) -> str:
    """A network's point colour in accuracy-vs-cost plots: a searched network (``arch_source``
    "search") or one of several kinds is :data:`HYBRID_COLOUR`; a one-kind network (the fixed
    baselines) is its kind's colour."""
    if arch_source == "search":
        return HYBRID_COLOUR
    kind = network_kind(name, arch)
    return kind_colour(kind) if kind else HYBRID_COLOUR


# ---- honest accuracy axes ------------------------------------------------------------------------
def chance_level(num_classes: int | None, full: float = 100.0) -> float | None:
    """Chance accuracy of a ``num_classes``-way classifier on an axis whose perfect accuracy is
    ``full`` (100 for percent, 1 for a fraction); ``None`` when ``num_classes`` is ``None``."""
    if num_classes is None:
        return None
    if int(num_classes) != num_classes or num_classes < 2:
        raise ValueError(f"num_classes={num_classes!r} is not valid; it must be an integer >= 2")
    return full / int(num_classes)


def accuracy_axis(ax, values, chance: float | None, label: str, *, full: float = 100.0,
                  zoom: bool = False) -> bool:
    """Give ``ax`` an honest accuracy y axis labelled ``label`` and return whether it zoomed.

    ``values`` are the accuracies drawn (in the axis' units: ``full`` is perfect accuracy, 100 for
    percent, 1 for a fraction), ``chance`` the chance level in the same units (``None``: unknown).

    * chance known: the axis runs from 0 to ``full`` with a dashed grey line at chance, labelled
      "chance (X %)" (legend) and "chance" (at its right end);
    * chance unknown: the axis runs from 0 to ``full`` (so chance, wherever it is, is inside) and
      the label says that chance is not marked;
    * ``zoom=True`` (for comparisons such as Pareto plots) and chance known: when every value is
      far above chance (above the middle between chance and perfect accuracy) and the values
      would fill less than 30 % of the full axis, the axis zooms onto the values and its label
      says "axis does not include chance (X %)".  Values near chance are never zoomed away from it.
    """
    unit = " %" if full == 100.0 else ""
    vals = [float(v) for v in values if v is not None and np.isfinite(v)]
    top = 1.03 * full
    if chance is None:
        ax.set_ylim(0.0, top)
        ax.set_ylabel(f"{label}\n(chance not marked: classes unknown)")
        return False
    if zoom and vals:
        lo, hi = min(vals), max(vals)
        pad = max(0.15 * (hi - lo), 0.01 * full)
        bottom, upper = lo - pad, min(hi + pad, top)
        if lo - chance >= 0.5 * (full - chance) and upper - bottom < 0.3 * top:
            ax.set_ylim(bottom, upper)
            ax.set_ylabel(f"{label}\naxis does not include chance ({chance:g}{unit})")
            return True
    ax.set_ylim(0.0, top)
    ax.axhline(chance, color=CHANCE_COLOUR, ls="--", lw=1, zorder=1.5, label=f"chance ({chance:g}{unit})",
               gid="chance")
    ax.text(0.995, chance, "chance", transform=ax.get_yaxis_transform(), ha="right", va="bottom", fontsize=7,
            color=CHANCE_COLOUR)
    ax.set_ylabel(label)
    return False


# ---- the operator-probability heatmap's uniform level --------------------------------------------
def mark_uniform_levels(cbar, counts, ticks=(0.0, 0.25, 0.5, 0.75, 1.0)) -> list[float]:
    """Mark on the (vertical, 0-1) colour bar ``cbar`` the probability a layer of ``n``
    candidates gives each of them when alpha is uniform, 1/n, for the layers' candidate counts
    ``counts``.  One count: a white line (black outline) at 1/n with the tick label "uniform
    1/n".  Several counts: a hatched band between white lines at the smallest and the largest
    1/n, with one tick label "uniform 1/max-1/min" (each layer's own level is then in its row label, see
    :func:`layer_labels`).  Returns the levels, smallest first."""
    levels = sorted({1.0 / n for n in counts if n})
    if not levels:
        return levels
    cax = cbar.ax
    outline = [patheffects.withStroke(linewidth=4.5, foreground="black")]
    if len(levels) == 1:
        cax.axhline(levels[0], color="white", lw=2.5, path_effects=outline, gid="uniform")
        mark, text = levels[0], f"uniform\n1/{round(1 / levels[0])}"
    else:
        cax.axhspan(levels[0], levels[-1], facecolor="none", edgecolor="white", hatch="xxx", lw=1.0, gid="uniform")
        for level in (levels[0], levels[-1]):
            cax.axhline(level, color="white", lw=1.0, path_effects=outline)
        mark = (levels[0] + levels[-1]) / 2
        text = f"uniform\n1/{round(1 / levels[0])}-1/{round(1 / levels[-1])}"
    kept = [t for t in ticks if abs(t - mark) > 0.08]
    cbar.set_ticks(sorted(kept + [mark]), labels=[text if t == mark else f"{t:g}" for t in sorted(kept + [mark])])
    return levels


def layer_labels(candidates) -> list[str]:
    """Row labels of a per-layer heatmap: ``L<i>``, plus the layer's uniform level ``(1/n)`` when
    the layers' candidate counts differ."""
    counts = [len(c) for c in candidates]
    if len(set(counts)) <= 1:
        return [f"L{i}" for i in range(len(counts))]
    return [f"L{i} (1/{n})" for i, n in enumerate(counts)]


def save(fig, path, svg: bool = False):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110, bbox_inches="tight", metadata={"Software": None})
    if svg:
        fig.savefig(path.with_suffix(".svg"), bbox_inches="tight", metadata={"Date": None, "Creator": None})
    return fig


def plot_data_overview(datamodule, path, title: str = "", n: int = 16):
    """Sample training images and the class balance of every split."""
    sns.set_theme(style="whitegrid")
    fig = plt.figure(figsize=(13, 3.8))
    grid = fig.add_gridspec(2, 12, wspace=0.25)
    train = datamodule.train_set
    for i in range(min(n, len(train), 16)):
        ax = fig.add_subplot(grid[i // 8, i % 8])
        j = int(train.indices[i])
        img = train.images[j].float() / 255.0
        ax.imshow(img[0] if img.shape[0] == 1 else img.permute(1, 2, 0), cmap="gray" if img.shape[0] == 1 else None)
        ax.set_title(f"label {int(train.labels[j])}", fontsize=7)
        ax.axis("off")
    ax = fig.add_subplot(grid[:, 9:])     # a column of space between the images and the bars
    rows = []
    for split, idx in datamodule.split_indices.items():
        labels = (datamodule.test_set.labels if split == "test" else train.labels)[np.asarray(idx)]
        values, counts = np.unique(labels.numpy(), return_counts=True)
        rows += [(split, int(v), int(c)) for v, c in zip(values, counts)]
    import pandas as pd
    df = pd.DataFrame(rows, columns=["split", "class", "images"])
    sns.barplot(df[df.split.isin(["train", "val", "test"])], x="class", y="images", hue="split", ax=ax)
    ax.set_xlabel("class")
    ax.set_ylabel("images (count)")
    ax.legend(title="split", fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.suptitle(title or "Training images and class balance per split")
    return save(fig, path)


def phase_colour(phase: str) -> str:
    return PHASE_COLORS.get(phase, UNKNOWN_PHASE_COLOR)


def full_width_share(row: dict) -> float | None:
    """Share of a pretraining epoch's steps run at full width: the row's ``full_width_fraction``,
    else its boolean ``full_width`` (older files) as 1 or 0; ``None`` when the row has neither."""
    if row.get("full_width_fraction") is not None:
        return float(row["full_width_fraction"])
    if row.get("full_width") is not None:
        return 1.0 if row["full_width"] else 0.0
    return None


def shade_phases(ax, history, full_width: bool = True) -> list[str]:
    """Shade each epoch of ``history`` by the phase that actually ran in it (its row's
    ``phase``; rows without one are not shaded) and, with ``full_width``, hatch the part of the
    epoch given by its share of steps at full width (:func:`full_width_share`).  Returns the
    phases shaded, in the order of :data:`PHASE_COLORS` (unknown phases after): only these
    belong in the legend."""
    shaded = []
    for h in history:
        phase = h.get("phase")
        if phase is None:
            continue
        x0 = h["epoch"] + 0.5
        ax.axvspan(x0, x0 + 1, color=phase_colour(phase), lw=0, gid=f"phase:{phase}")
        share = full_width_share(h) if full_width else None
        if share:
            ax.axvspan(x0, x0 + share, facecolor="none", edgecolor=FULL_WIDTH_HATCH, hatch="//", lw=0, gid="full_width")
        if phase not in shaded:
            shaded.append(phase)
    order = list(PHASE_COLORS)
    return sorted(shaded, key=lambda p: (order.index(p) if p in order else len(order), shaded.index(p)))




def phase_legend(phases, full_width: bool = False) -> tuple[list, list[str]]:
    """Legend handles and labels of the phases shaded (and of the full-width hatching)."""
    handles = [plt.Rectangle((0, 0), 1, 1, color=phase_colour(p)) for p in phases]
    labels = [f"PGP phase: {p}" for p in phases]
    if full_width:
        handles.append(plt.Rectangle((0, 0), 1, 1, facecolor="white", edgecolor=FULL_WIDTH_HATCH, hatch="//", lw=0))
        labels.append("hatched: share of the epoch's steps at full width")
    return handles, labels


def plot_search(alpha: dict, history: list[dict], path, title: str, cost_unit: str):
    """Final operator probabilities per layer (heatmap) and the derived architecture's cost.

    The heatmap's colour scale is fixed to 0-1 (a near-uniform alpha looks near-uniform, not
    decided).  The colour bar marks the uniform level 1/n of a layer of n candidates (a white
    line, "uniform 1/n"); when layers have different candidate counts it marks the band from the
    smallest to the largest 1/n and every row label names its layer's own level, "L3 (1/9)":
    a cell coloured above its layer's level is a candidate the search favours.  Candidate names
    are coloured by their operator kind (:func:`kind_colour`); grey cells are candidates not
    allowed at that layer."""
    sns.set_theme(style="white")
    final = alpha["probabilities_per_epoch"][-1]
    names = sorted({op for cands in alpha["candidates"] for op in cands}, key=lambda o: (o == "skip", o))
    matrix = np.full((len(final), len(names)), np.nan)
    for i, (cands, probs) in enumerate(zip(alpha["candidates"], final)):
        for op, p in zip(cands, probs):
            matrix[i, names.index(op)] = p
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 4.2), gridspec_kw={"width_ratios": [3, 1.3], "wspace": 0.45})
    sns.heatmap(matrix, ax=a1, cmap="viridis", vmin=0.0, vmax=1.0, xticklabels=names,
                yticklabels=layer_labels(alpha["candidates"][:len(final)]),
                cbar_kws={"label": "probability softmax(alpha)"})
    mark_uniform_levels(a1.collections[0].colorbar, [len(c) for c in alpha["candidates"][:len(final)]])
    a1.set_xlabel("candidate op, coloured by kind (grey cell: not allowed at that layer)")
    a1.set_ylabel("searchable layer")
    a1.set_facecolor("#bbbbbb")
    a1.tick_params(axis="x", labelsize=7)
    a1.tick_params(axis="y", rotation=0)
    for tick in a1.get_xticklabels():
        tick.set_color(op_colour(tick.get_text()))
    a2.plot([h["epoch"] + 1 for h in history], [h["derived_cost"] for h in history], marker="o")
    a2.set_xlabel("search epoch")
    a2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    a2.set_ylabel(f"derived architecture cost\n({cost_unit} per image)")
    fig.suptitle(title)
    return save(fig, path)


def kind_probabilities(alpha: dict) -> dict[str, list[float]]:
    """Operator kind -> its probability per search epoch, summed over the kind's candidates and
    averaged over layers; kinds in the op-kind table's order."""
    per_epoch = alpha["probabilities_per_epoch"]
    kinds = {kind_of_op_name(op).name for cands in alpha["candidates"] for op in cands}
    series = {k: [] for k in OP_KINDS if k in kinds}
    for layers in per_epoch:
        for kind in series:
            series[kind].append(sum(p for cands, probs in zip(alpha["candidates"], layers)
                                    for op, p in zip(cands, probs) if kind_of_op_name(op).name == kind)
                                / len(layers))
    return series


def plot_alpha_evolution(alpha: dict, path, title: str):
    """How the probability of each operator kind evolved during search, averaged over layers
    (one line per kind, in its colour of every figure)."""
    sns.set_theme(style="whitegrid")
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    for kind, series in kind_probabilities(alpha).items():
        ax.plot(range(1, len(series) + 1), series, marker="o", color=kind_colour(kind), label=op_kind(kind).label,
                gid=f"kind:{kind}")
    ax.set_xlabel("search epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("mean probability over layers")
    ax.set_ylim(0, 1)
    ax.legend(title="operator kind", fontsize=8)
    ax.set_title(title)
    return save(fig, path)


def _rows_frame(rows, mode=None):
    import pandas as pd
    df = pd.DataFrame(rows)
    return df if mode is None else df[df["mode"] == mode]


def plot_hw_costs(rows: list[dict], path, title: str):
    """Energy (uJ/image) and latency (ms/image) of every network on the chunk-based accelerator
    (auto-mapper) and on the multiplier-only baseline."""
    sns.set_theme(style="whitegrid")
    df = _rows_frame(rows)
    df = df[df["mode"].isin(["auto", "multiplier_only"])].copy()
    df["accelerator (mapping)"] = df["accelerator"] + " (" + df["mode"] + ")"
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 3.8))
    sns.barplot(df, x="network", y="energy_uj", hue="accelerator (mapping)", ax=a1)
    sns.barplot(df, x="network", y="latency_ms", hue="accelerator (mapping)", ax=a2, legend=False)
    a1.set_ylabel("energy (uJ per image)")
    a2.set_ylabel("latency (ms per image)")
    for ax in (a1, a2):
        ax.set_xlabel("network")
        ax.tick_params(axis="x", rotation=30)
    a1.legend(fontsize=8)
    fig.suptitle(title)
    return save(fig, path)


def plot_energy_breakdown(rows: list[dict], path, title: str):
    """Energy per memory level and compute, per network and mapping mode (stacked, uJ/image)."""
    import pandas as pd
    sns.set_theme(style="whitegrid")
    records = []
    for r in rows:
        for part, value in r["energy_breakdown_uj"].items():
            records.append({"network / mode": f"{r['network']} / {r['mode']}", "part": part, "uJ": value})
    df = pd.DataFrame(records).pivot_table(index="network / mode", columns="part", values="uJ", sort=False)
    fig, ax = plt.subplots(figsize=(12, max(3.5, 0.28 * len(df))))
    df.plot.barh(stacked=True, ax=ax, colormap="tab10")
    ax.set_xlabel("energy (uJ per image)")
    ax.set_ylabel("")
    ax.legend(title="energy of", fontsize=8)
    ax.set_title(title)
    return save(fig, path)


# Where a point's label may go, tried in this order (offset in points, alignment).
_LABEL_SPOTS = [(4, 3, "left", "bottom"), (4, -3, "left", "top"), (-4, 3, "right", "bottom"),
                (-4, -3, "right", "top"), (0, 8, "center", "bottom"), (0, -8, "center", "top"),
                (6, 12, "left", "bottom"), (6, -12, "left", "top"), (-6, 12, "right", "bottom"),
                (-6, -12, "right", "top")]


def label_points(ax, points: list[tuple[float, float, str]], fontsize: float = 7, avoid=()) -> list:
    """Annotate each (x, y, text) beside its point, at the first spot (of ``_LABEL_SPOTS``) where
    the label overlaps no earlier label, no marker (of these points and the unlabelled ``avoid``
    (x, y) points) and stays inside the axes; if none is free, at
    the spot with the least overlap.  Call it once the axes' limits, scales and the figure's other
    elements (titles, legends) are final: the layout is computed here first."""
    ax.figure.draw_without_rendering()   # applies constrained / tight layout, so extents are final
    renderer = ax.figure.canvas.get_renderer()
    # a few pixels clear of the frame: saving re-runs the layout, which can shift the axes a little
    inside = ax.get_window_extent(renderer).padded(-8)
    to_px = ax.transData.transform
    markers = [to_px((x, y)) for x, y, _ in points] + [to_px(xy) for xy in avoid]
    taken, labels = [], []

    def overlap(a, b) -> float:
        w = min(a.x1, b.x1) - max(a.x0, b.x0)
        h = min(a.y1, b.y1) - max(a.y0, b.y0)
        return w * h if w > 0 and h > 0 else 0.0

    for i, (x, y, text) in enumerate(points):
        best = None
        for dx, dy, ha, va in _LABEL_SPOTS:
            label = ax.annotate(text, (x, y), xytext=(dx, dy), textcoords="offset points", fontsize=fontsize,
                                ha=ha, va=va)
            box = label.get_window_extent(renderer)
            spill = box.width * box.height - overlap(box, inside)
            crowd = sum(overlap(box, t) for t in taken)
            crowd += sum(overlap(box, type(box).from_bounds(mx - 5, my - 5, 10, 10))
                         for j, (mx, my) in enumerate(markers) if j != i)
            score = spill + crowd
            if best is None or score < best[0]:
                if best is not None:
                    best[1].remove()
                best = (score, label, box)
            else:
                label.remove()
            if score == 0:
                break
        taken.append(best[2])
        labels.append(best[1])
    return labels


def pareto_front(points: list[tuple[float, float]]) -> list[int]:
    """Indices of the points no other point beats in both (lower cost, higher accuracy)."""
    front = []
    for i, (c, a) in enumerate(points):
        if not any((c2 <= c and a2 >= a) and (c2 < c or a2 > a) for j, (c2, a2) in enumerate(points) if j != i):
            front.append(i)
    return sorted(front, key=lambda i: points[i][0])


def plot_accuracy_vs_cost(rows: list[dict], path, title: str, cost: str = "energy_uj",
                          cost_label: str = "energy (uJ per image)", mode: str = "auto", *,
                          num_classes: int | None = None):
    """Test accuracy against hardware cost on the chunk-based accelerator, Pareto front marked.

    Searched networks are black circles; a fixed baseline of one operator kind (all-conv,
    all-shift, all-adder, shift-adder) is a square in its kind's colour (:func:`network_colour`).
    With ``num_classes`` the accuracy axis shows chance (dashed), or zooms onto the networks when
    they are all far above it and says so in its label ("axis does not include chance (X %)");
    without it the axis runs from 0 to 100 %."""
    sns.set_theme(style="whitegrid")
    df = _rows_frame(rows, mode).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    searched = df[df["arch_source"] == "search"]
    if len(searched):
        ax.scatter(searched[cost], searched["test_acc"] * 100, s=80, marker="o", color=HYBRID_COLOUR,
                   label="searched network", zorder=3)
    for _, r in df[df["arch_source"] != "search"].iterrows():
        kind = network_kind(r["network"])
        ax.scatter([r[cost]], [r["test_acc"] * 100], s=80, marker="s", zorder=3,
                   color=network_colour(r["network"], r["arch_source"]),
                   label=f"{r['network']} ({op_kind(kind).label if kind else r['arch_source']})",
                   gid=f"network:{r['network']}")
    for _, r in df.iterrows():
        ax.annotate(r["network"], (r[cost], r["test_acc"] * 100), fontsize=7, xytext=(4, 3), textcoords="offset points")
    front = pareto_front(list(zip(df[cost], df["test_acc"])))
    ax.plot(df.loc[front, cost], df.loc[front, "test_acc"] * 100, "k--", lw=1, label="Pareto front")
    ax.set_xlabel(cost_label)
    accuracy_axis(ax, list(df["test_acc"] * 100), chance_level(num_classes), "test accuracy (%)", zoom=True)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    ax.set_title(title)
    return save(fig, path)
