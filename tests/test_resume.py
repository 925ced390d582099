"""A training stage killed for real -- ``dvc repro`` in its own process group, Ctrl-C (SIGINT) or
SIGKILL sent to the whole group in the middle of an epoch after at least one epoch finished --
then ``dvc repro`` again: the stage says in one line from which epoch it resumes, and its metrics
(DVCLive's logs too) and weights are byte-identical to the uninterrupted run's.  Nothing keeps
training after the kill (the kernel dies with its runner), and a finished stage leaves no
checkpoint folder behind."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from nasa_lib.stages import paths
from nasa_lib.stages.profile import apply_profile
from nasa_lib.stages.workspace import copy_repository

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (BIN / "dvc").exists() or not (BIN / "papermill").exists(),
                                reason="the pipeline extras (dvc, papermill) are not installed")

# stage -> (its checkpoint folder under checkpoint_root, its outputs compared byte for byte; a
# folder: every file in it, the DVCLive logs)
STAGES = {
    "retrain_baseline@all-conv-0": ("retrain/all-conv/seed0", [paths.retrain_metrics("all-conv", 0),
                                                               paths.model("all-conv", 0), paths.layer_specs("all-conv", 0),
                                                               paths.dvclive("retrain", "all-conv", 0)]),
    "search@Hybrid-All-0": ("search/Hybrid-All/seed0", [paths.search_metrics("Hybrid-All", 0), paths.arch("Hybrid-All", 0),
                                                        paths.alpha_history("Hybrid-All", 0),
                                                        paths.dvclive("search", "Hybrid-All", 0)]),
}


def _env(root: Path) -> dict:
    return {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
            "PYTHONPATH": str(root)}


def _hashes(root: Path, files) -> dict:
    found = [p for f in files for p in ([root / f] if (root / f).is_file() else sorted((root / f).rglob("*")))]
    assert found, files
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in found if p.is_file()}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """The tiny profile with epochs long enough to be interrupted (1,000 digits, 4 retraining and
    3 search epochs), run once to the end: the reference outputs."""
    from nasa_lib.data import materialize_mnist5k
    root = tmp_path_factory.mktemp("resume")
    copy_repository(REPO, root)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    apply_profile("tiny", root)
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["data"]["subset"] = 1000
    params["retrain"]["epochs"] = 4
    params["search"]["epochs"] = 3
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    materialize_mnist5k(root / "data" / "mnist5k")
    done = subprocess.run([str(BIN / "dvc"), "repro", *STAGES], cwd=root, env=_env(root), capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root


def _ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


# SIGINT-inherited-ignored: dvc starts with SIGINT ignored, as every command started in the
# background of a non-interactive shell does (`dvc repro &` in a script, nohup); a Ctrl-C or
# `kill -INT` must still end the stage (Python keeps an inherited SIG_IGN unless told otherwise).
CASES = [(stage, sig, False) for sig in (signal.SIGINT, signal.SIGKILL) for stage in STAGES]
CASES.append(("retrain_baseline@all-conv-0", signal.SIGINT, True))


@pytest.mark.parametrize("stage,sig,inherited_ignore", CASES,
                         ids=[f"{sig.name}{'-inherited-ignored' if ign else ''}-{stage}" for stage, sig, ign in CASES])
def test_a_killed_stage_resumes_to_the_uninterrupted_result(workspace, stage, sig, inherited_ignore):
    root = workspace
    folder, files = STAGES[stage]
    reference = _hashes(root, files)
    ckpt_root = root / "checkpoints"
    proc = subprocess.Popen([str(BIN / "dvc"), "repro", "--force", "--single-item", stage], cwd=root,
                            env=_env(root), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=_ignore_sigint if inherited_ignore else None)
    ckpt, deadline = None, time.monotonic() + 240
    while ckpt is None and proc.poll() is None and time.monotonic() < deadline:
        found = list(ckpt_root.glob(f"{folder}/*/checkpoints/last.ckpt"))
        ckpt = found[0] if found else None
        time.sleep(0.05)
    assert ckpt is not None, "the first epoch wrote no checkpoint"
    os.killpg(proc.pid, sig)            # the whole group, as a terminal's Ctrl-C or `kill -9 -<pgid>`
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode != 0, out[-3000:]
    if sig == signal.SIGINT:
        line = next(x for x in out.splitlines() if x.startswith("interrupted: "))
        assert stage.replace("retrain_baseline", "retrain") in line and str(ckpt.parent.parent.relative_to(root)) in line
    written = ckpt.stat().st_mtime_ns
    time.sleep(4)                       # longer than an epoch: nothing may still be training
    assert ckpt.stat().st_mtime_ns == written
    assert list(ckpt.parent.glob("*.tmp")) == []

    again = subprocess.run([str(BIN / "dvc"), "repro", "--single-item", stage], cwd=root, env=_env(root),
                           capture_output=True, text=True)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    resumed = [x for x in (again.stdout + again.stderr).splitlines() if x.startswith("resuming ")]
    assert len(resumed) == 1 and resumed[0].startswith(f"resuming {stage} after epoch ")
    assert _hashes(root, files) == reference
    assert not ckpt_root.exists()       # a finished stage removes its folder and the empty ones above
