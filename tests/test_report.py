"""The report stage: REPORT.md, its figures and the claims table, built from metrics files written
here by hand through the stages' own declared formats (``nasa_lib.artifacts``, ``write_stage_outputs``).

What is checked: every figure and table the issue lists exists and is not empty; every number of
ours in the claims table equals the metrics file it came from (read back here with plain json)
or the formula over those; verdicts on crafted inputs (a claim that holds, one that does not, one
at chance accuracy, one whose stages did not run); golden numbers worked out by hand; the report
regenerates byte for byte; bad input gives one-line errors.
"""
from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from nasa_lib.artifacts import (AlphaHistory, DanceCoexploreMetrics, DanceDatasetMetrics, DanceEvaluatorMetrics,
                                DataSummary, HwMappingMetrics, PretrainMetrics, RetrainMetrics, SearchMetrics)
from nasa_lib.report import (IN_TIMING, NOT_COMPARABLE, NOT_REPRODUCED, NOT_RUN, REPRODUCED, FIGURES, VerdictRules,
                             build_report, evaluate_claims, load_outputs, load_reference)
from nasa_lib.report.reference import parse_reference
from nasa_lib.space import ChildNet, FBNetLayout, layer_candidates

LAYOUT = FBNetLayout(width_mult=0.25, depth_mult=0.25, header_channels=64, stem_stride=2, in_channels=1,
                     input_size=28, num_classes=10)
ARCHS = {  # 7 searchable layers; adders allowed in layers 1-5 (adder_free_ends = 1)
    "Hybrid-All": ["k3_e1", "add_k3_e3", "shift_k3_e1", "add_k5_e1", "k3_e3", "add_k3_e1", "skip"],
    "Hybrid-All-noPGP": ["k3_e1", "k3_e3", "shift_k3_e1", "k5_e1", "k3_e3", "shift_k3_e1", "skip"],
    "OnlyConv": ["k3_e1", "k3_e3", "k3_e6", "k5_e1", "k3_e3", "k3_e1", "skip"],
    "all-conv": ["k3_e6"] * 7,
    "all-adder": ["add_k3_e6"] * 7,
}
SPACES = {"Hybrid-All": "Hybrid-All", "Hybrid-All-noPGP": "Hybrid-All", "OnlyConv": "OnlyConv"}
PGP = {"Hybrid-All": True, "Hybrid-All-noPGP": False, "OnlyConv": True}
BASELINES = ["all-adder", "all-conv"]
TEST_ACC = {"Hybrid-All": 0.955, "Hybrid-All-noPGP": 0.90, "OnlyConv": 0.955, "all-conv": 0.96, "all-adder": 0.93}
SUPERNET_ACC = {"Hybrid-All": 0.60, "Hybrid-All-noPGP": 0.40, "OnlyConv": 0.70}
# EDP (uJ x ms) and energy (uJ) per network and mode, chosen so the verdicts can be worked out by hand
EDP = {"Hybrid-All": {"auto": 2.0, "fixed_dataflow": 2.5, "flops_proportional": 2.2, "multiplier_only": 4.0},
       "Hybrid-All-noPGP": {"auto": 2.4, "fixed_dataflow": 2.4, "flops_proportional": 2.4, "multiplier_only": 3.0},
       "OnlyConv": {"auto": 6.0, "fixed_dataflow": 6.0, "flops_proportional": 6.0, "multiplier_only": 6.0},
       "all-conv": {"auto": 8.0, "fixed_dataflow": 8.5, "flops_proportional": 8.0, "multiplier_only": 8.0},
       "all-adder": {"auto": 3.0, "fixed_dataflow": 3.0, "flops_proportional": 3.3, "multiplier_only": 6.0}}
ENERGY = {"Hybrid-All": 40.0, "Hybrid-All-noPGP": 45.0, "OnlyConv": 90.0, "all-conv": 100.0, "all-adder": 50.0}


def _json(path: Path, doc) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=1))


