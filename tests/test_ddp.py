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
