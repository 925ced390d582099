"""Figures that cannot mislead: accuracy axes include chance (dashed line labelled "chance") or
say in their label that they do not; the operator-probability heatmaps are on a fixed 0-1 colour
scale with the uniform level marked; pretraining figures shade only the phases that ran and draw
the spread over evaluation paths when the rows carry it; an operator kind has one colour, the
op-kind table's, in every figure.  Small hand-made inputs, Agg backend, no training."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from nasa_lib.opkinds import OP_KINDS  # noqa: E402
from nasa_lib.report import dance_figures as DF  # noqa: E402
from nasa_lib.report import figures as F  # noqa: E402
from nasa_lib.report import report_figures as RF  # noqa: E402
from nasa_lib.report.inputs import PipelineOutputs, Source  # noqa: E402

CANDS4 = ["k3_e1", "shift_k3_e1", "add_k3_e1", "skip"]
CANDS3 = ["k3_e1", "shift_k3_e1", "skip"]
BASELINE_KIND = {"all-conv": "mult", "all-shift": "shift", "all-adder": "adder", "shift-adder": "shiftadd"}


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def untrained_rows(phases=("mult",) * 3 + ("adder",) * 3 + ("mixed",) * 3):
    """Old-format pretraining rows (boolean full_width) of a supernet stuck near 10 % (chance on
    10 classes): the kind of run a zoomed axis made look like it learned."""
    return [{"epoch": e, "phase": p, "full_width": e % 3 == 0, "train_loss": 2.30 - 0.001 * e,
             "val_acc": 0.095 + 0.002 * (e % 2)} for e, p in enumerate(phases)]


def new_rows(phases=("mult",) * 4 + ("mixed",) * 4):
    """New-format rows: the phase that ran (no adder phase: the space has no adders), the share of
    steps at full width, the spread over evaluation paths and the widest path."""
    return [{"epoch": e, "phase": p, "full_width_fraction": [1.0, 0.25, 0.0, 0.0][e % 4], "train_loss": 2.0 - 0.1 * e,
             "val_acc": 0.3 + 0.05 * e, "val_acc_paths_min": 0.25 + 0.04 * e, "val_acc_paths_max": 0.35 + 0.06 * e,
             "val_acc_widest": 0.32 + 0.055 * e} for e, p in enumerate(phases)]


def alpha_doc(candidates, last):
    """An alpha history: uniform at epoch 1, ``last`` at epoch 2."""
    return {"candidates": candidates,
            "probabilities_per_epoch": [[[1 / len(c)] * len(c) for c in candidates], last]}


ALPHA_SAME = alpha_doc([CANDS4] * 3, [[0.30, 0.28, 0.22, 0.20]] * 3)              # near uniform, max 0.3
ALPHA_MIXED = alpha_doc([CANDS4] * 3 + [CANDS3] * 2, [[0.4, 0.3, 0.2, 0.1]] * 3 + [[0.5, 0.3, 0.2]] * 2)


def hw_rows(accuracies: dict) -> list[dict]:
    rows = []
    for i, (net, acc) in enumerate(sorted(accuracies.items())):
        for mode, factor in (("auto", 1.0), ("multiplier_only", 1.6)):
            rows.append({"network": net, "seed": 0, "scale": "embedded", "setting": "realistic",
                         "arch_source": "baseline" if net in BASELINE_KIND else "search",
                         "mode": mode, "test_acc": acc, "energy_uj": (40.0 + 15 * i) * factor,
                         "edp_uj_ms": (2.0 + i) * factor})
    return rows


def other_hw_rows(accuracies: dict) -> list[dict]:
    """The same networks under the NASA-F-compatible setting (1000x the cost) and paper-size
    networks (not trained: no accuracy), which the report's embedded figures must not read."""
    rows = [dict(r, setting="nasaf_compatible", energy_uj=1000 * r["energy_uj"], edp_uj_ms=1000 * r["edp_uj_ms"])
            for r in hw_rows(accuracies)]
    return rows + [{"network": "paper:all-conv", "seed": 0, "scale": "paper", "setting": "realistic",
                    "arch_source": "paper_layout", "mode": mode, "test_acc": None, "energy_uj": 5e5,
                    "edp_uj_ms": 5e4} for mode in ("auto", "multiplier_only")]


HIGH = {"Hybrid-All": 0.955, "all-conv": 0.96, "all-shift": 0.94, "all-adder": 0.93, "shift-adder": 0.935}
NEAR_CHANCE = {"Hybrid-All": 0.14, "all-conv": 0.35, "all-shift": 0.12, "all-adder": 0.10, "shift-adder": 0.11}


