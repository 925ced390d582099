"""Which files a process reads and writes, for the test that holds ``dvc.yaml``'s dependencies to
what each stage really touches (``tests/test_stage_deps.py``).

With ``NASA_LIB_TRACE_FILE`` set, importing ``nasa_lib`` installs an audit hook that appends one
line per file opened under the working directory: ``r <path>`` or ``w <path>`` (repository-
relative).  Imports count: Python opens a module's source or its ``__pycache__`` file, so the
lines cover the stage's import closure too.  Off unless the variable is set.
"""
from __future__ import annotations

import os
import sys

_seen: set = set()


def install(trace_file: str) -> None:
    root = os.getcwd()
    out = open(trace_file, "a", buffering=1)     # opened before the hook: not traced itself

    def hook(event, args):
        if event != "open" or not args or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        path = os.fsdecode(args[0])
        mode = args[1] if len(args) > 1 and isinstance(args[1], str) else "r"
        full = os.path.abspath(path)
        if not full.startswith(root + os.sep):
            return
        kind = "w" if any(c in mode for c in "wax+") else "r"
        key = (kind, os.path.relpath(full, root))
        if key not in _seen:
            _seen.add(key)
            out.write(f"{key[0]} {key[1]}\n")

    sys.addaudithook(hook)
