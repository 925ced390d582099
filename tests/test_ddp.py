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
    """Notebook kernels hand DDP stages to ``python -m nasa_lib.pipeline.run_stage`` (GPU: NCCL
    state does not survive a fork); the same path on CPUs with gloo."""
    from nasa_lib.data import materialize_digits
    from nasa_lib.pipeline import validate
    from nasa_lib.pipeline.launch import launch, needs_script_launch

    materialize_digits(tmp_path / "digits")

    cfg = validate("pretrain", {"run_name": "ddp", "space": "Hybrid-All", "pgp": True, "seed": 0, "num_threads": 1,
                                "accelerator": "cpu", "devices": 2, "dataset": "digits", "data_dir": str(tmp_path / "digits"),
                                "subset": 64, "batch_size": 16, "eval_batch_size": 64, "num_workers": 0,
                                "val_fraction": 0.2, "test_fraction": 0.2, "width_mult": 0.25, "depth_mult": 0.25,
                                "header_channels": 32, "stem_stride": 1, "adder_free_ends": 1, "epochs": 3,
                                "mult_epochs": 1, "adder_epochs": 1, "n_paths": 1, "lr": 0.05,
                                "full_width_fraction": 0.5, "weight_decay": 1e-4, "shift_mode": "q",
                                "sync_batchnorm": True, "precision": "32-true", "limit_train_batches": None,
                                "train_portion": 0.5, "augment": "none", "pad_to": None, "verify": "off",
                                "checkpoint_root": str(tmp_path / "ckpt")})
    monkeypatch.setitem(sys.modules, "ipykernel", sys)          # "inside a kernel"
    monkeypatch.setenv("NASA_LIB_DDP_SCRIPT", "1")
    assert needs_script_launch(cfg)
    monkeypatch.chdir(Path(__file__).resolve().parents[1])
    module = launch("pretrain", cfg, tmp_path / "supernet.pt", tmp_path / "metrics" / "pretrain" / "ddp.json")
    assert [h["phase"] for h in module.history] == ["mult", "adder", "mixed"]
    assert module._trainer is None and next(module.parameters()).device.type == "cpu"
    metrics = json.loads((tmp_path / "metrics" / "pretrain" / "ddp.json").read_text())
    assert metrics["history"][-1]["train_loss"] == module.history[-1]["train_loss"]
    assert (tmp_path / "supernet.pt").exists()
    assert not any((tmp_path / "ckpt").rglob("*.ckpt"))   # a finished stage deletes its checkpoints
