"""Stage kernels forked from the runner's zygote (nasa_lib/stages/kernel_fork.py): a forked kernel
has the zygote's imports and the asking process's environment, working directory and stderr; one
whose start-up environment differs starts fresh; a kernel dies with the process that asked for it.
That forked kernels compute the same bytes as fresh ones: tests/test_pipeline.py (the forced rerun
through the runner)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasa_lib.stages.kernel_fork import ZYGOTE_VARIABLE, Zygote, interpreter_prefix

# The asking process: starts a kernel through ForkedKernelManager (as a stage's notebook process
# does), runs one cell that records what the kernel sees, and then either shuts it down or waits.
ASKER = r"""
import asyncio, json, os, sys
from nasa_lib.stages.kernel_fork import kernel_manager_class
out, cwd, extra, wait = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4] == "wait"
CELL = '''
import json, os, sys
facts = {"torch_already_imported": "torch" in sys.modules, "nasa_lib_already_imported": "nasa_lib" in sys.modules,
         "cwd": os.getcwd(), "path": sys.path, "probe": os.environ.get("NASA_LIB_PROBE"), "pid": os.getpid()}
print("kernel stderr marker", file=sys.__stderr__, flush=True)
_ = open(%r, "w").write(json.dumps(facts))
''' % out

async def main():
    km = kernel_manager_class()(kernel_name="nasa_lib")
    await km.start_kernel(env={**os.environ, **extra}, cwd=cwd)
    client = km.client()
    client.start_channels()
    await client.wait_for_ready(timeout=120)
    await client.execute_interactive(CELL, timeout=120)
    if wait:
        print("ready", flush=True)
        await asyncio.sleep(600)
    client.stop_channels()
    await km.shutdown_kernel(now=True)

asyncio.run(main())
"""


@pytest.fixture(scope="module")
def zygote():
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    try:
        argv = KernelSpecManager().get_kernel_spec("nasa_lib").argv
    except NoSuchKernel:
        pytest.skip("the nasa_lib kernel is not installed (make setup installs it)")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    with Zygote(argv, env) as z:
        deadline = time.monotonic() + 180
        while not os.path.exists(z.socket) and time.monotonic() < deadline:
            assert z.proc.poll() is None, "the zygote ended"
            time.sleep(0.1)
        assert os.path.exists(z.socket), "the zygote did not start listening"
        yield z


def _ask(z, tmp_path, extra: dict, wait: bool = False):
    out = tmp_path / "facts.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", ZYGOTE_VARIABLE: z.socket}
    args = [sys.executable, "-c", ASKER, str(out), str(tmp_path), json.dumps(extra), "wait" if wait else "done"]
    if wait:
        return out, subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(out.read_text()), done.stderr


def test_a_forked_kernel_has_the_zygote_imports_and_the_askers_environment_directory_and_stderr(zygote, tmp_path):
    facts, stderr = _ask(zygote, tmp_path, {"NASA_LIB_PROBE": "seen"})
    assert facts["torch_already_imported"] is True          # forked: PyTorch came with the zygote
    assert facts["nasa_lib_already_imported"] is False      # never imported there: its __init__ runs per kernel
    assert facts["probe"] == "seen" and facts["cwd"] == str(tmp_path)
    assert "kernel stderr marker" in stderr and "a fresh kernel" not in stderr
    fresh, _ = _ask(zygote, tmp_path, {"OMP_NUM_THREADS": "2"})
    assert fresh["torch_already_imported"] is False
    assert facts["path"] == fresh["path"]                   # modules resolve as in a fresh kernel


def test_a_kernel_whose_start_up_environment_differs_starts_fresh(zygote, tmp_path):
    facts, stderr = _ask(zygote, tmp_path, {"OMP_NUM_THREADS": "2"})  # read once, when OpenMP loads
    assert facts["torch_already_imported"] is False
    assert "a fresh kernel: environment differs: OMP_NUM_THREADS" in stderr
    assert facts["probe"] is None and facts["cwd"] == str(tmp_path)


def test_a_forked_kernel_dies_with_the_process_that_asked_for_it(zygote, tmp_path):
    out, asker = _ask(zygote, tmp_path, {}, wait=True)
    try:
        line = asker.stdout.readline().strip()
        if line != "ready":
            asker.kill()
            pytest.fail(f"the asker said {line!r}: {asker.stderr.read()[-3000:]}")
        kernel = json.loads(out.read_text())["pid"]
        os.kill(kernel, 0)                                   # alive
        asker.kill()                                         # SIGKILL: no clean-up of any kind
        asker.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(kernel, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(kernel, signal.SIGKILL)
            pytest.fail("the kernel outlived the process that asked for it")
    finally:
        if asker.poll() is None:
            asker.kill()


def test_a_forked_kernel_ends_on_sigterm_as_a_fresh_one_does(zygote, tmp_path):
    """The zygote's own SIGTERM handler (a clean exit of the zygote) is not the kernel's."""
    out, asker = _ask(zygote, tmp_path, {}, wait=True)
    try:
        line = asker.stdout.readline().strip()
        if line != "ready":
            asker.kill()
            pytest.fail(f"the asker said {line!r}: {asker.stderr.read()[-3000:]}")
        kernel = json.loads(out.read_text())["pid"]
        os.kill(kernel, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(kernel, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            os.kill(kernel, signal.SIGKILL)
            pytest.fail("the kernel outlived SIGTERM")
    finally:
        asker.kill()


def test_interpreter_prefix_is_the_command_before_minus_m_ipykernel_launcher():
    assert interpreter_prefix(["/v/python", "-Xfrozen_modules=off", "-m", "ipykernel_launcher", "-f", "c.json"]) \
        == ["/v/python", "-Xfrozen_modules=off"]
    assert interpreter_prefix(["/v/python", "-m", "other_kernel", "-f", "c.json"]) is None
    assert interpreter_prefix(["/usr/bin/R", "--slave"]) is None


def test_the_runner_stops_its_zygote(tmp_path):
    """No zygote outlives ``Zygote``'s block (the runner's)."""
    z = Zygote([sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"], dict(os.environ))
    with z:
        pid = z.proc.pid
    assert z.proc.poll() is not None and not Path(z.dir).exists()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