def outputs(hw_acc=HIGH, pretrain=None, alpha=ALPHA_MIXED, dance_acc=(35.0, 30.0, 33.0)) -> PipelineOutputs:
    out = PipelineOutputs(profile="test", data=Source("data.json", {"name": "fake", "num_classes": 10}))
    out.pretrain = pretrain or {"A": Source("a.json", {"space": "OnlyConv", "pgp": True, "history": new_rows()}),
                                "B": Source("b.json", {"space": "OnlyConv", "pgp": False,
                                                       "history": untrained_rows(("mixed",) * 8)})}
    out.alpha = {"A": Source("alpha.json", alpha)}
    out.hw = Source("hw.json", {"rows": hw_rows(hw_acc)})
    runs = [{"method": m, "lam": lam, "cost_value": c, "edap": c, "accuracy": a, "accuracy_source": "supernet"}
            for (m, lam, c), a in zip([("coexplore", 0.1, 5.0), ("coexplore", 1.0, 3.0), ("sequential", 0.1, 6.0)],
                                      dance_acc)]
    out.dance["coexplore"] = {"coexplore_r": Source("dance.json", {"runs": runs, "cost": "edap", "run": "r",
                                                                   "space": "OnlyConv"})}
    return out


def chance_lines(ax):
    return [ln for ln in ax.get_lines() if ln.get_gid() == "chance"]


def assert_shows_chance(ax, chance):
    lines = chance_lines(ax)
    assert len(lines) == 1, "no (or several) chance line"
    assert set(lines[0].get_ydata()) == {chance}
    assert lines[0].get_linestyle() == "--" and lines[0].get_label().startswith("chance")
    assert any(t.get_text() == "chance" for t in ax.texts)
    lo, hi = ax.get_ylim()
    assert lo <= chance <= hi


def same_colour(a, b) -> bool:
    return mcolors.to_hex(a) == mcolors.to_hex(b)


# ---- accuracy axes ------------------------------------------------------------------------------
@pytest.mark.parametrize("draw", ["stage", "report"])
def test_pareto_zooms_only_far_above_chance_and_says_so(tmp_path, draw):
    def axes_for(acc):
        if draw == "stage":
            return F.plot_accuracy_vs_cost(hw_rows(acc), tmp_path / "a.png", "t", num_classes=10).axes[0]
        return RF.fig_accuracy_vs_cost(outputs(hw_acc=acc)).axes[0]
    zoomed = axes_for(HIGH)
    assert "axis does not include chance (10 %)" in zoomed.get_ylabel()
    assert zoomed.get_ylim()[0] > 10 and not chance_lines(zoomed)
    near = axes_for(NEAR_CHANCE)
    assert_shows_chance(near, 10.0)
    assert "does not include chance" not in near.get_ylabel()


def test_report_hardware_figures_read_the_embedded_networks_realistic_rows_only():
    """Beside the rows they draw, the metrics hold the NASA-F-compatible setting's rows (1000x the
    cost) and paper-size networks without accuracy: the figures' points and bars are the realistic
    embedded ones, every one of them."""
    out = outputs()
    out.hw.doc["rows"] += other_hw_rows(HIGH)
    ax = RF.fig_accuracy_vs_cost(out).axes[0]
    xs = sorted(float(x) for c in ax.collections for x, _ in c.get_offsets())
    expected = sorted(r["energy_uj"] for r in hw_rows(HIGH))
    assert xs == pytest.approx(expected)
    fig = RF.fig_accelerator_ablation(out)
    assert [t.get_text() for t in fig.axes[1].get_xticklabels()] == sorted(HIGH)     # no paper:all-conv
    heights = sorted(p.get_height() for p in fig.axes[1].patches if p.get_height() > 0)
    assert heights == pytest.approx(sorted(r["edp_uj_ms"] for r in hw_rows(HIGH)))


def test_stage_pareto_without_num_classes_spans_0_to_100(tmp_path):
    ax = F.plot_accuracy_vs_cost(hw_rows(HIGH), tmp_path / "a.png", "t").axes[0]
    assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= 100 and "chance not marked" in ax.get_ylabel()


def test_report_pretrain_accuracy_includes_chance():
    ax = RF.fig_pretrain_accuracy(outputs()).axes[0]
    assert_shows_chance(ax, 10.0)
    assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= 100


