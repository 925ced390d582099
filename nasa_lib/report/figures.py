"""Figures of the pipeline's stages, drawn from the stages' own outputs (never typed-in numbers).

Every function takes what a stage wrote (history lists, alpha histories, data modules), draws
one figure with labelled axes, units and a title that names the run, saves it (PNG, plus SVG when
``svg=True``) and returns the matplotlib figure so a notebook shows it inline.
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

PHASE_COLORS = {"mult": "#dbe9f6", "adder": "#fde0c5", "mixed": "#e2f0d9"}


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


def _shade_phases(ax, history):
    for h in history:
        if "phase" in h:
            ax.axvspan(h["epoch"] + 0.5, h["epoch"] + 1.5, color=PHASE_COLORS.get(h["phase"], "white"), lw=0)


def plot_pretrain(history: list[dict], path, title: str):
    """Supernet validation accuracy (fixed random paths) and training loss per epoch, PGP phases shaded."""
    sns.set_theme(style="whitegrid")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    epochs = [h["epoch"] + 1 for h in history]
    for ax, key, label in ((a1, "val_acc", "validation accuracy (%)"),
                           (a2, "train_loss", "training loss (cross-entropy)")):
        _shade_phases(ax, history)
        scale = 100.0 if key.endswith("acc") else 1.0
        ax.plot(epochs, [h.get(key, np.nan) * scale for h in history], marker="o")
        ax.set_xlabel("pretraining epoch")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        ax.set_ylabel(label)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in PHASE_COLORS.values()]
    a2.legend(handles, [f"PGP phase: {p}" for p in PHASE_COLORS], fontsize=8, loc="upper right")
    fig.suptitle(title)
    return save(fig, path)


def plot_search(alpha: dict, history: list[dict], path, title: str, cost_unit: str):
    """Final operator probabilities per layer (heatmap) and the derived architecture's cost."""
    sns.set_theme(style="white")
    final = alpha["probabilities_per_epoch"][-1]
    names = sorted({op for cands in alpha["candidates"] for op in cands}, key=lambda o: (o == "skip", o))
    matrix = np.full((len(final), len(names)), np.nan)
    for i, (cands, probs) in enumerate(zip(alpha["candidates"], final)):
        for op, p in zip(cands, probs):
            matrix[i, names.index(op)] = p
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(14, 4.2), gridspec_kw={"width_ratios": [3, 1.3], "wspace": 0.35})
    sns.heatmap(matrix, ax=a1, cmap="viridis", xticklabels=names, yticklabels=[f"L{i}" for i in range(len(final))],
                cbar_kws={"label": "probability softmax(alpha)"})
    a1.set_xlabel("candidate op (grey: not allowed at that layer)")
    a1.set_ylabel("searchable layer")
    a1.set_facecolor("#bbbbbb")
    a1.tick_params(axis="x", labelsize=7)
    a2.plot([h["epoch"] + 1 for h in history], [h["derived_cost"] for h in history], marker="o")
    a2.set_xlabel("search epoch")
    a2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    a2.set_ylabel(f"derived architecture cost\n({cost_unit} per image)")
    fig.suptitle(title)
    return save(fig, path)


def plot_alpha_evolution(alpha: dict, path, title: str):
    """How the probability of each operator kind evolved during search, averaged over layers."""
    from ..ops.registry import get_op
    sns.set_theme(style="whitegrid")
    rows = []
    for epoch, per_layer in enumerate(alpha["probabilities_per_epoch"]):
        totals = {}
        for cands, probs in zip(alpha["candidates"], per_layer):
            for op, p in zip(cands, probs):
                totals[get_op(op).kind] = totals.get(get_op(op).kind, 0.0) + p / len(per_layer)
        rows += [(epoch + 1, k, v) for k, v in totals.items()]
    import pandas as pd
    fig, ax = plt.subplots(figsize=(5.5, 3.4))
    sns.lineplot(pd.DataFrame(rows, columns=["epoch", "operator kind", "mean probability"]), x="epoch",
                 y="mean probability", hue="operator kind", marker="o", ax=ax)
    ax.set_xlabel("search epoch")
    ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_ylabel("mean probability over layers")
    ax.set_title(title)
    return save(fig, path)


def plot_retrain(history: list[dict], path, title: str):
    sns.set_theme(style="whitegrid")
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.4))
    epochs = [h["epoch"] + 1 for h in history]
    a1.plot(epochs, [h["train_loss"] for h in history], marker="o")
    a1.set_xlabel("epoch")
    a1.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    a1.set_ylabel("training loss (cross-entropy)")
    a2.plot(epochs, [100 * h["train_acc"] for h in history], marker="o", label="train")
    a2.plot(epochs, [100 * h.get("val_acc", np.nan) for h in history], marker="s", label="validation")
    a2.set_xlabel("epoch")
    a2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    a2.set_ylabel("accuracy (%)")
    a2.legend()
    fig.suptitle(title)
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
                          cost_label: str = "energy (uJ per image)", mode: str = "auto"):
    """Test accuracy against hardware cost on the chunk-based accelerator, Pareto front marked."""
    sns.set_theme(style="whitegrid")
    df = _rows_frame(rows, mode).reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(6.5, 4.2))
    sns.scatterplot(df, x=cost, y=df["test_acc"] * 100, hue="arch_source", style="arch_source", s=80, ax=ax)
    for _, r in df.iterrows():
        ax.annotate(r["network"], (r[cost], r["test_acc"] * 100), fontsize=7, xytext=(4, 3), textcoords="offset points")
    front = pareto_front(list(zip(df[cost], df["test_acc"])))
    ax.plot(df.loc[front, cost], df.loc[front, "test_acc"] * 100, "k--", lw=1, label="Pareto front")
    ax.set_xlabel(cost_label)
    ax.set_ylabel("test accuracy (%)")
    ax.legend(fontsize=8)
    ax.set_title(title)
    return save(fig, path)
