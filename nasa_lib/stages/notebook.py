"""Run one stage notebook: papermill, then an HTML copy, in one process.

    python -m nasa_lib.stages.notebook NOTEBOOK OUTPUT [-p NAME VALUE ...]

The same as ``papermill --no-progress-bar -k nasa_lib NOTEBOOK OUTPUT -p ... && jupyter nbconvert
--to html OUTPUT``, without a second interpreter start-up per stage (the embedded default runs 25
stages).  The only parameter a stage passes is its run's name (``-p run Hybrid-All``): every
value comes from ``params.yaml``, which the notebook's stage module reads.  A failing notebook
still leaves OUTPUT with the traceback (papermill writes it), gets no HTML copy, and exits 1.

The runner owns the stage process's threads: the kernel starts with ``OMP_NUM_THREADS``,
``MKL_NUM_THREADS`` and ``OPENBLAS_NUM_THREADS`` set to ``common.num_threads`` (PyTorch's intra-op
pool, the adder kernels' OpenMP, which follow it, and NumPy's BLAS), so nothing in the stage
starts a thread per core beside them, and with glibc malloc's thresholds raised (``MALLOC_VARIABLES``).
The kernel dies with the runner (``NASA_LIB_DIE_WITH_PARENT``), so a stage killed in any way leaves no
training process behind, and skips the interpreter's teardown once its last cell has run
(:mod:`nasa_lib._kernel_exit`).  Ctrl-C (SIGINT) or SIGTERM ends
the stage with one line naming it, where its checkpoint is and how to resume.

With ``NASA_LIB_TRACE_DIR`` set, the kernel records every file it opens in
``<dir>/<stage>.txt`` (:mod:`nasa_lib._trace`; the dependency test uses it).
"""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from .kernel_fork import ZYGOTE_VARIABLE

KERNEL = "nasa_lib"


def _value(text: str):
    """A ``-p`` value, typed as papermill's command line types it."""
    special = {"True": True, "False": False, "None": None}
    if text in special:
        return special[text]
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


THREAD_VARIABLES = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
# glibc malloc's settings for the kernel: with its defaults, a freed block above 128 KB (every
# activation of a batch) goes back to the OS and the next one page-faults on fresh memory, so the
# same training step costs 7-10 % more CPU (benchmarks/stage_overhead.py); with these thresholds
# freed blocks are reused.  Allocation only: the numbers computed are the same bytes.
MALLOC_VARIABLES = {"MALLOC_MMAP_THRESHOLD_": str(256 << 20), "MALLOC_TRIM_THRESHOLD_": str(1 << 30)}


def kernel_environment(params_file=None) -> tuple[dict, str]:
    """What a stage's kernel inherits: the thread count of params.yaml's ``common.num_threads``
    (read without importing the library's heavier modules), malloc's thresholds (unless the
    environment sets them) and the die-with-parent switch; and ``common.checkpoint_root``."""
    from .params import PARAMS_FILE, ParamsError, load_params
    try:
        common = load_params(params_file or PARAMS_FILE, check=["common.num_threads", "common.checkpoint_root"]).common
    except ParamsError:
        common = None           # the stage itself reports the problem, in one line
    env = {name: str(common.num_threads) for name in THREAD_VARIABLES} if common is not None else {}
    env.update({name: value for name, value in MALLOC_VARIABLES.items() if name not in os.environ})
    env["NASA_LIB_DIE_WITH_PARENT"] = "1"
    return env, (common.checkpoint_root if common is not None else "checkpoints")


def interrupted_line(output: Path, checkpoint_root="checkpoints") -> str:
    """The one line of a stage ended by Ctrl-C or SIGTERM."""
    stage, _, run = output.stem.partition("@")
    # a stage's checkpoints sit in <root>/<stage>/<run>/seed<k>/<params hash>[/<part>]/checkpoints;
    # the one this stage was writing is the newest
    found = sorted(Path(checkpoint_root, stage).glob("**/checkpoints/last.ckpt"), key=lambda f: f.stat().st_mtime) \
        if run else []
    where = (f"its last finished epoch is kept in {found[-1].parent.parent}" if found
             else "no epoch had finished, so nothing is kept")
    return f"interrupted: {output.stem} ({where}); `dvc repro` runs it again and resumes from there"


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"))
    parser.add_argument("-k", "--kernel", default=KERNEL)
    args = parser.parse_args(argv)
    # jsonschema (under nbformat) imports rfc3987-syntax when it is installed (JupyterLab pulls it
    # in), and that compiles 38 grammars on import: 1.2 s of every stage's start-up, for an IRI
    # format check that validating a notebook never uses.  None in sys.modules makes the import
    # fail, and jsonschema then goes without that one check.
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill
    from papermill.exceptions import PapermillExecutionError

    logging.getLogger("papermill").setLevel(logging.WARNING)
    logging.getLogger("traitlets").setLevel(logging.ERROR)
    out = Path(args.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    params = {name: _value(value) for name, value in args.parameter}
    if os.environ.get("NASA_LIB_TRACE_DIR"):         # the kernel inherits this process's environment
        trace_dir = Path(os.environ["NASA_LIB_TRACE_DIR"])
        trace_dir.mkdir(parents=True, exist_ok=True)
        os.environ["NASA_LIB_TRACE_FILE"] = str(trace_dir / f"{out.stem}.txt")
    env, checkpoint_root = kernel_environment()
    os.environ.update(env)
    engine = {}
    if os.environ.get(ZYGOTE_VARIABLE):        # under make repro's runner: a kernel forked, not started
        from .kernel_fork import kernel_manager_class
        engine["kernel_manager_class"] = kernel_manager_class()
    signal.signal(signal.SIGTERM, _raise_interrupt)       # SIGTERM ends the stage as Ctrl-C does
    # Python leaves SIGINT ignored when it starts with it ignored, as every command started in the
    # background of a non-interactive shell does (`cmd &` in a script, nohup): then Ctrl-C or a
    # `kill -INT` would not end the stage at all and it would train on.  Ctrl-C's meaning here
    # does not depend on how the shell started us.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        # The kernel's own log at ERROR: it otherwise warns on every start that it talks to this
        # process over TCP without encryption (the kernel listens on localhost only; CurveZMQ keys
        # through papermill broke the Ctrl-C resume path, tests/test_resume.py).
        papermill.execute_notebook(args.notebook, str(out), parameters=params, kernel_name=args.kernel,
                                   progress_bar=False, extra_arguments=["--IPKernelApp.log_level=ERROR"], **engine)
    except KeyboardInterrupt:           # the kernel is shut down on the way out (nbclient)
        print(interrupted_line(out, checkpoint_root), file=sys.stderr, flush=True)
        return 130
    except PapermillExecutionError as err:
        if err.ename == "KeyboardInterrupt":
            print(interrupted_line(out, checkpoint_root), file=sys.stderr, flush=True)
            return 130
        print(f"(the executed notebook with the traceback: {out})\n"
              f"{args.notebook} failed in cell {err.exec_count}: {err.ename}: {err.evalue}", file=sys.stderr)
        return 1
    from nbconvert import HTMLExporter
    html, _ = HTMLExporter().from_filename(str(out))
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out.with_suffix(".html"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
