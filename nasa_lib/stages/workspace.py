"""A fresh working copy of the repository for a pipeline run (the tests' tiny profile, the GPU
benchmark): the code, notebooks, params and DVC config, without data, reports, artifacts or
checkpoints, and without the committed results' ``dvc.lock`` (unless asked for), so that ``dvc repro``
there starts from nothing."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SKIPPED = ("data", "reports", "artifacts", "checkpoints")


def copy_repository(source, dest, with_lock: bool = False) -> Path:
    """Copy the tracked and untracked-but-not-ignored files of ``source`` (outside a git checkout:
    everything but the bulky folders) and its ``.dvc`` config into ``dest`` (``dvc.lock`` only
    ``with_lock``: it records the committed results, whose outputs the copy does not have)."""
    source, dest = Path(source), Path(dest)
    skipped_files = () if with_lock else ("dvc.lock",)
    listed = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=source, text=True,
                            capture_output=True)
    if listed.returncode != 0:
        shutil.copytree(source, dest, dirs_exist_ok=True, ignore=shutil.ignore_patterns(
            ".git", ".venv", ".whl", "cache", "tmp", *SKIPPED, *skipped_files))
        return dest
    for rel in listed.stdout.split():
        if rel.startswith(tuple(f"{d}/" for d in SKIPPED)) or rel in skipped_files or not (source / rel).is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source / rel, dest / rel)
    shutil.copytree(source / ".dvc", dest / ".dvc", ignore=shutil.ignore_patterns("cache", "tmp"), dirs_exist_ok=True)
    return dest
