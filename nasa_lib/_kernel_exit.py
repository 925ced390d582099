"""A stage kernel's quick exit.

A stage's Jupyter kernel has imported PyTorch and Lightning; the interpreter's own teardown of
those modules then takes 1.3-2 s after the last cell, on every one of the pipeline's stages (the
executed notebook is already complete by then: papermill waits on nothing but the kernel's exit).
:func:`install`, called when ``nasa_lib`` is imported inside a stage's kernel, registers an exit
handler that runs after every handler registered later (the libraries' own: Lightning's, DVCLive's,
PyTorch's) and ends the process before that teardown, doing first what the handlers registered
before it would have done that matters: logging's flush (IPython's end of its history session is
left out).  Files a stage writes are closed when written, so nothing is lost; the kernel's exit status is never read (papermill has the
cells' results), which is why this is for the kernel only, never for a script whose status counts.
"""
from __future__ import annotations

import atexit
import logging
import os
import sys


def _exit_now() -> None:
    # IPython's own exit work (the end of its history session) is left out: it talks to the kernel's
    # sockets, already closed by now, and a stage keeps no IPython history worth a second of its time
    logging.shutdown()
    for stream in (sys.__stdout__, sys.__stderr__):
        try:
            stream.flush()
        except Exception:                   # noqa: BLE001
            pass
    os._exit(0)


def install() -> None:
    """Register the quick exit (see the module's docstring)."""
    atexit.register(_exit_now)