def test_dance_figures_show_chance_near_it_and_say_when_zoomed(tmp_path):
    ax = RF.fig_dance_tradeoff(outputs(dance_acc=(35.0, 30.0, 33.0))).axes[0]
    assert_shows_chance(ax, 10.0)
    ax = RF.fig_dance_tradeoff(outputs(dance_acc=(96.0, 95.0, 95.5))).axes[0]
    assert "axis does not include chance (10 %)" in ax.get_ylabel()
    results = {"runs": [{"method": "coexplore", "lam": 0.1, "edap": 5.0, "accuracy": 30.0},
                        {"method": "sequential", "lam": 0.1, "edap": 6.0, "accuracy": 33.0}],
               "joint": {"cost": "edap", "optimum": {"cost_value": 4.0, "accuracy": 0.37}}}
    assert_shows_chance(DF.plot_coexplore(results, tmp_path / "c.png", "t", num_classes=10).axes[0], 10.0)
    ax = DF.plot_coexplore(results, tmp_path / "c.png", "t").axes[0]
    assert ax.get_ylim()[0] <= 0 and ax.get_ylim()[1] >= 100 and "chance not marked" in ax.get_ylabel()


def test_accuracy_axis_in_fractions():
    fig, ax = plt.subplots()
    assert F.chance_level(4, full=1.0) == 0.25
    assert not F.accuracy_axis(ax, [0.3, 0.5], F.chance_level(4, full=1.0), "accuracy", full=1.0)
    assert_shows_chance(ax, 0.25)
    assert chance_lines(ax)[0].get_label() == "chance (0.25)" and ax.get_ylim()[1] >= 1.0
    with pytest.raises(ValueError, match="num_classes"):
        F.chance_level(1)


# ---- heatmaps: fixed 0-1 scale, uniform level marked ----------------------------------------------
def test_search_heatmap_is_on_a_fixed_0_1_scale_with_the_uniform_level_marked(tmp_path):
    hist = [{"epoch": 0, "derived_cost": 3.0}, {"epoch": 1, "derived_cost": 2.5}]
    fig = F.plot_search(ALPHA_SAME, hist, tmp_path / "s.png", "t", cost_unit="MFLOPs")
    mesh = fig.axes[0].collections[0]
    assert (mesh.norm.vmin, mesh.norm.vmax) == (0.0, 1.0)       # not stretched to the largest probability 0.3
    cbar = mesh.colorbar
    uniform = [ln for ln in cbar.ax.get_lines() if ln.get_gid() == "uniform"]
    assert len(uniform) == 1 and set(uniform[0].get_ydata()) == {0.25}
    assert any("uniform" in t.get_text() and "1/4" in t.get_text() for t in cbar.ax.get_yticklabels())
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["L0", "L1", "L2"]


def test_search_heatmap_with_different_candidate_counts_marks_each_layers_level(tmp_path):
    hist = [{"epoch": 0, "derived_cost": 3.0}]
    fig = F.plot_search(ALPHA_MIXED, hist, tmp_path / "s.png", "t", cost_unit="MFLOPs")
    mesh = fig.axes[0].collections[0]
    assert (mesh.norm.vmin, mesh.norm.vmax) == (0.0, 1.0)
    band = [p for p in mesh.colorbar.ax.patches if p.get_gid() == "uniform"]
    assert len(band) == 1
    assert band[0].get_y() == pytest.approx(1 / 4) and band[0].get_y() + band[0].get_height() == pytest.approx(1 / 3)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels == ["L0 (1/4)", "L1 (1/4)", "L2 (1/4)", "L3 (1/3)", "L4 (1/3)"]


def test_report_op_choice_is_on_a_fixed_0_1_scale():
    fig = RF.fig_op_choice(outputs(alpha=ALPHA_SAME))
    image = fig.axes[0].get_images()[0]
    assert (image.norm.vmin, image.norm.vmax) == (0.0, 1.0)
    cbar_ax = image.colorbar.ax
    assert any(ln.get_gid() == "uniform" and set(ln.get_ydata()) == {0.25} for ln in cbar_ax.get_lines())


# ---- pretraining phases and evaluation paths ------------------------------------------------------
def phase_patches(ax):
    return [p for p in ax.patches if (p.get_gid() or "").startswith("phase:")]


