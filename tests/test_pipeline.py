"""The DVC pipeline: the tiny profile run end to end through the very same dvc.yaml and notebooks
(papermill), with every file each stage opens traced, and what that run shows:

* the metrics files it writes, and that a forced rerun reproduces them byte for byte;
* ``dvc.yaml``'s dependencies match the code: every file a stage imports or reads is a declared
  dependency (or its own output), every file it writes a declared output, and its ``params:`` are
  exactly what its stage module declares;
* editing the data code marks every training stage changed;
* a run removed from ``runs`` disappears from hw_mapping and the report;
* seeds are a dimension of the pipeline: adding a seed adds that seed's stages and touches no
  stage of another seed;
* a missing, unknown or bad parameter fails ``dvc repro`` at the first stage in seconds, in one
  line, and DVC records nothing.
"""
import importlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nasa_lib.stages.profile import apply_profile
from nasa_lib.stages.workspace import copy_repository

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
TRAINING = ("pretrain", "search", "retrain", "retrain_baseline")
# matrix stages: how many "-<value>" fields follow the run's name in the stage name
MATRIX_SUFFIXES = {"pretrain": 1, "search": 1, "retrain": 1, "retrain_baseline": 1, "sweep": 2, "random_arch": 1}


def _dvc(cwd, *args, check=True, env=None):
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1", **(env or {})}
    return subprocess.run([str(BIN / "dvc"), *args], cwd=cwd, env=env, capture_output=True, text=True, check=check)


needs_pipeline = pytest.mark.skipif(not (BIN / "dvc").exists() or not (BIN / "papermill").exists(),
                                    reason="the pipeline extras (dvc, papermill) are not installed")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    from nasa_lib.data import materialize_mnist5k
    root = tmp_path_factory.mktemp("tiny")
    copy_repository(REPO, root)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    apply_profile("tiny", root)
    materialize_mnist5k(root / "data" / "mnist5k")
    trace = root.parent / f"{root.name}-trace"
    result = _dvc(root, "repro", check=False, env={"NASA_LIB_TRACE_DIR": str(trace)})
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return root


