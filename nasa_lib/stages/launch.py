"""Run a training stage as a script, for GPU DDP started from a notebook.

Lightning can only fork its DDP processes from a notebook kernel, and forking a process that
holds NCCL/CUDA state is fragile: on 2 GPUs the forked search stage died with SIGSEGV
(``benchmarks/results/pipeline_gpu_*.json`` record the runs).  So with ``accelerator`` on GPUs and
``devices > 1``, a stage called inside a kernel hands its work to the script :mod:`.run_stage`,
which Lightning's standard launcher re-runs once per GPU; each process reads the same
``params.yaml``, and rank 0 pickles what the stage returned for the notebook::

    python -m nasa_lib.stages.run_stage JOB.json
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from .params import StageParams


def needs_script_launch(p: StageParams) -> bool:
    """True inside a notebook kernel when the stage would run DDP on GPUs."""
    if "ipykernel" not in sys.modules or p.common.devices <= 1 or os.environ.get("LOCAL_RANK"):
        return False
    if os.environ.get("NASA_LIB_DDP_SCRIPT") == "1":     # the same path on CPUs (gloo), for tests
        return True
    import torch
    accelerator = p.common.accelerator
    return accelerator in ("gpu", "cuda") or (accelerator == "auto" and torch.cuda.is_available())


def launch(stage: str, run: str, params_file, seed: int | None = None):
    """Run stage ``stage`` (``pretrain``, ``search``, ``retrain``) of ``run`` in a child script under
    DDP; stream its output; return what the stage returned."""
    import torch
    with tempfile.TemporaryDirectory(prefix=f"nasa_lib_{stage}_") as tmp:
        job, result = Path(tmp) / "job.json", Path(tmp) / "result.pt"
        job.write_text(json.dumps({"stage": stage, "run": run, "seed": seed,
                                   "params_file": str(Path(params_file).resolve()), "result": str(result)}))
        proc = subprocess.Popen([sys.executable, "-m", "nasa_lib.stages.run_stage", str(job)], stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, bufsize=1)
        for line in proc.stdout:          # into the executed notebook, line by line
            print(line, end="", flush=True)
        if proc.wait() != 0:
            raise RuntimeError(f"the {stage} stage's DDP processes failed (exit code {proc.returncode}); "
                               f"their output is above")
        # the result is this process's own child's pickle of a trained module (not a downloaded file)
        return torch.load(result, map_location="cpu", weights_only=False)