@pytest.mark.parametrize("rows", [new_rows(), untrained_rows(("mult",) * 4 + ("mixed",) * 4)], ids=["new", "old"])
def test_no_shading_or_legend_for_a_phase_that_did_not_run(rows):
    _, ax = plt.subplots()
    phases = F.shade_phases(ax, rows)
    adder = mcolors.to_rgba(F.PHASE_COLORS["adder"])
    patches = phase_patches(ax)
    assert {p.get_gid() for p in patches} == {"phase:mult", "phase:mixed"}
    assert len(patches) == len(rows)
    assert not any(p.get_facecolor() == adder for p in ax.patches)
    legend = F.phase_legend(phases)[1]
    assert "PGP phase: mult" in legend and "PGP phase: mixed" in legend
    assert not any("adder" in t for t in legend)


def test_full_width_share_is_hatched_for_old_and_new_rows():
    assert F.full_width_share({"full_width_fraction": 0.25, "full_width": True}) == 0.25
    assert F.full_width_share({"full_width": True}) == 1.0 and F.full_width_share({"full_width": False}) == 0.0
    assert F.full_width_share({}) is None
    _, ax = plt.subplots()
    F.shade_phases(ax, new_rows())
    hatched = sorted((p for p in ax.patches if p.get_gid() == "full_width"), key=lambda p: p.get_x())
    # epochs 1-8 at shares 1, 0.25, 0, 0, 1, 0.25, 0, 0: a hatch from each epoch's start, as wide as its share
    assert [(p.get_x(), p.get_width()) for p in hatched] == [(0.5, 1.0), (1.5, 0.25), (4.5, 1.0), (5.5, 0.25)]


def test_pretrain_draws_the_spread_over_paths_and_the_widest_path_when_rows_carry_them():
    report = RF.fig_pretrain_accuracy(outputs()).axes[0]
    assert any(c.get_gid() == "paths_band:A" for c in report.collections)
    assert any(ln.get_gid() == "widest:A" for ln in report.get_lines())
    assert not any((c.get_gid() or "").endswith(":B") for c in report.collections)    # old rows: none
    # the no-PGP run is not shaded; the PGP run's phases are, and only those that ran
    assert {p.get_gid() for p in phase_patches(report)} == {"phase:mult", "phase:mixed"}
    legend = [t.get_text() for t in report.get_legend().get_texts()]
    assert not any("PGP phase: adder" in t for t in legend)


# ---- one colour per operator kind ---------------------------------------------------------------
def test_kind_colours_come_from_the_table():
    for name, kind in OP_KINDS.items():
        assert F.kind_colour(name) == F.kind_colour(kind) == kind.colour == kind.color == RF.KIND_COLORS[name]
        assert mcolors.is_color_like(kind.colour)
    assert len({k.colour for k in OP_KINDS.values()} | {F.HYBRID_COLOUR}) == len(OP_KINDS) + 1
    assert F.op_colour("add_k5_e6") == OP_KINDS["adder"].colour
    assert F.op_colour("shiftadd_k3_e1") == OP_KINDS["shiftadd"].colour


def test_alpha_evolution_uses_the_same_kind_colour_in_stage_and_report_figures(tmp_path):
    stage = F.plot_alpha_evolution(ALPHA_MIXED, tmp_path / "e.png", "t").axes[0]
    report = RF.fig_alpha_evolution(outputs()).axes[0]
    kinds = {"mult", "shift", "adder", "skip"}
    for ax in (stage, report):
        lines = {ln.get_gid().split(":", 1)[1]: ln for ln in ax.get_lines() if (ln.get_gid() or "").startswith("kind:")}
        assert set(lines) == kinds
        for kind, line in lines.items():
            assert same_colour(line.get_color(), OP_KINDS[kind].colour)


def test_heatmap_tick_labels_use_the_kind_colours(tmp_path):
    fig = F.plot_search(ALPHA_MIXED, [{"epoch": 0, "derived_cost": 1.0}], tmp_path / "s.png", "t", cost_unit="x")
    report = RF.fig_op_choice(outputs())
    for ax in (fig.axes[0], report.axes[0]):
        ticks = {t.get_text(): t.get_color() for t in ax.get_xticklabels()}
        assert set(ticks) == set(CANDS4)
        for op, colour in ticks.items():
            assert same_colour(colour, F.op_colour(op))