@needs_pipeline
def test_tiny_profile_runs_end_to_end_and_writes_metrics(tiny_run):
    metrics = tiny_run / "reports" / "metrics"
    data = json.loads((metrics / "data.json").read_text())
    assert data["sizes"]["train"] == 96 and data["sizes"]["weight"] + data["sizes"]["arch"] == 96
    params = yaml.safe_load((tiny_run / "params.yaml").read_text())
    pre = json.loads((metrics / "pretrain" / "Hybrid-All" / "seed0.json").read_text())
    assert [h["phase"] for h in pre["history"]] == ["mult", "adder", "mixed"] and pre["seed"] == 0
    assert all(len(h["eval_kinds"]) > 0 and 0 <= h["val_acc_paths_min"] <= h["val_acc"] <= h["val_acc_paths_max"]
               for h in pre["history"])
    search = json.loads((metrics / "search" / "Hybrid-All" / "seed0.json").read_text())
    arch = json.loads((tiny_run / "artifacts" / "search" / "Hybrid-All" / "seed0" / "arch.json").read_text())
    assert search["arch"] == arch["arch"] and search["derived_cost"] > 0
    for run in ("Hybrid-All", "all-conv"):
        r = json.loads((metrics / "retrain" / run / "seed0.json").read_text())
        assert len(r["history"]) == params["retrain"]["epochs"] and r["test_acc"] == pytest.approx(r["test_acc"])
        assert r["params"] > 0 and r["mult_ops"] > 0
        specs = json.loads((tiny_run / "artifacts" / "retrain" / run / "seed0" / "layer_specs.json").read_text())
        assert specs[0]["name"] == "stem" and specs[-1]["name"] == "classifier"
    assert (tiny_run / "reports" / "executed" / "retrain@all-conv-0.html").stat().st_size > 10_000
    assert (tiny_run / "reports" / "figures" / "search_Hybrid-All_seed0.png").exists()
    # DVCLive's per-epoch logs: a row per epoch, no wall-clock column
    live = tiny_run / "reports" / "dvclive"
    rows = (live / "retrain" / "all-conv" / "seed0" / "plots" / "metrics" / "train_loss.tsv").read_text().splitlines()
    assert rows[0] == "step\ttrain_loss" and len(rows) == 1 + params["retrain"]["epochs"]
    assert json.loads((live / "pretrain" / "Hybrid-All" / "seed0" / "metrics.json").read_text())["step"] \
        == params["pretrain"]["epochs"]
    assert not any("timestamp" in f.read_text() for f in live.rglob("*.tsv"))
    # the cost-weight sweep (search + retrain at another weight) and a random network in the cost band
    sweep = json.loads((metrics / "sweep" / "Hybrid-All" / "hw0.0" / "seed0.json").read_text())
    assert sweep["hw_weight"] == 0.0 and len(sweep["retrain_history"]) == params["retrain"]["epochs"]
    drawn = json.loads((metrics / "random" / "Hybrid-All" / "draw0.json").read_text())
    assert abs(drawn["cost"] / drawn["target_cost"] - 1) <= drawn["tolerance"]
    assert drawn["target_cost"] == pytest.approx(search["derived_cost"])
    # DANCE: data set -> evaluator -> co-exploration with its baselines, then the report
    dance = metrics / "dance"
    dataset = json.loads((dance / "dataset_chunk.json").read_text())
    assert dataset["space"] == "Hybrid-All" and sum(dataset["rows_per_split"].values()) == dataset["rows"] > 0
    evaluator = json.loads((dance / "evaluator_chunk.json").read_text())
    assert set(evaluator["mape_percent"]["test"]) == {"latency_ms", "energy_uj", "area_mm2"}
    co = json.loads((dance / "coexplore_chunk.json").read_text())
    assert {r["method"] for r in co["runs"]} == {"coexplore", "sequential", "evolutionary", "plain+hw"}
    evo = next(r for r in co["runs"] if r["method"] == "evolutionary")       # its budget: the tiny profile's
    assert evo["evolution"]["evaluations"] == params["dance"]["evolution_evaluations"] and "matched" in evo
    assert all(r["edap"] > 0 for r in co["runs"])
    assert "seconds" not in json.dumps(co)          # wall times live in reports/timing, not in metrics
    # every finished stage removed its checkpoints (DANCE's co-exploration its per-run folders too)
    ckpt_root = tiny_run / params["common"]["checkpoint_root"]
    assert not ckpt_root.exists() or sorted(ckpt_root.rglob("*")) == []
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
    set, evaluator and results) and the report: byte for byte.  Wall times live elsewhere.  The
    rerun goes through ``make repro``'s runner, two stages at a time and with kernels forked from
    its zygote, so this also shows that running stages side by side, in forked kernels, changes no
    byte of what ``dvc repro`` wrote (fresh kernels, one stage at a time), and that the runner
    leaves DVC's records up to date."""
    def outputs():
        files = [*(tiny_run / "reports" / "metrics").rglob("*.json"), *(tiny_run / "artifacts").rglob("*"),
                 *(tiny_run / "reports" / "dvclive").rglob("*"),
                 *(tiny_run / "reports" / name for name in ("REPORT.md", "REPORT.html", "REPORT_claims.json"))]
        return {p: p.read_bytes() for p in files if p.is_file()}
    before = outputs()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    rerun = subprocess.run([sys.executable, "-m", "nasa_lib.stages.repro", "--force", "--jobs", "2"], cwd=tiny_run,
                           env=env, capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stdout[-3000:] + rerun.stderr[-3000:]
    # the runner forks the stages' kernels from its zygote (nasa_lib/stages/kernel_fork.py); only a
    # stage started while the zygote was still importing gets a fresh one
    logs = [p.read_text() for p in (tiny_run / ".dvc" / "tmp" / "repro_logs").glob("*.log")]
    fresh = [log for log in logs if "(a fresh kernel" in log]
    assert len(logs) >= 10 and len(fresh) <= len(logs) // 2, [log.splitlines()[0] for log in fresh]
    after = outputs()
    assert sorted(before) == sorted(after)
    assert [p for p in before if before[p] != after[p]] == []
    assert json.loads(_dvc(tiny_run, "status", "--json").stdout) == {}


def _stages(root: Path) -> dict:
    """stage name -> (declared dependency paths, output paths, params keys), as DVC resolves them."""
    from dvc.dependency.param import ParamsDependency
    from dvc.repo import Repo
    out = {}
    with Repo(str(root)) as repo:
        for stage in repo.index.stages:
            if not getattr(stage, "cmd", None):
                continue
            rel = lambda o: os.path.relpath(o.fs_path, root)        # noqa: E731
            params = {k for d in stage.deps if isinstance(d, ParamsDependency) for k in d.params}
            out[stage.name] = ({rel(d) for d in stage.deps if not isinstance(d, ParamsDependency)},
                                     {rel(o) for o in stage.outs}, params)
    return out


def _covered(path: str, declared: set) -> bool:
    return any(path == d or path.startswith(d.rstrip("/") + "/") for d in declared)


def _source_of(path: str) -> str:
    """``pkg/__pycache__/mod.cpython-311.pyc`` -> ``pkg/mod.py``: an import read the module."""
    parts = Path(path).parts
    if len(parts) > 1 and parts[-2] == "__pycache__":
        return str(Path(*parts[:-2], parts[-1].split(".")[0] + ".py"))
    return path


@needs_pipeline
def test_declared_dependencies_cover_every_file_each_stage_imports_reads_and_writes(tiny_run):
    """The trace of the tiny run (nasa_lib._trace): a stage reading a file DVC does not know about
    would stay "up to date" when that file changes -- the one thing a reproducible suite must never
    allow.  Also: each stage's ``params:`` are exactly its module's STAGE_PARAMS."""
    stages = _stages(tiny_run)
    trace_dir = tiny_run.parent / f"{tiny_run.name}-trace"
    traced = {p.stem: p.read_text().splitlines() for p in trace_dir.glob("*.txt")}
    names = {name.replace("retrain_baseline@", "retrain@"): name for name in stages}
    assert set(traced) == set(names), (sorted(traced), sorted(names))
    problems = []
    for stem, lines in traced.items():
        deps, outs, _ = stages[names[stem]]
        ckpt = yaml.safe_load((tiny_run / "params.yaml").read_text())["common"]["checkpoint_root"]
        for line in lines:
            kind, path = line.split(" ", 1)
            path = _source_of(path)
            if path.endswith(".tmp"):
                path = path[:-4]
            full = tiny_run / path
            if path == "nasa_lib/_trace.py" or path.startswith(ckpt + "/") or path == ckpt \
                    or (full.exists() and full.is_dir()) or path.startswith("__editable__"):
                continue
            # the audit hook sees every open attempt, also of files that are not there: the kernel
            # looking up a compiled (Cython) module's source by its relative name, e.g.
            # "zmq/backend/cython/_zmq.py", now and then while formatting a traceback (CI, once);
            # an open that found no file read nothing
            if kind == "r" and not full.exists():
                continue
            if kind == "r" and not (path == "params.yaml" or _covered(path, deps) or _covered(path, outs)):
                problems.append(f"{names[stem]} reads {path}, not a declared dependency")
            if kind == "w" and not _covered(path, outs):
                problems.append(f"{names[stem]} writes {path}, not a declared output")
    problems = sorted(set(problems))
    assert problems == [], "\n".join(problems)
    for name, (_, _, params) in stages.items():
        stage, _, run = name.partition("@")
        if stage in MATRIX_SUFFIXES:
            run = run.rsplit("-", MATRIX_SUFFIXES[stage])[0]
        module = importlib.import_module(f"nasa_lib.stages.{stage.replace('retrain_baseline', 'retrain')}")
        if stage == "retrain_baseline":
            want = set(module.declared(run, baseline=True))
        elif run:
            want = set(module.declared(run))
        else:
            want = set(module.STAGE_PARAMS)
        assert params == want, name


@needs_pipeline
def test_every_stage_output_path_is_the_one_the_stage_module_writes(tiny_run):
    from nasa_lib.stages import paths
    stages = _stages(tiny_run)

    def live(folder):       # a DVCLive folder's summary (an out) and per-epoch TSVs (a plots folder)
        return f"{folder}/{paths.DVCLIVE_SUMMARY}", f"{folder}/{paths.DVCLIVE_PLOTS}"
    assert set(live(paths.dvclive("pretrain", "Hybrid-All", 0))) <= stages["pretrain@Hybrid-All-0"][1]
    assert set(live(paths.dvclive("search", "Hybrid-All", 0))) <= stages["search@Hybrid-All-0"][1]
    assert {*live(paths.sweep_dvclive("Hybrid-All", 0.0, 0, "search")),
            *live(paths.sweep_dvclive("Hybrid-All", 0.0, 0, "retrain"))} <= stages["sweep@Hybrid-All-0.0-0"][1]
    assert set(live(paths.random_dvclive("Hybrid-All", 0))) <= stages["random_arch@Hybrid-All-0"][1]
    assert set(live(paths.dance_dvclive("chunk"))) <= stages["dance_evaluator@chunk"][1]
    for run in ("Hybrid-All", "all-conv"):
        stage = "retrain@Hybrid-All-0" if run == "Hybrid-All" else "retrain_baseline@all-conv-0"
        assert {paths.model(run, 0), paths.layer_specs(run, 0), paths.retrain_metrics(run, 0),
                *live(paths.dvclive("retrain", run, 0))} <= stages[stage][1]
    assert {paths.supernet("Hybrid-All", 0), paths.pretrain_metrics("Hybrid-All", 0)} <= stages["pretrain@Hybrid-All-0"][1]
    assert {paths.arch("Hybrid-All", 0), paths.alpha_history("Hybrid-All", 0), *paths.search_figures("Hybrid-All", 0)} \
        <= stages["search@Hybrid-All-0"][1]
    assert {paths.sweep_arch("Hybrid-All", 0.0, 0), paths.sweep_metrics("Hybrid-All", 0.0, 0)} \
        <= stages["sweep@Hybrid-All-0.0-0"][1]
    assert paths.random_metrics("Hybrid-All", 0) in stages["random_arch@Hybrid-All-0"][1]
    assert {paths.SPLITS, paths.DATA_METRICS, paths.DATA_FIGURE} <= stages["data"][1]
    assert {paths.HW_METRICS, *paths.HW_FIGURES.values()} <= stages["hw_mapping"][1]
    for kind in ("dataset", "evaluator", "coexplore"):
        assert {paths.dance_metrics(kind, "chunk"), paths.dance_figure(kind, "chunk")} \
            <= stages[f"dance_{kind}@chunk"][1]


@needs_pipeline
def test_editing_the_data_code_marks_every_training_stage_changed(tiny_run):
    target = tiny_run / "nasa_lib" / "data" / "transforms.py"
    original = target.read_text()
    try:
        target.write_text(original + "\n# an edit\n")
        status = _dvc(tiny_run, "status", "--json").stdout
        changed = set(json.loads(status))
    finally:
        target.write_text(original)
    want = {"pretrain@Hybrid-All-0", "search@Hybrid-All-0", "retrain@Hybrid-All-0", "retrain_baseline@all-conv-0",
            "sweep@Hybrid-All-0.0-0", "random_arch@Hybrid-All-0", "dance_coexplore@chunk", "data"}
    assert want <= changed, sorted(changed)
    assert not {"hw_mapping", "dance_evaluator@chunk"} & changed     # they import no data code
    assert json.loads(_dvc(tiny_run, "status", "--json").stdout) == {}


@needs_pipeline
def test_a_run_removed_from_runs_disappears_from_hw_mapping_and_the_report(tiny_run, tmp_path, monkeypatch):
    """Outputs of a run named "Ghost" stay on disk (as DVC leaves them when a run is removed from
    ``runs``); the hw_mapping and report stages read params' lists, so Ghost is in neither -- and
    is in both once listed."""
    from nasa_lib.stages import hw_mapping, paths, report
    for sub in ("reports", "artifacts"):
        shutil.copytree(tiny_run / sub, tmp_path / sub)
    shutil.copy(tiny_run / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)
    ghost = json.loads(Path(paths.retrain_metrics("Hybrid-All", 0)).read_text()) | {"run": "Ghost"}
    Path(paths.retrain_metrics("Ghost", 0)).parent.mkdir(parents=True)
    Path(paths.retrain_metrics("Ghost", 0)).write_text(json.dumps(ghost))
    Path(paths.layer_specs("Ghost", 0)).parent.mkdir(parents=True)
    shutil.copy(paths.layer_specs("Hybrid-All", 0), paths.layer_specs("Ghost", 0))
    shutil.copy(paths.model("Hybrid-All", 0), paths.model("Ghost", 0))
    for name in (paths.pretrain_metrics, paths.search_metrics, paths.alpha_history):
        Path(name("Ghost", 0)).parent.mkdir(parents=True, exist_ok=True)
        doc = json.loads(Path(name("Hybrid-All", 0)).read_text())
        Path(name("Ghost", 0)).write_text(json.dumps(doc | {"run": "Ghost"} if "run" in doc else doc))

    def networks_in_outputs():
        rows = hw_mapping.run(hw_mapping.load())["rows"]
        report.run(report.load())
        return {r["network"] for r in rows}, "Ghost" in Path("reports/REPORT.md").read_text()

    assert networks_in_outputs() == ({"Hybrid-All", "all-conv"}, False)
    doc = yaml.safe_load(Path("params.yaml").read_text())
    doc["runs"]["Ghost"] = {"space": "Hybrid-All", "pgp": True}
    Path("params.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    assert networks_in_outputs() == ({"Hybrid-All", "all-conv", "Ghost"}, True)


@needs_pipeline
def test_seeds_are_a_pipeline_dimension_adding_one_touches_no_other_seed(tiny_run):
    """Adding a seed to ``seeds`` adds that seed's training stages (which ``dvc repro
    pretrain@Hybrid-All-1`` can run alone) and reruns only what aggregates over seeds (hw_mapping,
    the report, and the data stage that checks every value); no stage of seed 0 changes."""
    params_file = tiny_run / "params.yaml"
    original = params_file.read_text()
    doc = yaml.safe_load(original)
    doc["seeds"] = [0, 1]
    try:
        params_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        stages = _stages(tiny_run)
        status = json.loads(_dvc(tiny_run, "status", "--json").stdout)
    finally:
        params_file.write_text(original)
    seed1 = {n for n in stages if n.split("@")[0] in MATRIX_SUFFIXES and n.endswith("-1")
             and not n.startswith("random_arch")}
    assert seed1 == {"pretrain@Hybrid-All-1", "search@Hybrid-All-1", "retrain@Hybrid-All-1",
                     "retrain_baseline@all-conv-1", "sweep@Hybrid-All-0.0-1"}
    assert set(status) == seed1 | {"data", "hw_mapping", "report"}, sorted(status)
    # the new stages depend on their own seed's files only
    assert "artifacts/pretrain/Hybrid-All/seed1/supernet.pt" in stages["search@Hybrid-All-1"][0]
    assert not any("seed0" in d for d in stages["search@Hybrid-All-1"][0])
    assert json.loads(_dvc(tiny_run, "status", "--json").stdout) == {}


@needs_pipeline
@pytest.mark.parametrize("change,message", [
    (lambda d: d["runs"]["Hybrid-All"].update(space="Hybrid-Foo"),
     "runs.Hybrid-All.space='Hybrid-Foo' is not valid; valid values: OnlyConv"),
    (lambda d: d["search"].update(mode="medium"), "search.mode='medium' is not valid; valid values: soft, hard"),
    (lambda d: d["search"].pop("arch_lr"), "search.arch_lr is missing from params.yaml"),
    (lambda d: d["dance"].update(lambdass="1"), "dance.lambdass is not a parameter; valid keys of dance:"),
])
def test_bad_params_fail_dvc_repro_at_the_first_stage_and_dvc_records_nothing(tiny_run, change, message):
    params_file = tiny_run / "params.yaml"
    original, lock = params_file.read_text(), (tiny_run / "dvc.lock").read_bytes()
    doc = yaml.safe_load(original)
    change(doc)
    try:
        params_file.write_text(yaml.safe_dump(doc, sort_keys=False))
        t0 = time.perf_counter()
        result = _dvc(tiny_run, "repro", check=False)
        elapsed = time.perf_counter() - t0
    finally:
        params_file.write_text(original)
    assert result.returncode != 0
    assert elapsed < 90
    assert message in result.stdout + result.stderr
    assert "Running stage 'data'" in result.stdout and "Running stage 'pretrain" not in result.stdout
    assert (tiny_run / "dvc.lock").read_bytes() == lock


@needs_pipeline
def test_dvc_experiments_on_the_tiny_profile_run_queue_show_and_diff(tiny_run):
    """The experiment workflow the README documents, on the tiny run committed as a baseline:
    `dvc exp run -S` in the workspace, two `dvc exp run --queue -S` run by `dvc queue start`,
    `dvc exp show` listing each with its params and headline metrics, `dvc plots diff` between two.
    Each experiment changes a report parameter only, so it reruns the seconds-long data check and
    the report, and takes every training output from DVC's cache."""
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    _dvc(tiny_run, "commit", "-f", "-q", "data.dvc")          # the data set into the cache: experiments check it out
    git = lambda *a: subprocess.run(["git", *a], cwd=tiny_run, env={**os.environ, **env}, check=True,
                                    capture_output=True, text=True)
    git("add", "-A")
    git("commit", "-qm", "tiny baseline")
    _dvc(tiny_run, "exp", "run", "-q", "-n", "spread-3", "-S", "report.spread_multiple=3.0", env=env)
    for name, value in (("spread-1", "1.0"), ("spread-4", "4.0")):
        _dvc(tiny_run, "exp", "run", "--queue", "-q", "-n", name, "-S", f"report.spread_multiple={value}", env=env)
    _dvc(tiny_run, "queue", "start", "-j", "1", env=env)
    deadline = time.time() + 600
    while time.time() < deadline:
        status = _dvc(tiny_run, "queue", "status", env=env).stdout
        if "Queued" not in status and "Running" not in status:
            break
        time.sleep(5)
    assert "Failed" not in status, status + _dvc(tiny_run, "queue", "logs", "spread-1", check=False).stdout[-3000:]
    shown = json.loads(_dvc(tiny_run, "exp", "show", "--json", env=env).stdout)
    exps = {e["name"]: e for rev in shown for e in (rev.get("experiments") or []) for e in e["revs"]}
    assert {"spread-3", "spread-1", "spread-4"} <= set(exps)
    for name, value in (("spread-3", 3.0), ("spread-1", 1.0), ("spread-4", 4.0)):
        data = exps[name]["data"]
        assert data["params"]["params.yaml"]["data"]["report"]["spread_multiple"] == value
        headline = data["metrics"]["reports/headline_metrics.json"]["data"]
        assert set(headline["networks"]) >= {"Hybrid-All", "all-conv"} and headline["claims"]
    diff = json.loads(_dvc(tiny_run, "plots", "diff", "spread-1", "spread-4", "--json", env=env).stdout)["data"]
    curves = [p for p in diff if p.startswith("reports/dvclive/")]
    for stage in ("pretrain", "search", "retrain", "dance_evaluator"):    # the training curves ...
        assert any(p.startswith(f"reports/dvclive/{stage}/") for p in curves), stage
    val_acc = diff["reports/dvclive/pretrain/Hybrid-All/seed0/plots/metrics/val_acc.tsv"][0]
    assert val_acc["revisions"] == ["spread-1", "spread-4"]                # ... of both experiments
    assert {v["rev"] for v in val_acc["content"]["data"]["values"]} == {"spread-1", "spread-4"}
