"""Figures of the DANCE stages, drawn from what the stages wrote (never typed-in numbers).

Each function draws one figure with labelled axes and units, saves it (PNG) and returns it.
"""
from __future__ import annotations


import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from ..dance.costtables import METRICS
from .figures import accuracy_axis, chance_level, label_points, save

LABELS = {"latency_ms": "latency (ms / image)", "energy_uj": "energy (uJ / image)", "area_mm2": "area (mm^2)"}
METHOD_STYLE = {"coexplore": ("tab:red", "o", "co-exploration (DANCE)"),
                "sequential": ("tab:blue", "s",
                               "sequential: search on the reference accelerator, then best accelerator"),
                "plain+hw": ("tab:gray", "^", "plain search (library cost), then best accelerator")}


def _loglog(ax, x: bool = True, y: bool = True) -> None:
    """Log axes labelled at 1, 2 and 5 times each decade, in plain numbers."""
    for on, axis, setter in ((x, ax.xaxis, ax.set_xscale), (y, ax.yaxis, ax.set_yscale)):
        if on:
            setter("log")
            axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())


def plot_dataset(data, path, title: str):
    """Histograms of the three metrics (log scale) per split, and energy vs latency."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.4))
    for ax, m in zip(axes[:3], METRICS):
        for split in ("train", "val", "test"):
            rows = data.rows(split)
            ax.hist(np.log10(data.metric(m)[rows]), bins=40, alpha=0.5, density=True, label=f"{split} ({len(rows)})")
        ax.set_xlabel(f"log10 {LABELS[m]}")
        ax.set_ylabel("density")
    axes[0].legend(fontsize=7)
    ax = axes[3]
    ax.scatter(data.metric("latency_ms"), data.metric("energy_uj"), s=2, alpha=0.3, c=np.log10(data.metric("area_mm2")))
    _loglog(ax)
    ax.set_xlabel(LABELS["latency_ms"])
    ax.set_ylabel(LABELS["energy_uj"])
    ax.set_title("colour: log10 area", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def plot_predicted_vs_true(true: np.ndarray, pred: np.ndarray, mape_percent: dict, history: list, path, title: str):
    """Predicted vs true metric on held-out pairs (log-log, y = x dashed) and the training curve."""
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.6))
    for j, (ax, m) in enumerate(zip(axes[:3], METRICS)):
        ax.scatter(true[:, j], pred[:, j], s=3, alpha=0.35)
        lo, hi = min(true[:, j].min(), pred[:, j].min()), max(true[:, j].max(), pred[:, j].max())
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        _loglog(ax)
        ax.set_xlabel(f"true {LABELS[m]}")
        ax.set_ylabel(f"predicted {LABELS[m]}")
        ax.set_title(f"held-out MAPE {mape_percent[m]:.2f}%", fontsize=9)
    ax = axes[3]
    ep = [h["epoch"] + 1 for h in history]
    ax.plot(ep, [h["train_mse"] for h in history], label="train")
    ax.plot(ep, [h["val_mse"] for h in history], label="validation")
    ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("MSE of standardised log metrics")
    ax.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return save(fig, path)


def plot_coexplore(results: dict, path, title: str, *, num_classes: int | None = None):
    """Accuracy vs EDAP of every network + accelerator found, per method and lambda.

    With ``num_classes`` the accuracy axis shows chance (100 / ``num_classes`` %, dashed), or
    zooms onto the points when they are all far above it and then says "axis does not include
    chance (X %)"; without it the axis runs from 0 to 100 % and its label says chance is not
    marked (:func:`.figures.accuracy_axis`)."""
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    to_label, accs = [], []
    for method, (color, marker, label) in METHOD_STYLE.items():
        pts = [r for r in results["runs"] if r["method"] == method]
        if not pts:
            continue
        ax.scatter([p["edap"] for p in pts], [p["accuracy"] for p in pts], c=color, marker=marker, s=50, label=label)
        accs += [p["accuracy"] for p in pts]
        what = "hw_weight" if method == "plain+hw" else "λ"
        to_label += [(p["edap"], p["accuracy"], f"{what}={p['lam']:g}") for p in pts]
    joint = results.get("joint", {})
    if "optimum" in joint:
        o = joint["optimum"]
        ax.scatter([o["cost_value"]], [100 * o["accuracy"]], marker="*", s=140, c="gold", edgecolors="k",
                   label=f"exhaustive joint optimum ({joint['cost']}; supernet accuracy)")
        accs.append(100 * o["accuracy"])
    _loglog(ax, y=False)
    ax.set_xlabel("EDAP of network + accelerator (uJ·ms·mm², per image)")
    src = results["runs"][0].get("accuracy_source", "accuracy") if results["runs"] else "accuracy"
    accuracy_axis(ax, accs, chance_level(num_classes), f"accuracy (%)\n{src}", zoom=True)
    ax.yaxis.label.set_fontsize(8)
    ax.legend(fontsize=7, loc="lower right")
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    label_points(ax, to_label)
    return save(fig, path)


def plot_wall_time(results: dict, path, title: str, one_time: dict | None = None):
    """Search wall time per method and lambda (plus the one-time data set and evaluator costs)."""
    timing = results.get("timing", {})
    rows = timing.get("runs", [])
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    labels, search, hw = [], [], []
    for r in rows:
        labels.append(f"{r['method']}\nλ={r['lam']:g}")
        search.append(r["search_seconds"])
        hw.append(r["hw_search_seconds"])
    x = np.arange(len(labels))
    ax.bar(x, search, color=[METHOD_STYLE.get(r["method"], ("k",))[0] for r in rows], label="network search")
    ax.bar(x, hw, bottom=search, color="k", label="exhaustive accelerator search")
    if one_time:
        for k, (name, value) in enumerate(one_time.items()):
            ax.axhline(value, ls=":", color=f"C{k + 4}", label=f"{name} (one-time): {value:.0f} s")
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylabel("wall time (s)")
    ax.legend(fontsize=7)
    ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return save(fig, path)
