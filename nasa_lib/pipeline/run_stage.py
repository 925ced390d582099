"""The child script of :func:`nasa_lib.pipeline.launch.launch`: runs one training stage from a job
file under Lightning's standard DDP launcher (which re-runs this command once per device); rank 0
pickles what the stage returned for the notebook.  Not imported by the package, so ``python -m``
runs it cleanly."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import torch


def _detach(obj):
    """The module (or tuple holding it) without its trainer, on the CPU, ready to pickle."""
    if isinstance(obj, tuple):
        return tuple(_detach(o) for o in obj)
    if isinstance(obj, torch.nn.Module):
        obj._trainer = None
        return obj.cpu()
    return obj


def main(argv: list[str] | None = None) -> int:
    from . import stages
    job = json.loads(Path((argv or sys.argv[1:])[0]).read_text())
    run = {"pretrain": stages.run_pretrain, "search": stages.run_search, "retrain": stages.run_retrain}[job["stage"]]
    out = run(job["cfg"], *job["args"])
    if int(os.environ.get("LOCAL_RANK", "0")) == 0:
        torch.save(_detach(out), job["result"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
