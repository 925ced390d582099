"""Stage kernels forked from one process that has already imported their libraries.

Every stage's Jupyter kernel used to spend about 6 s of its start importing PyTorch, Lightning
(which pulls in ``torch._dynamo`` and TorchMetrics), DVCLive, pandas and matplotlib, the same
modules each time: about 6 minutes of the embedded default's 56 stages.  ``make repro``'s runner
(:mod:`nasa_lib.stages.repro`) starts one **kernel zygote** for the run: a process of the kernel's
own interpreter (the kernel spec's command up to ``-m``) that imports those third-party modules
once -- never ``nasa_lib``, whose import stays in each stage, traced and a declared dependency --
and then forks a child per kernel asked for.  The child takes the asking process's environment,
working directory, stdout and stderr, starts a session of its own (as Jupyter's own launcher
does), and runs ``ipykernel_launcher`` as ``python -m`` would.  The stage's notebook process
(:mod:`nasa_lib.stages.notebook`) asks through :class:`ForkedKernelManager`, whose provisioner
is Jupyter's local one except for how the process starts.

Why the numbers cannot change: a child differs from a fresh kernel only in which modules are
already imported (their import has no effect on any stage's arithmetic: PyTorch's generators are
untouched, and a stage seeds every generator it uses), and the settings that a library reads
once when it loads -- threads (``OMP_NUM_THREADS``...), malloc's thresholds, ``PYTHON*``,
``MPLBACKEND`` and the like -- are compared first: where any differs from the zygote's, or the
kernel's command is not the zygote's interpreter running ``ipykernel_launcher``, the kernel
starts fresh, as without the zygote.  ``tests/test_pipeline.py`` holds it: the tiny profile's
forced rerun through the runner (forked kernels) gives the bytes of ``dvc repro`` (fresh ones).

The kernel dies with the process that asked for it (a pidfd watch; its parent is the zygote, so
``PR_SET_PDEATHSIG`` alone would not do), and the zygote dies with the runner.  Without
``NASA_LIB_KERNEL_ZYGOTE`` in the environment (``dvc repro``, JupyterLab) nothing of this runs.
"""
from __future__ import annotations

import json
import os
import select
import signal
import socket
import sys
import threading
import uuid
from pathlib import Path

ZYGOTE_VARIABLE = "NASA_LIB_KERNEL_ZYGOTE"      # the zygote's socket, set by the runner for its stages
# Imported once in the zygote: the stage kernels' slow imports (third-party only, see above).
PRELOAD = ("torch", "pytorch_lightning", "torchmetrics", "dvclive", "pandas", "matplotlib.pyplot", "seaborn",
           "ipykernel.kernelapp")
# The zygote runs this file by its path (runpy), so that ``nasa_lib`` itself is never imported there:
# its __init__ must run in each kernel (the die-with-parent switch, the quick exit, the file trace).
BOOTSTRAP = "import runpy, sys; runpy.run_path(sys.argv.pop(1), run_name='__main__')"
# Environment read when an interpreter or a library starts (or loads): a child inherits the
# zygote's values, so a kernel whose environment differs in any of these starts fresh.
_STARTUP_PREFIXES = ("PYTHON", "LD_", "MALLOC_", "OMP_", "GOMP_", "KMP_", "MKL_", "OPENBLAS_", "CUDA_", "TORCH",
                     "NASA_LIB_TRACE", "MPLBACKEND", "MPLCONFIGDIR", "XDG_", "HOME", "TRITON")
_INLINE_BACKEND = "module://matplotlib_inline.backend_inline"    # what ipykernel sets when MPLBACKEND is unset


def _startup_environment(env: dict) -> dict:
    found = {k: v for k, v in env.items() if k.startswith(_STARTUP_PREFIXES)}
    found.setdefault("MPLBACKEND", _INLINE_BACKEND)
    return found


def interpreter_prefix(kernel_argv: list[str]) -> list[str] | None:
    """The interpreter part of a kernel command (``[python, -X..., ...]`` before ``-m
    ipykernel_launcher``), or None for a command of another form."""
    for i in range(len(kernel_argv) - 1):
        if kernel_argv[i] == "-m":
            return list(kernel_argv[:i]) if kernel_argv[i + 1] == "ipykernel_launcher" else None
    return None


# -- the zygote -------------------------------------------------------------------------------

def _die_with_parent() -> None:
    if sys.platform.startswith("linux"):
        import ctypes
        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)   # PR_SET_PDEATHSIG


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _recv_request(conn: socket.socket) -> tuple[dict, list[int]]:
    data, fds = b"", []
    while not data.endswith(b"\n"):
        chunk, got, _, _ = socket.recv_fds(conn, 1 << 20, 4)
        if not chunk:
            raise ConnectionError("the asking process went away")
        data += chunk
        fds += got
    return json.loads(data), fds


