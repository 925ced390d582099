"""The stage kernel's quick exit (nasa_lib/_kernel_exit.py): the exit handlers registered after it
(the libraries' own) still run, logging is flushed, and the interpreter's teardown is skipped."""
from __future__ import annotations

import subprocess
import sys

SCRIPT = r"""
import atexit, logging, logging.handlers, sys
from nasa_lib._kernel_exit import install
out = sys.argv[1]
install()
class Teardown:                    # finalised only by the interpreter's teardown
    def __del__(self, out=out, open=open):
        open(out + ".teardown", "w").write("ran")
keep = Teardown()
atexit.register(lambda: open(out + ".later", "w").write("ran"))   # registered after: runs first
target = logging.FileHandler(out + ".log")
handler = logging.handlers.MemoryHandler(100, target=target)      # holds records until logging's shutdown
logging.getLogger("stage").addHandler(handler)
logging.getLogger("stage").warning("last line")
"""


def test_quick_exit_runs_later_handlers_and_flushes_logging_but_skips_teardown(tmp_path):
    out = tmp_path / "marker"
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "marker.later").read_text() == "ran"
    assert (tmp_path / "marker.log").read_text() == "last line\n"
    assert not (tmp_path / "marker.teardown").exists()


def test_without_it_the_teardown_runs(tmp_path):
    """The control: the same script without install() finalises the object."""
    out = tmp_path / "marker"
    script = SCRIPT.replace("install()\n", "")
    done = subprocess.run([sys.executable, "-c", script, str(out)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "marker.teardown").read_text() == "ran"
