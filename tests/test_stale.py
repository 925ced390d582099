"""The committed results' staleness check (``python -m nasa_lib.stages.stale``, run first by CI):
seconds, no stage rerun."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from nasa_lib.stages.workspace import copy_repository

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
pytestmark = pytest.mark.skipif(not (BIN / "dvc").exists(), reason="the pipeline extras (dvc) are not installed")

DVC_YAML = """
stages:
  build:
    cmd: cat pkg/a.py > a.txt
    deps: [pkg]
    params: [value]
    outs: [a.txt]
  summary:
    cmd: cat a.txt > summary.txt
    deps: [a.txt]
    outs:
      - summary.txt:
          cache: false
"""


def _check(root: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1"}
    return subprocess.run([sys.executable, "-m", "nasa_lib.stages.stale", "--root", str(root)], cwd=root, env=env,
                          capture_output=True, text=True)


@pytest.fixture
def committed(tmp_path):
    """A project whose results were produced and committed as this repository commits them: the
    cached output and the cache are absent (a fresh clone), the uncached one is there."""
    root = tmp_path / "p"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "a.py").write_text("x = 1\n")
    (root / "params.yaml").write_text("value: 1\n")
    (root / "dvc.yaml").write_text(DVC_YAML)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=root, check=True)
    (root / ".dvcignore").write_text((REPO / ".dvcignore").read_text())       # the repository's own rules
    subprocess.run([str(BIN / "dvc"), "repro", "-q"], cwd=root, check=True, env={**os.environ, "DVC_NO_ANALYTICS": "1"})
    (root / "a.txt").unlink()
    subprocess.run(["rm", "-rf", str(root / ".dvc" / "cache")], check=True)
    return root


def test_a_fresh_clone_of_up_to_date_results_passes(committed):
    result = _check(committed)
    assert result.returncode == 0, result.stderr


def test_bytecode_beside_the_sources_is_not_a_change(committed):
    """Running the tests writes __pycache__ into the package folders stages depend on."""
    (committed / "pkg" / "__pycache__").mkdir()
    (committed / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"\x00bytecode")
    result = _check(committed)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize("edit, names", [
    (lambda r: (r / "pkg" / "a.py").write_text("x = 2\n"), "stage 'build' differ"),
    (lambda r: (r / "params.yaml").write_text("value: 2\n"), "stage 'build' differ"),
    (lambda r: (r / "summary.txt").write_text("edited by hand\n"), "stage 'summary' differ"),
])
def test_a_changed_source_param_or_committed_output_fails_in_one_line(committed, edit, names):
    edit(committed)
    result = _check(committed)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"stale results: {names}")
    assert lines[0].endswith("run `make repro` and commit dvc.lock and reports/")


@pytest.mark.skipif(not (REPO / "dvc.lock").exists(), reason="no committed results (dvc.lock) in this checkout")
def test_editing_a_library_file_makes_every_stage_that_imports_it_stale(tmp_path):
    """On this repository: after a change to nasa_lib/io.py every stage depending on it (all of
    them, through the file or the whole package) is reported, naming the file."""
    from nasa_lib.stages.stale import stale_stages
    import yaml
    root = copy_repository(REPO, tmp_path / "repo", with_lock=True)
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    with open(root / "nasa_lib" / "io.py", "a") as f:
        f.write("# an edit\n")
    found = stale_stages(str(root))
    lock = yaml.safe_load((root / "dvc.lock").read_text())["stages"]
    importing = {name for name, entry in lock.items()
                 if any(d["path"] in ("nasa_lib", "nasa_lib/io.py") for d in entry.get("deps", []))}
    assert importing and importing <= set(found)
    for name in importing:
        assert any(r in ("nasa_lib modified", "nasa_lib/io.py modified") for r in found[name]), found[name]
    result = _check(root)
    assert result.returncode == 1 and len(result.stderr.strip().splitlines()) == 1