def _watch(pid: int) -> None:
    """End this process (SIGKILL, as PR_SET_PDEATHSIG would) once ``pid`` has ended."""
    try:
        fd = os.pidfd_open(pid)
    except (OSError, AttributeError):
        return
    def wait():
        select.select([fd], [], [])
        os.kill(os.getpid(), signal.SIGKILL)
    threading.Thread(target=wait, name="watch-asking-process", daemon=True).start()


def _child(request: dict, fds: list[int], ready_w: int, added: dict) -> None:
    """In the forked child: become the kernel ``request`` asks for; never returns."""
    code = 1
    try:
        os.setsid()
        signal.signal(signal.SIGTERM, signal.SIG_DFL)   # the zygote's own handler is not a kernel's
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(fds[0], 1)
        os.dup2(fds[1], 2)
        for fd in (devnull, *fds):
            os.close(fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        for name, value in added.items():
            os.environ.setdefault(name, value)
        sys.path[0] = request["cwd"]        # `python -m` puts the working directory first (the zygote: -c, '')
        _watch(request["asker"])
        import random
        random.seed()           # a fresh process's Python and NumPy generators start from fresh entropy
        import numpy
        numpy.random.seed()
        os.write(ready_w, b"1")
        os.close(ready_w)
        # Jupyter's launcher gives a kernel its parent's pid (JPY_PARENT_PID), which IPKernelApp reads
        # when ipykernel is imported -- in the zygote, where it was unset: the command line passes it
        os.environ["JPY_PARENT_PID"] = str(request["asker"])
        sys.argv = ["ipykernel_launcher", *request["args"], f"--IPKernelApp.parent_handle={request['asker']}"]
        import runpy
        runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as e:
        code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except BaseException:       # noqa: BLE001
        import traceback
        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except Exception:   # noqa: BLE001
                pass
        os._exit(code)


def _serve_one(conn: socket.socket, listener: socket.socket, prefix: list[str], startup: dict, added: dict) -> None:
    request, fds = _recv_request(conn)
    try:
        refused = None
        if request["prefix"] != prefix:
            refused = "another interpreter"
        elif _startup_environment(request["env"]) != startup:
            theirs = _startup_environment(request["env"])
            refused = "environment differs: " + ", ".join(sorted(k for k in set(theirs) | set(startup)
                                                                 if theirs.get(k) != startup.get(k)))
        elif len(fds) != 2:
            refused = "no stdout and stderr were passed"
        if refused:
            conn.sendall(json.dumps({"refused": refused}).encode() + b"\n")
            return
        ready_r, ready_w = os.pipe()
        pid = os.fork()
        if pid == 0:
            listener.close()
            conn.close()
            os.close(ready_r)
            _child(request, fds, ready_w, added)
        os.close(ready_w)
        os.read(ready_r, 1)     # the child has its own session and streams before anyone signals it
        os.close(ready_r)
        conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
    finally:
        for fd in fds:
            os.close(fd)


def serve(path: str, prefix: list[str]) -> int:
    """The zygote: import :data:`PRELOAD`, then fork a kernel per request on the Unix socket
    ``path`` until the runner ends it (SIGTERM) or dies."""
    _die_with_parent()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    os.environ.setdefault("MPLBACKEND", _INLINE_BACKEND)
    sys.modules.setdefault("rfc3987_syntax", None)      # as the stage's notebook process does
    import importlib
    before = dict(os.environ)
    startup = _startup_environment(before)
    for name in PRELOAD:
        importlib.import_module(name)
    # what the imports put in the environment (TORCHINDUCTOR_CACHE_DIR), as they would in a fresh kernel
    added = {k: v for k, v in os.environ.items() if before.get(k) != v}
    if _threads() != 1:         # fork copies one thread: refuse to serve rather than fork a broken kernel
        print(f"kernel zygote: {_threads()} threads after its imports; stages start fresh kernels", file=sys.stderr)
        return 1
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(8)
    try:
        while True:
            readable, _, _ = select.select([listener], [], [], 1.0)
            while True:             # reap the kernels that have ended
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
            if os.getppid() == 1:
                return 0
            if readable:
                conn, _ = listener.accept()
                with conn:
                    try:
                        _serve_one(conn, listener, prefix, startup, added)
                    except (OSError, ValueError, KeyError, ConnectionError) as e:
                        print(f"kernel zygote: request failed: {e}", file=sys.stderr)
    finally:
        listener.close()


class Zygote:
    """The runner's handle: ``with Zygote(kernel_argv, env) as z:`` starts the zygote in the
    background (where the kernel spec's command allows it) and ends it on the way out.  Stages
    started with ``ZYGOTE_VARIABLE=z.socket`` in their environment ask it for their kernels; one
    that asks before it is ready (it imports for a few seconds) starts a fresh kernel."""

    def __init__(self, kernel_argv: list[str] | None, env: dict):
        self.prefix = interpreter_prefix(kernel_argv) if kernel_argv else None
        self.env = env
        self.proc = self.dir = self.socket = None

    def __enter__(self):
        import subprocess
        import tempfile
        if self.prefix is not None:
            self.dir = tempfile.mkdtemp(prefix="nasa_lib_zygote_")
            self.socket = os.path.join(self.dir, "socket")
            command = [*self.prefix, "-c", BOOTSTRAP, __file__, self.socket, json.dumps(self.prefix)]
            self.proc = subprocess.Popen(command, env=self.env, stdin=subprocess.DEVNULL, start_new_session=True)
        return self

    def __exit__(self, *exc):
        import shutil
        import subprocess
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


# -- the asking side: Jupyter's local provisioner with a forked process -----------------------

def ask(path: str, cmd: list[str], env: dict, cwd: str) -> tuple[int | None, str]:
    """Ask the zygote at ``path`` for a kernel running ``cmd``; returns (its pid, "") or (None,
    why it starts fresh)."""
    prefix = interpreter_prefix(cmd)
    if prefix is None:
        return None, "not an ipykernel_launcher command"
    request = {"prefix": prefix, "args": cmd[len(prefix) + 2:], "env": env, "cwd": str(cwd), "asker": os.getpid()}
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(60)
        s.connect(path)
        socket.send_fds(s, [json.dumps(request).encode() + b"\n"], [sys.stdout.fileno(), sys.stderr.fileno()])
        reply = b""
        while not reply.endswith(b"\n"):
            chunk = s.recv(1 << 16)
            if not chunk:
                return None, "the zygote closed the connection"
            reply += chunk
    answer = json.loads(reply)
    return answer.get("pid"), answer.get("refused", "")


class ForkedProcess:
    """The part of ``subprocess.Popen`` Jupyter's local provisioner uses, for a process that is
    not this one's child (watched through a pidfd; its exit status is the zygote's to collect)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid, self.returncode = pid, None
        try:
            self._fd = os.pidfd_open(pid)
        except ProcessLookupError:
            self._fd, self.returncode = None, 0

    def _ended(self, timeout: float | None) -> bool:
        if self.returncode is None and select.select([self._fd], [], [], timeout)[0]:
            self.returncode = 0
            os.close(self._fd)
        return self.returncode is not None

    def poll(self):
        self._ended(0)
        return self.returncode

    def wait(self, timeout: float | None = None):
        if not self._ended(timeout):
            import subprocess
            raise subprocess.TimeoutExpired(f"kernel {self.pid}", timeout)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


def _provisioner_class():
    from jupyter_client.provisioning.local_provisioner import LocalProvisioner

    class ForkedKernelProvisioner(LocalProvisioner):
        """Jupyter's local provisioner, whose kernel process is forked by the zygote when it can be."""

        async def launch_kernel(self, cmd, **kwargs):
            env = kwargs.get("env") or dict(os.environ)
            path = env.get(ZYGOTE_VARIABLE)
            pid, why = None, "no zygote"
            if path and not os.path.exists(path):
                why = "the zygote is still importing"
            elif path:
                try:
                    pid, why = ask(path, list(cmd), env, kwargs.get("cwd") or os.getcwd())
                except OSError as e:
                    why = f"the zygote did not answer ({e})"
            if pid is None:
                if path:
                    print(f"(a fresh kernel: {why})", file=sys.stderr, flush=True)
                return await super().launch_kernel(cmd, **kwargs)
            self.process = ForkedProcess(pid)
            self.pid = self.pgid = pid          # the child leads its own session
            self.cwd = kwargs.get("cwd", Path.cwd())
            return self.connection_info

    return ForkedKernelProvisioner


def kernel_manager_class():
    """nbclient's kernel manager with :class:`ForkedKernelProvisioner` as its provisioner."""
    from jupyter_client.manager import AsyncKernelManager
    provisioner = _provisioner_class()

    class ForkedKernelManager(AsyncKernelManager):
        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = provisioner(kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self)
            return await super()._async_pre_start_kernel(**kw)

    return ForkedKernelManager


if __name__ == "__main__":          # python -c BOOTSTRAP kernel_fork.py SOCKET PREFIX_JSON (Zygote)
    sys.exit(serve(sys.argv[1], json.loads(sys.argv[2])))