def test_baselines_take_their_kind_colour_in_stage_and_report_pareto_plots(tmp_path):
    stage = F.plot_accuracy_vs_cost(hw_rows(HIGH), tmp_path / "a.png", "t", num_classes=10).axes[0]
    report = RF.fig_accuracy_vs_cost(outputs()).axes[0]
    for ax in (stage, report):
        points = {c.get_gid().split(":", 1)[1]: c for c in ax.collections if (c.get_gid() or "").startswith("network:")}
        assert set(points) == set(BASELINE_KIND)
        for net, kind in BASELINE_KIND.items():
            assert same_colour(points[net].get_facecolor()[0], OP_KINDS[kind].colour)
        searched = [c for c in ax.collections if c.get_label().startswith("searched network")]
        assert len(searched) == 1 and same_colour(searched[0].get_facecolor()[0], F.HYBRID_COLOUR)


# ---- the sanity checks' figures: cost-weight sweep and searched vs random ------------------------
def sanity_outputs(accuracy: float) -> PipelineOutputs:
    """A swept, randomly-challenged search "H" (3 seeds) around ``accuracy`` (a fraction) and two
    fixed baselines, for the sweep and searched-vs-random figures."""
    from nasa_lib.nas.common import FLOPS_COST_UNIT
    from nasa_lib.space import FBNetLayout
    out = outputs()
    out.seeds = [0, 1, 2]
    layout = FBNetLayout(width_mult=0.25, depth_mult=0.25, header_channels=64, stem_stride=2, in_channels=1,
                         input_size=28, num_classes=10)
    arch = ["k3_e1", "add_k3_e3", "shift_k3_e1", "add_k5_e1", "k3_e3", "add_k3_e1", "skip"]
    unit = {"cost_unit": FLOPS_COST_UNIT}
    out.search_seeds["H"] = {k: Source(f"s{k}", {"derived_cost": 1.2e5 + 1e3 * k, **unit}) for k in range(3)}
    out.retrain_seeds["H"] = {k: Source(f"r{k}", {"test_acc": accuracy + 0.002 * k, "arch_source": "search",
                                                  "arch": arch}) for k in range(3)}
    for name, op in (("all-conv", "k3_e6"), ("all-adder", "add_k3_e6")):
        out.retrain_seeds[name] = {k: Source(f"{name}{k}", {"test_acc": accuracy - 0.01, "arch_source": "baseline",
                                                            "arch": [op] * 7}) for k in range(3)}
    for stage in ("search", "retrain"):
        setattr(out, stage, {r: by_seed[0] for r, by_seed in getattr(out, f"{stage}_seeds").items()})
    out.sweep = {"H": {0.0: {k: Source(f"w0_{k}", {"derived_cost": 2e5 + 1e3 * k, "test_acc": accuracy + 0.01, **unit})
                             for k in range(3)}}}
    out.sweep_main_hw_weight = 1e-7
    out.layouts = {"H": ("arch.json", layout)}
    out.random = {"H": {d: Source(f"d{d}", {"test_acc": accuracy - 0.03 + 0.004 * d, "cost": 1.2e5, "tolerance": 0.1,
                                            "target_seed": 0, **unit}) for d in range(5)}}
    return out


def test_sweep_and_random_figures_show_chance_near_it_and_say_when_zoomed():
    for draw in (RF.fig_sweep_tradeoff, RF.fig_searched_vs_random):
        assert_shows_chance(draw(sanity_outputs(0.14)).axes[0], 10.0)
        ax = draw(sanity_outputs(0.95)).axes[0]
        assert "axis does not include chance (10 %)" in ax.get_ylabel() and not chance_lines(ax)


def test_sweep_figure_gives_baselines_their_kind_colour_and_marks_the_main_search():
    ax = RF.fig_sweep_tradeoff(sanity_outputs(0.95)).axes[0]
    points = {c.get_gid().split(":", 1)[1]: c for c in ax.collections if (c.get_gid() or "").startswith("network:")}
    assert set(points) == {"all-conv", "all-adder"}
    for net, kind in (("all-conv", "mult"), ("all-adder", "adder")):
        assert same_colour(points[net].get_facecolor()[0], OP_KINDS[kind].colour)
    main = [c for c in ax.collections if c.get_gid() == "main:H"]
    assert len(main) == 1 and main[0].get_offsets()[0][0] == pytest.approx(1.21e5)     # mean cost of the 3 seeds


def test_searched_vs_random_figure_states_the_computed_verdict():
    ax = RF.fig_searched_vs_random(sanity_outputs(0.95)).axes[0]
    assert ax.get_title().startswith("H: searched better")
    searched = [c for c in ax.collections if c.get_gid() == "searched:H"]
    assert len(searched) == 1 and len(searched[0].get_offsets()) == 3