def write_stage_outputs(root: Path, dance: bool = True) -> None:
    """Metrics, alpha histories, checkpoints and timing files, written through the dataclasses the
    stages write with (nasa_lib/artifacts.py)."""
    m, a, t = root / "reports/metrics", root / "artifacts", root / "reports/timing"
    DataSummary(name="mnist5k", in_channels=1, input_size=28, num_classes=10, augment="none", verify="pinned",
                sizes={"train": 3600, "val": 400, "weight": 1800, "arch": 1800, "test": 1000},
                mean=[0.13], std=[0.31]).write(m / "data.json")
    for run, space in SPACES.items():
        phases = ["mult", "adder", "mixed"] if PGP[run] else ["mixed"] * 3
        history = [{"epoch": e, "phase": p, "full_width": True, "train_loss": 2.0 - 0.3 * e, "train_acc": 0.2 + 0.1 * e,
                    "val_acc": SUPERNET_ACC[run] - 0.1 * (2 - e)} for e, p in enumerate(phases)]
        PretrainMetrics(run=run, space=space, pgp=PGP[run], epochs=3, final_val_acc=history[-1]["val_acc"],
                        schedule={}, history=history).write(m / f"pretrain/{run}.json")
        cands = layer_candidates(space, LAYOUT.num_layers, 1)
        probs = []
        for epoch in range(2):  # the chosen op gains probability each epoch
            per_layer = []
            for c, op in zip(cands, ARCHS[run]):
                p = np.full(len(c), 1.0)
                p[c.index(op)] += 2.0 * (epoch + 1)
                per_layer.append([round(float(x), 4) for x in p / p.sum()])
            probs.append(per_layer)
        AlphaHistory(candidates=cands, probabilities_per_epoch=probs).write(a / f"search/{run}/alpha_history.json")
        SearchMetrics(run=run, space=space, mode="soft", arch=ARCHS[run], derived_cost=1.2e5,
                      cost_unit="MACs (shift x1/8, adder x1/5)", final_val_acc=0.5,
                      history=[{"epoch": 0, "derived_cost": 1.2e5}]).write(m / f"search/{run}.json")
    for run, arch in ARCHS.items():
        source = "search" if run in SPACES else "baseline"
        RetrainMetrics(run=run, arch_source=source, arch=arch, test_acc=TEST_ACC[run], final_val_acc=TEST_ACC[run],
                       epochs=5, params=1000 + len(run), mult_ops=10, add_ops=20, shift_ops=30,
                       history=[{"epoch": 0, "train_loss": 1.0, "train_acc": 0.5, "val_acc": 0.5}]
                       ).write(m / f"retrain/{run}.json")
        _json(t / f"retrain/{run}.json", {"wall_s": 1.5, "epoch_seconds": [1.5]})
        # every retrained network has its weights (the figures read Hybrid-All's and all-conv's)
        (a / f"retrain/{run}").mkdir(parents=True, exist_ok=True)
        torch.manual_seed(0)
        torch.save({"state_dict": ChildNet(arch, LAYOUT).state_dict(), "arch": arch, "layout": LAYOUT.to_dict()},
                   a / f"retrain/{run}/model.pt")
    rows = []
    for run, modes in EDP.items():
        for mode, edp in modes.items():
            energy = ENERGY[run] * (1.25 if mode == "multiplier_only" and run not in ("OnlyConv", "all-conv") else 1.0)
            rows.append({"network": run, "arch_source": "search" if run in SPACES else "baseline", "mode": mode,
                         "accelerator": "eyeriss_like" if mode == "multiplier_only" else "nasa_chunk",
                         "test_acc": TEST_ACC[run], "params": 1000, "mult_ops": 10, "add_ops": 20, "shift_ops": 30,
                         "energy_uj": energy, "energy_breakdown_uj": {"compute": 0.1 * energy, "rf": 0.2 * energy,
                                                                      "noc": 0.05 * energy, "gb": 0.05 * energy,
                                                                      "dram": 0.6 * energy},
                         "latency_ms": edp / energy, "latency_cycles": 250.0 * edp / energy,
                         "throughput_images_per_s": energy / edp * 1e3, "edp_uj_ms": edp, "area_mm2": 1.8,
                         "pe_split": {"pe_array": 168} if mode == "multiplier_only"
                         else {"conv": 100, "shift": 30, "adder": 38},
                         "dataflow": {"pe_array": "RS"} if mode == "multiplier_only"
                         else {"conv": "RS", "shift": "OS" if mode == "auto" else "RS", "adder": "RS"}})
    HwMappingMetrics(objective="edp", modes=list(EDP["all-conv"]), rows=rows).write(m / "hw_mapping.json")
    for stage in ("pretrain", "search"):
        for run in SPACES:
            _json(t / f"{stage}/{run}.json", {"wall_s": 3.0, "epoch_seconds": [1.0, 1.0, 1.0]})
    if dance:
        runs = [{"method": "coexplore", "lam": 0.5, "accuracy": 80.2, "edap": 6.0},
                {"method": "sequential", "lam": 0.5, "accuracy": 80.0, "edap": 10.0},
                {"method": "coexplore", "lam": 2.0, "accuracy": 77.8, "edap": 5.0},
                {"method": "sequential", "lam": 2.0, "accuracy": 78.0, "edap": 8.0},
                {"method": "plain+hw", "lam": 1e-7, "accuracy": 81.0, "edap": 12.0}]
        for r in runs:
            r.update({"arch": ARCHS["Hybrid-All"], "design": {"pe_split": "84/42/42", "buffer_kb": 128},
                      "exact": {"latency_ms": 0.1, "energy_uj": 20.0, "area_mm2": 2.0, "edap": r["edap"]},
                      "cost": "edap", "cost_value": r["edap"], "supernet_val_acc": 0.5,
                      "accuracy_source": "test accuracy after 3 retraining epochs"})
        matched = [{"sequential_lam": 0.5, "sequential_accuracy": 80.0, "sequential": 10.0, "coexplore_lam": 0.5,
                    "coexplore_accuracy": 80.2, "coexplore": 6.0, "ratio": 0.6, "key": "edap"},
                   {"sequential_lam": 2.0, "sequential_accuracy": 78.0, "sequential": 8.0, "coexplore_lam": 2.0,
                    "coexplore_accuracy": 77.8, "coexplore": 5.0, "ratio": 0.625, "key": "edap"}]
        DanceCoexploreMetrics(run="chunk", space="Hybrid-All", design_space={"name": "chunk_dance"}, cost="edap",
                              lambdas=[0.5, 2.0], evaluator_mape_percent=None, joint={"skipped": "too many"},
                              matched=matched, reference_design={}, runs=runs).write(m / "dance/coexplore_chunk.json")
        DanceEvaluatorMetrics(run="chunk", space="Hybrid-All", design_space="chunk_dance", config={},
                              rows={"train": 80, "val": 10, "test": 10}, best_epoch=3,
                              mape_percent={"test": {"latency_ms": 2.5, "energy_uj": 3.0, "area_mm2": 0.5}},
                              history=[]).write(m / "dance/evaluator_chunk.json")
        DanceDatasetMetrics(run="chunk", space="Hybrid-All", seed=1, n_archs=10, designs_per_arch=10, rows=100,
                            dropped_infeasible=0, distinct_designs=40, design_space={"name": "chunk_dance"},
                            layer_tables=12, rows_per_split={"train": 80, "val": 10, "test": 10},
                            metric_ranges={}, design_sensitivity={}).write(m / "dance/dataset_chunk.json")
        _json(t / "dance/coexplore_chunk.json", {"tables_seconds": 1.0, "runs": [
            {"method": r["method"], "lam": r["lam"], "search_seconds": s, "hw_search_seconds": h,
             "total_seconds": s + h}
            for r, (s, h) in zip(runs, [(10.0, 0.0), (9.0, 3.0), (10.0, 0.0), (9.0, 3.0), (8.0, 3.0)])]})
        _json(t / "dance/evaluator_chunk.json", {"train_seconds": 4.0, "epoch_seconds": [1.0] * 4})


