"""The DVC pipeline: parameter validation, and the tiny profile run end to end through the very
same dvc.yaml and notebooks (papermill), checking the metrics files it writes."""
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nasa_lib.pipeline import validate
from nasa_lib.pipeline.workspace import copy_repository

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def test_validate_accepts_the_default_params_and_cleans_yaml_spellings():
    cfg = validate("pretrain", {"space": "addall", "pgp": "true", "epochs": 6, "mult_epochs": 2,
                                "adder_epochs": 2, "lr": 0.1, "subset": None, "limit_train_batches": "null"})
    assert cfg["space"] == "Hybrid-All" and cfg["pgp"] is True and cfg["limit_train_batches"] is None


@pytest.mark.parametrize("stage,values,message", [
    ("search", {"space": "Hybrid-Foo"}, r"search.space='Hybrid-Foo' is not valid; valid values: OnlyConv, Hybrid-Shift"),
    ("pretrain", {"epochs": 0}, r"pretrain.epochs=0 is not valid; it must be an integer >= 1"),
    ("pretrain", {"epochs": 2.5}, r"pretrain.epochs=2.5 is not valid; it must be an integer >= 1"),
    ("retrain", {"schedule": "linear"}, r"retrain.schedule='linear' is not valid; valid values: cosine, step, constant"),
    ("data", {"dataset": "imagenet"}, r"data.dataset='imagenet' is not valid; valid values: mnist5k, digits"),
    ("search", {"mode": "medium"}, r"search.mode='medium' is not valid; valid values: soft, hard"),
    ("retrain", {"quantize": "yes"}, r"retrain.quantize='yes' is not valid; valid values: true, false"),
    ("data", {"val_fraction": 1.5}, r"data.val_fraction=1.5 is not valid; it must be a number > 0 and <= 1"),
    ("stage9", {}, r"stage='stage9' is not valid; valid values: data, pretrain"),
])
def test_bad_params_give_one_line_errors(stage, values, message):
    with pytest.raises(ValueError, match=message) as err:
        validate(stage, values)
    assert "\n" not in str(err.value)


def _copy_repo(dest: Path) -> None:
    copy_repository(REPO, dest)
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)


def _dvc(cwd, *args, check=True):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    return subprocess.run([str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True, check=check)


needs_pipeline = pytest.mark.skipif(not (BIN / "dvc").exists() or not (BIN / "papermill").exists(),
                                    reason="the pipeline extras (dvc, papermill) are not installed")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from nasa_lib.data import materialize_mnist5k
    root = tmp_path_factory.mktemp("tiny")
    _copy_repo(root)
    shutil.copy(root / "profiles" / "tiny.yaml", root / "params.yaml")
    materialize_mnist5k(root / "data" / "mnist5k")
    result = _dvc(root, "repro", check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


@needs_pipeline
def test_tiny_profile_runs_end_to_end_and_writes_metrics(tiny_run):
    metrics = tiny_run / "reports" / "metrics"
    data = json.loads((metrics / "data.json").read_text())
    assert data["sizes"]["train"] == 96 and data["sizes"]["weight"] + data["sizes"]["arch"] == 96
    params = yaml.safe_load((tiny_run / "params.yaml").read_text())
    pre = json.loads((metrics / "pretrain" / "Hybrid-All.json").read_text())
    assert [h["phase"] for h in pre["history"]] == ["mult", "adder", "mixed"]
    search = json.loads((metrics / "search" / "Hybrid-All.json").read_text())
    arch = json.loads((tiny_run / "artifacts" / "search" / "Hybrid-All" / "arch.json").read_text())
    assert search["arch"] == arch["arch"] and search["derived_cost"] > 0
    for run in ("Hybrid-All", "all-conv"):
        r = json.loads((metrics / "retrain" / f"{run}.json").read_text())
        assert 0.0 <= r["test_acc"] <= 1.0 and len(r["history"]) == params["retrain"]["epochs"]
        assert r["params"] > 0 and r["mult_ops"] > 0
        specs = json.loads((tiny_run / "artifacts" / "retrain" / run / "layer_specs.json").read_text())
        assert specs[0]["name"] == "stem" and specs[-1]["name"] == "classifier"
    assert (tiny_run / "reports" / "executed" / "retrain@all-conv.html").stat().st_size > 10_000
    assert (tiny_run / "reports" / "figures" / "search_Hybrid-All.png").exists()
    # DANCE: data set -> evaluator -> co-exploration with its baselines, then the report
    dance = metrics / "dance"
    dataset = json.loads((dance / "dataset_chunk.json").read_text())
    assert dataset["space"] == "Hybrid-All" and sum(dataset["rows_per_split"].values()) == dataset["rows"] > 0
    evaluator = json.loads((dance / "evaluator_chunk.json").read_text())
    assert set(evaluator["mape_percent"]["test"]) == {"latency_ms", "energy_uj", "area_mm2"}
    co = json.loads((dance / "coexplore_chunk.json").read_text())
    assert {r["method"] for r in co["runs"]} == {"coexplore", "sequential", "plain+hw"}
    assert all(r["edap"] > 0 and 0 <= r["accuracy"] <= 100 for r in co["runs"])
    assert "seconds" not in json.dumps(co)          # wall times live in reports/timing, not in metrics
    report = (tiny_run / "reports" / "REPORT.md").read_text()
    assert "DANCE" in report and (tiny_run / "reports" / "REPORT.html").stat().st_size > 10_000
    # a second repro has nothing to do
    again = _dvc(tiny_run, "repro")
    assert "didn't change" in again.stdout or "up to date" in again.stdout.lower()
    shown = _dvc(tiny_run, "metrics", "show", "--json")
    assert "test_acc" in shown.stdout


@needs_pipeline
def test_forced_rerun_reproduces_the_metrics_exactly(tiny_run):
    """Metrics, every artifact a later stage reads (supernet, architecture, weights, the DANCE data
    set, evaluator and results) and the report: byte for byte.  Wall times live elsewhere."""
    def outputs():
        files = [*(tiny_run / "reports" / "metrics").rglob("*.json"), *(tiny_run / "artifacts").rglob("*"),
                 *(tiny_run / "reports" / name for name in ("REPORT.md", "REPORT.html", "REPORT_claims.json"))]
        return {p: p.read_bytes() for p in files if p.is_file()}
    before = outputs()
    _dvc(tiny_run, "repro", "--force")
    after = outputs()
    assert sorted(before) == sorted(after)
    assert [p for p in before if before[p] != after[p]] == []


@needs_pipeline
def test_bad_param_fails_fast_and_leaves_the_stage_not_done(tiny_run):
    params = yaml.safe_load((tiny_run / "params.yaml").read_text())
    params["runs"]["Hybrid-All"]["space"] = "Hybrid-Foo"
    (tiny_run / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    t0 = time.perf_counter()
    result = _dvc(tiny_run, "repro", "pretrain@Hybrid-All", check=False)
    assert result.returncode != 0
    assert time.perf_counter() - t0 < 60
    assert "pretrain.space='Hybrid-Foo' is not valid; valid values: OnlyConv" in result.stdout + result.stderr
    status = _dvc(tiny_run, "status")
    assert "pretrain@Hybrid-All" in status.stdout
