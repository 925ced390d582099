"""``python -m nasa_lib.stages.repro``: dvc repro with several stages at a time, on a small DVC
project of shell stages (seconds).  The tiny profile's forced rerun through it is in test_pipeline.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (BIN / "dvc").exists(), reason="the pipeline extras (dvc) are not installed")

# b and c each wait (up to 20 s) for the other to have started: with --jobs 2 both finish, with
# --jobs 1 the first of them gives up and fails -- concurrency shown without timing anything.
WAIT = "for i in $(seq 200); do test -e {other}.started && break; sleep 0.1; done; test -e {other}.started"
DVC_YAML = f"""
stages:
  a:
    cmd: echo ${{value}} > a.txt
    params: [value]
    outs: [a.txt]
  b:
    cmd: touch b.started && {WAIT.format(other="c")} && cat a.txt a.txt > b.txt
    deps: [a.txt]
    outs: [b.txt]
  c:
    cmd: touch c.started && {WAIT.format(other="b")} && cat a.txt > c.txt && test "$(cat a.txt)" != fail
    deps: [a.txt]
    outs: [c.txt]
  d:
    cmd: cat b.txt c.txt > d.txt
    deps: [b.txt, c.txt]
    outs: [d.txt]
"""


def _project(root: Path, value: str = "one") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=root, check=True)
    (root / "dvc.yaml").write_text(DVC_YAML)
    (root / "params.yaml").write_text(f"value: {value}\n")
    return root


def _runner(root: Path, *args) -> subprocess.CompletedProcess:
    for marker in root.glob("*.started"):
        marker.unlink()
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    return subprocess.run([sys.executable, "-m", "nasa_lib.stages.repro", "--root", str(root), *args],
                          cwd=root, env=env, capture_output=True, text=True)


def _status(root: Path) -> dict:
    out = subprocess.run([str(BIN / "dvc"), "status", "--json"], cwd=root, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_two_jobs_run_independent_stages_at_once_and_leave_dvc_up_to_date(tmp_path):
    root = _project(tmp_path / "p")
    result = _runner(root, "--jobs", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (root / "d.txt").read_text() == "one\none\none\n"
    assert _status(root) == {}                       # dvc.lock records every stage as DVC would
    again = _runner(root, "--jobs", "2")             # nothing changed: nothing runs
    assert again.returncode == 0 and "0 stage(s) run" in again.stdout


def test_one_job_runs_one_stage_at_a_time(tmp_path):
    root = _project(tmp_path / "p")
    result = _runner(root, "--jobs", "1")            # b waits for c, which cannot start: b fails
    assert result.returncode == 1
    assert "FAILED" in result.stdout and "not run: d" in result.stdout


def test_the_lock_matches_dvc_repro(tmp_path):
    ours, theirs = _project(tmp_path / "ours"), _project(tmp_path / "theirs")
    assert _runner(ours, "--jobs", "2").returncode == 0
    # dvc repro runs b and c one after the other, so their mutual wait is bypassed by pre-made markers
    (theirs / "b.started").touch(), (theirs / "c.started").touch()
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    subprocess.run([str(BIN / "dvc"), "repro", "-q"], cwd=theirs, env=env, check=True)
    assert (ours / "dvc.lock").read_text() == (theirs / "dvc.lock").read_text()


def test_a_failed_stage_blocks_only_its_downstream_and_is_not_recorded(tmp_path):
    root = _project(tmp_path / "p")
    assert _runner(root, "--jobs", "2").returncode == 0
    (root / "params.yaml").write_text("value: fail\n")
    result = _runner(root, "--jobs", "2")
    assert result.returncode == 1
    assert "c: FAILED" in result.stdout and "not run: d" in result.stdout
    status = _status(root)
    assert set(status) == {"c", "d"}                  # a and b ran and were recorded; c and d were not
    assert (root / "b.txt").read_text() == "fail\nfail\n"


def test_a_changed_param_reruns_only_what_it_reaches(tmp_path):
    root = _project(tmp_path / "p")
    assert _runner(root, "--jobs", "2").returncode == 0
    lock = (root / "dvc.lock").read_text()
    (root / "params.yaml").write_text("value: one\n# a comment changes no value\n")
    result = _runner(root, "--jobs", "2")
    assert result.returncode == 0 and "0 stage(s) run" in result.stdout
    assert (root / "dvc.lock").read_text() == lock


def test_bad_jobs_value_fails_in_one_line(tmp_path):
    root = _project(tmp_path / "p")
    result = _runner(root, "--jobs", "0")
    assert result.returncode == 2
    assert result.stderr.strip() == "error: --jobs=0 is not valid; it must be an integer >= 1"