def dance_predictions():
    rng = np.random.default_rng(0)
    true = rng.uniform(1, 10, size=(40, 3))
    return {"chunk": {m: (true[:, i], true[:, i] * rng.uniform(0.95, 1.05, 40))
                      for i, m in enumerate(("latency_ms", "energy_uj", "area_mm2"))}}


def _build(root: Path, **kw):
    return build_report("fixture", list(SPACES), BASELINES, ["chunk"], metrics_dir=root / "reports/metrics", artifacts_dir=root / "artifacts",
                        timing_dir=root / "reports/timing", out_dir=root / "reports",
                        dance_predictions=dance_predictions(), **kw)


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    write_stage_outputs(root)
    return root, _build(root)


def _outputs(root: Path):
    """What the report reads of a profile without DANCE."""
    return load_outputs("t", list(SPACES), BASELINES, [], root / "reports/metrics", root / "artifacts")


def _claims(outputs, **rules):
    return {c.id: c for c in evaluate_claims(outputs, load_reference(), VerdictRules(**rules))}


# ---- the files --------------------------------------------------------------------------------
def test_every_figure_of_the_issue_is_drawn_as_png_and_svg(built):
    root, written = built
    assert set(FIGURES) >= {"report_pretrain_accuracy", "report_search_op_choice", "report_search_alpha_evolution",
                            "report_weight_distributions", "report_accuracy_vs_energy", "report_accuracy_vs_edp",
                            "report_accelerator_ablation", "report_energy_breakdown", "report_dance_evaluator",
                            "report_dance_tradeoff"}
    assert all(written["drawn"].values()), written["drawn"]
    for stem in list(FIGURES) + ["report_wall_times"]:
        png, svg = root / f"reports/figures/{stem}.png", root / f"reports/figures/{stem}.svg"
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000, stem
        assert b"<svg" in svg.read_bytes()[:2000] and svg.stat().st_size > 10_000, stem


