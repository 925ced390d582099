"""A scratch workspace in which a benchmark runs the pipeline's own stage modules on a variant of a
checkout's ``params.yaml`` (used by ``search_arch_lr.py`` and ``pgp_adder_phase.py``)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import yaml


def enter(root: Path, name: str, sets: list[str], links: tuple[str, ...] = ("data",)) -> Path:
    """Make ``root/scratch/cfg/name`` with ``links`` (paths relative to ``root``) symlinked from ``root``
    and ``root``'s params.yaml with the ``section.key=value`` overrides in ``sets`` (checkpoints kept in
    the workspace), change into it and put ``root`` first on ``sys.path`` so that its ``nasa_lib`` is the
    one measured.  Returns the workspace."""
    work = root / "scratch" / "cfg" / name
    work.mkdir(parents=True, exist_ok=True)
    for link in links:
        (work / link).parent.mkdir(parents=True, exist_ok=True)
        if not (work / link).exists():
            os.symlink(root / link, work / link)
    params = yaml.safe_load((root / "params.yaml").read_text())
    for item in sets:
        key, value = item.split("=", 1)
        section, field = key.split(".")
        params[section][field] = yaml.safe_load(value)
    params["common"]["checkpoint_root"] = str(work / "ckpt")
    (work / "params.yaml").write_text(yaml.safe_dump(params))
    os.chdir(work)
    sys.path.insert(0, str(root))
    return work
