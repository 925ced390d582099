"""Two DDP processes (gloo, CPU) searching the tiny network keep identical architecture parameters."""
import json
import subprocess
import sys
from pathlib import Path


def test_two_ddp_ranks_hold_identical_alphas_after_every_step(tmp_path):
    out = tmp_path / "ddp.json"
    script = Path(__file__).with_name("ddp_search_check.py")
    run = subprocess.run([sys.executable, str(script), str(out)], capture_output=True, text=True, timeout=600,
                         cwd=Path(__file__).resolve().parents[1])
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-4000:]
    report = json.loads(out.read_text())
    assert report["world_size"] == 2 and report["backend"] == "gloo"
    assert len(report["steps"]) == 3
    for step in report["steps"]:
        assert step["max_abs_diff"] == 0.0, step
    assert report["steps"][-1]["changed"] > 0  # the architecture did move


def test_gpu_ddp_path_of_a_notebook_runs_the_stage_as_a_script_and_returns_its_module(tmp_path, monkeypatch):
    """Notebook kernels hand DDP stages to ``python -m nasa_lib.stages.run_stage`` (GPU: NCCL
    state does not survive a fork); the same path on CPUs with gloo.  Every process reads the same
    params.yaml (the tiny profile on the digits set, two devices)."""
    import yaml

    from nasa_lib.data import materialize_digits
    from nasa_lib.stages import paths, pretrain
    from nasa_lib.stages.launch import needs_script_launch
    from nasa_lib.stages.profile import merged_text

    repo = Path(__file__).resolve().parents[1]
    materialize_digits(tmp_path / "digits")
    doc = yaml.safe_load(merged_text("tiny", repo))
    doc["common"].update(devices=2, checkpoint_root=str(tmp_path / "ckpt"))
    doc["data"].update(dataset="digits", data_dir=str(tmp_path / "digits"), subset=64, batch_size=16,
                       eval_batch_size=64, val_fraction=0.2, verify="off")
    doc["network"].update(header_channels=32, stem_stride=1)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    monkeypatch.chdir(tmp_path)                                 # stages run from the repository root
    monkeypatch.setenv("PYTHONPATH", str(repo))
    p = pretrain.load("Hybrid-All")
    monkeypatch.setitem(sys.modules, "ipykernel", sys)          # "inside a kernel"
    monkeypatch.setenv("NASA_LIB_DDP_SCRIPT", "1")
    assert needs_script_launch(p)
    module = pretrain.run(p, "Hybrid-All")
    assert [h["phase"] for h in module.history] == ["mult", "adder", "mixed"]
    assert module._trainer is None and next(module.parameters()).device.type == "cpu"
    metrics = json.loads(Path(paths.pretrain_metrics("Hybrid-All", 0)).read_text())
    assert metrics["history"][-1]["train_loss"] == module.history[-1]["train_loss"]
    assert Path(paths.supernet("Hybrid-All", 0)).exists()
    assert not any((tmp_path / "ckpt").rglob("*.ckpt"))   # a finished stage deletes its checkpoints