def test_report_has_every_table_and_links_every_figure(built):
    root, _ = built
    md = (root / "reports/REPORT.md").read_text()
    for stem in FIGURES:
        assert f"(figures/{stem}.png)" in md
    tables = _tables(md)
    headers = [t[0] for t in tables]
    assert ["#", "paper", "claim", "paper's figure", "ours", "verdict"] in headers
    main = next(t for t in tables if t[0][:4] == ["network", "found by", "blocks", "test acc. (%)"])
    assert [r[0] for r in main[2:]] == ["Hybrid-All", "Hybrid-All-noPGP", "OnlyConv", "all-conv", "all-adder"]
    assert {"chunk: energy (uJ)", "chunk: latency (ms)", "chunk: EDP (uJ x ms)", "chunk: area (mm^2)",
            "Eyeriss-like: energy (uJ)", "Eyeriss-like: EDP (uJ x ms)", "params", "mult. / image", "add. / image",
            "shift / image"} <= set(main[0])
    row = dict(zip(main[0], main[3]))  # Hybrid-All-noPGP: 90 %, energy 45 (chunk) and 56.25 (Eyeriss-like), EDP 2.4 / 3
    assert row["test acc. (%)"] == "90" and row["chunk: energy (uJ)"] == "45" and row["chunk: EDP (uJ x ms)"] == "2.4"
    assert row["Eyeriss-like: energy (uJ)"] == "56.25" and row["Eyeriss-like: EDP (uJ x ms)"] == "3"
    ablation = next(t for t in tables if t[0][:2] == ["network", "mapping"])
    assert len(ablation) - 2 == 5 * 4                      # every network under every mapping
    assert any(t[0][:3] == ["run", "method", "lambda"] for t in tables)  # the DANCE table
    assert "profile fixture" in md and "mnist5k" in md
    html = (root / "reports/REPORT.html").read_text()
    assert html.count("<table>") == len(tables) and html.count('<img src="figures/report_') == len(FIGURES)


