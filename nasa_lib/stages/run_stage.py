"""The child script of :func:`nasa_lib.stages.launch.launch`: runs one training stage from a job
file under Lightning's standard DDP launcher (which re-runs this command once per device); rank 0
pickles what the stage returned for the notebook.  Imported by nothing, so ``python -m`` runs it
cleanly."""
from __future__ import annotations

import json
import os
import sys
from importlib import import_module
from pathlib import Path


def _detach(obj):
    """The module (or tuple holding it) without its trainer, on the CPU, ready to pickle."""
    import torch
    if isinstance(obj, tuple):
        return tuple(_detach(o) for o in obj)
    if isinstance(obj, torch.nn.Module):
        obj._trainer = None
        return obj.cpu()
    return obj


def main(argv: list[str] | None = None) -> int:
    import torch
    job = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    if job["stage"] not in ("pretrain", "search", "retrain"):
        raise SystemExit(f"stage={job['stage']!r} is not a training stage")
    stage = import_module(f"nasa_lib.stages.{job['stage']}")
    out = stage.run(stage.load(job["run"], job["params_file"]), job["run"], job.get("seed"),
                    params_file=job["params_file"])
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        torch.save(_detach(out), job["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