def _tables(md: str) -> list[list[list[str]]]:
    """Every Markdown table as rows of cells (header, separator, body)."""
    tables, current = [], []
    for line in md.splitlines() + [""]:
        if line.startswith("|"):
            current.append([c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif current:
            tables.append(current)
            current = []
    return tables


# ---- every number of ours is the metrics file's ---------------------------------------------
def _follow(doc, path):
    for step in path:
        doc = next(x for x in doc if all(x[k] == v for k, v in step.items())) if isinstance(step, dict) else doc[step]
    return doc


def _formula(name, v):
    if name == "reduction_percent":
        return 100 * (1 - v[0] / v[1])
    if name == "difference":
        return v[0] - v[1]
    if name == "geomean_reduction_percent":
        return 100 * (1 - math.prod(n / o for n, o in zip(v[0::2], v[1::2])) ** (2 / len(v)))
    raise AssertionError(name)


def test_each_number_in_the_claims_table_equals_its_metrics_file(built):
    root, _ = built
    claims = json.loads((root / "reports/REPORT_claims.json").read_text())["claims"]
    table = next(t for t in _tables((root / "reports/REPORT.md").read_text()) if t[0][-1] == "verdict")
    assert len(table) - 2 == len(claims)
    checked = 0
    for row, claim in zip(table[2:], claims):
        assert row[-1].startswith(f"**{claim['verdict']}**")
        groups = list(dict.fromkeys(it["group"] for it in claim["items"]))
        items = [it for g in groups for it in claim["items"] if it["group"] == g]   # the cell's order
        shown = re.findall(r"\*\*([^*]+)\*\*", row[4])
        assert len(shown) == len(items), (claim["id"], row[4])
        for text, it in zip(shown, items):
            if it["kind"] == "evidence":
                raw = _follow(json.loads(Path(it["source"]).read_text()), it["path"])
                expected = raw * it["scale"]
            else:
                expected = _formula(it["formula"], [claim["items"][i]["value"] for i in it["args"]])
            assert it["value"] == pytest.approx(expected, rel=1e-12), it
            assert text == f"{expected:.4g}", (text, expected, it)
            checked += 1
    assert checked > 30


def test_golden_claims_worked_out_by_hand(built):
    _, written = built
    c = {r.id: r for r in written["claims"]}
    hyb = c["hybrid_beats_mult_only"]
    # reference: the most accurate multiplication-only network, all-conv (96 %), on the multiplier-only
    # accelerator: energy 100 uJ, EDP 8.0; hybrid: Hybrid-All (95.5 %, within 1 point), energy 40, EDP 2.0
    assert hyb.verdict == REPRODUCED
    assert [i.value for i in hyb.items if i.kind == "derived"] == pytest.approx([-0.5, 60.0, 75.0])
    # auto vs fixed dataflow over the 3 networks with shift / adder layers (Hybrid-All 2.0 vs 2.5,
    # Hybrid-All-noPGP 2.4 vs 2.4, all-adder 3.0 vs 3.0): 100 (1 - (0.8)^(1/3)) = 7.168 %
    auto = c["automapper_vs_fixed_dataflow"]
    assert auto.items[-1].value == pytest.approx(100 * (1 - 0.8 ** (1 / 3))) and auto.verdict == REPRODUCED
    # FLOPs-proportional: 2.0/2.2, 2.4/2.4, 3.0/3.3 -> 100 (1 - (1/1.1^2)^(1/3)) = 6.16 %
    assert c["searched_split_vs_flops_proportional"].items[-1].value == pytest.approx(100 * (1 - 1.1 ** (-2 / 3)))
    # chunking: 2/4, 2.4/3, 3/6 -> 100 (1 - (0.5 * 0.8 * 0.5)^(1/3))
    assert c["chunking_vs_multiplier_only"].items[-1].value == pytest.approx(100 * (1 - 0.2 ** (1 / 3)))
    # PGP: supernet 60 % vs 40 % (+20 points), searched network 95.5 % vs 90 %
    pgp = c["pgp_enables_search"]
    assert pgp.verdict == REPRODUCED and [i.value for i in pgp.items if i.kind == "derived"] == pytest.approx([20, 5.5])
    # DANCE: EDAP 6 vs 10 and 5 vs 8 at matched accuracy -> 40 % and 37.5 % cheaper; evaluator error <= 3 %
    cost = c["coexplore_beats_sequential_cost"]
    assert cost.verdict == REPRODUCED
    assert [i.value for i in cost.items if i.kind == "derived"] == pytest.approx([40, 37.5])
    assert c["evaluator_models_cost_tool"].verdict == REPRODUCED
    assert c["accuracy_anchors"].verdict == NOT_COMPARABLE          # MNIST, not CIFAR
    assert c["coexplore_beats_sequential_time"].verdict == IN_TIMING       # wall times: TIMING.md


def test_paper_figures_come_from_the_reference_file(built):
    root, _ = built
    ref = load_reference()
    md = (root / "reports/REPORT.md").read_text()
    for claim in ref.claims:
        assert claim.figure(ref.values) in md
    assert "OnlyConv 94.95 % (CIFAR-10), 76.9 % (CIFAR-100); Hybrid-All 77.37 % (CIFAR-100)" in md
    for key in ref.sources:
        assert ref.citation(key) in md


def test_timing_is_kept_out_of_the_report_and_judged_in_timing_md(built):
    root, _ = built
    timing = (root / "reports/TIMING.md").read_text()
    # co-exploration 10 s vs sequential 9 + 3 = 12 s at both lambdas: 16.67 % faster
    assert "**reproduced**" in timing and "| chunk | 0.5 | 10 | 9 | 3 | 12 | 16.67 |" in timing
    assert "wall_s" not in (root / "reports/REPORT.md").read_text()


def test_report_regenerates_byte_for_byte(built, tmp_path):
    """Same metrics, same bytes: the Markdown and HTML (rendered again) and the figures most at risk
    (an embedded image, many SVG paths) drawn again, compared with the module's build."""
    from nasa_lib.report import build as B, report_figures as rf
    root, written = built
    out = load_outputs("fixture", list(SPACES), BASELINES, ["chunk"], root / "reports/metrics", root / "artifacts")
    claims = evaluate_claims(out, load_reference(), VerdictRules())
    text = B.render_report(out, claims, load_reference(), VerdictRules(), written["drawn"])
    assert text == (root / "reports/REPORT.md").read_text()
    assert B.markdown_to_html(text, "nasa_lib report (fixture)") == (root / "reports/REPORT.html").read_text()
    for stem, draw in (("report_search_op_choice", rf.fig_op_choice), ("report_weight_distributions",
                                                                        rf.fig_weight_distributions)):
        rf.save_figure(draw(out), tmp_path / f"{stem}.png")
        for ext in ("png", "svg"):
            assert (tmp_path / f"{stem}.{ext}").read_bytes() == (root / f"reports/figures/{stem}.{ext}").read_bytes()


# ---- verdicts on crafted inputs -------------------------------------------------------------
def _edit(root: Path, rel: str, change) -> None:
    path = root / "reports/metrics" / rel
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))


def test_a_claim_that_does_not_hold_is_not_reproduced(tmp_path):
    write_stage_outputs(tmp_path, dance=False)

    def costly_hybrids(doc):
        for r in doc["rows"]:
            if r["network"].startswith("Hybrid") and r["mode"] == "auto":
                r["energy_uj"], r["edp_uj_ms"] = 120.0, 9.0
            if r["mode"] == "fixed_dataflow":
                r["edp_uj_ms"] = next(x["edp_uj_ms"] for x in doc["rows"]
                                      if x["network"] == r["network"] and x["mode"] == "auto")
    _edit(tmp_path, "hw_mapping.json", costly_hybrids)
    _edit(tmp_path, "pretrain/Hybrid-All-noPGP.json", lambda d: d.update(final_val_acc=0.65))
    c = _claims(_outputs(tmp_path))
    assert c["hybrid_beats_mult_only"].verdict == NOT_REPRODUCED
    assert c["automapper_vs_fixed_dataflow"].verdict == NOT_REPRODUCED   # auto == fixed: 0 % lower
    assert c["pgp_enables_search"].verdict == NOT_REPRODUCED             # 60 % with PGP, 65 % without
    for dance in ("evaluator_models_cost_tool", "coexplore_beats_sequential_cost", "coexplore_beats_sequential_time"):
        assert c[dance].verdict == NOT_RUN and c[dance].items == []


def test_accuracy_too_far_below_is_not_comparable_accuracy(tmp_path):
    write_stage_outputs(tmp_path, dance=False)
    _edit(tmp_path, "retrain/Hybrid-All.json", lambda d: d.update(test_acc=0.94))   # 2 points below all-conv
    c = _claims(_outputs(tmp_path))
    assert c["hybrid_beats_mult_only"].verdict == NOT_REPRODUCED
    assert "no hybrid within 1 percentage points of all-conv's accuracy" in c["hybrid_beats_mult_only"].reason
    c = _claims(_outputs(tmp_path), accuracy_tolerance_pp=2.5)
    assert c["hybrid_beats_mult_only"].verdict == REPRODUCED   # a looser rule accepts the same numbers


def test_networks_at_chance_make_accuracy_claims_not_comparable(tmp_path):
    write_stage_outputs(tmp_path, dance=False)
    for run in ARCHS:
        _edit(tmp_path, f"retrain/{run}.json", lambda d: d.update(test_acc=0.11))
    for run in SPACES:
        _edit(tmp_path, f"pretrain/{run}.json", lambda d: d.update(final_val_acc=0.1))
    c = _claims(_outputs(tmp_path))
    assert c["hybrid_beats_mult_only"].verdict == NOT_COMPARABLE
    assert c["pgp_enables_search"].verdict == NOT_COMPARABLE
    assert c["chunking_vs_multiplier_only"].verdict == REPRODUCED       # hardware claims do not need accuracy


def test_stages_that_did_not_run_give_not_run_lines_and_placeholder_files(tmp_path):
    write_stage_outputs(tmp_path, dance=False)
    for folder in ("pretrain", "search", "retrain"):          # only the data stage ran
        shutil.rmtree(tmp_path / "reports/metrics" / folder)
    (tmp_path / "reports/metrics/hw_mapping.json").unlink()
    written = build_report("small", [], [], [], tmp_path / "reports/metrics", tmp_path / "artifacts",
                           tmp_path / "reports/timing", tmp_path / "reports")
    assert not any(written["drawn"].values())
    md = (tmp_path / "reports/REPORT.md").read_text()
    assert "(DANCE evaluator: predicted vs true per metric): not run in this profile (small)" in md
    assert "](figures/report_" not in md
    for stem in FIGURES:   # DVC needs every declared output, so a placeholder stands in
        assert (tmp_path / f"reports/figures/{stem}.png").stat().st_size > 0
    assert {r.verdict for r in written["claims"]} <= {NOT_RUN, NOT_COMPARABLE}
    assert {r.id: r.verdict for r in written["claims"]}["chunking_vs_multiplier_only"] == NOT_RUN
    header = (tmp_path / "reports/plots/report_dance_tradeoff.csv").read_text()
    assert header == "results,method,lam,cost_value,accuracy_percent\n"


# ---- bad input ----------------------------------------------------------------------------------
def test_bad_rules_and_reference_files_give_one_line_errors(tmp_path):
    with pytest.raises(ValueError, match=r"report.min_reduction_percent=-1 is not valid; it must be a number >= 0"):
        VerdictRules(min_reduction_percent=-1)
    doc = yaml.safe_load(Path(load_reference().path).read_text())
    doc["values"]["onlyconv_cifar10_top1_percent"]["source"] = "a blog"
    with pytest.raises(ValueError, match=r"values.onlyconv_cifar10_top1_percent.source must be one of nasa_paper"):
        parse_reference(doc, "ref.yaml")
    doc = yaml.safe_load(Path(load_reference().path).read_text())
    doc["claims"][0]["figure"] = "OnlyConv {typed_in_number} %"
    with pytest.raises(ValueError, match=r"claims\[0\].figure must be a text whose \{names\} are values"):
        parse_reference(doc, "ref.yaml")
    with pytest.raises(ValueError, match=r"data.json is missing: run the stage that writes it first") as err:
        load_outputs("tiny", ["OnlyConv"], [], [], tmp_path / "nowhere", tmp_path)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match=r"profile='' is not valid"):
        load_outputs("", [], [], [], tmp_path, tmp_path)


def test_point_labels_avoid_each_other_and_stay_inside_the_axes():
    """Two close points whose labels would collide at the default spot, one near the right edge."""
    import matplotlib.pyplot as plt
    from nasa_lib.report.figures import label_points
    fig, ax = plt.subplots(figsize=(4, 3))
    points = [(1.0, 1.0, "Hybrid-All-noPGP"), (1.4, 1.02, "Hybrid-All"), (5.9, 2.0, "hw_weight=1e-07")]
    ax.scatter([p[0] for p in points], [p[1] for p in points])
    ax.set_xlim(0, 6)
    ax.set_ylim(0, 3)
    renderer = fig.canvas.get_renderer()
    boxes = [label.get_window_extent(renderer) for label in label_points(ax, points)]
    inside = ax.get_window_extent(renderer)
    assert not boxes[0].overlaps(boxes[1])
    for box in boxes:
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1
    plt.close(fig)
