"""Run one stage notebook: papermill, then an HTML copy, in one process.

    python -m nasa_lib.stages.notebook NOTEBOOK OUTPUT [-p NAME VALUE ...]

The same as ``papermill --no-progress-bar -k nasa_lib NOTEBOOK OUTPUT -p ... && jupyter nbconvert
--to html OUTPUT``, without a second interpreter start-up per stage (the embedded default runs 25
stages).  The only parameter a stage passes is its run's name (``-p run Hybrid-All``): every
value comes from ``params.yaml``, which the notebook's stage module reads.  A failing notebook
still leaves OUTPUT with the traceback (papermill writes it), gets no HTML copy, and exits 1.

With ``NASA_LIB_TRACE_DIR`` set, the kernel records every file it opens in
``<dir>/<stage>.txt`` (:mod:`nasa_lib._trace`; the dependency test uses it).
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

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
    try:
        papermill.execute_notebook(args.notebook, str(out), parameters=params, kernel_name=args.kernel,
                                   progress_bar=False)
    except PapermillExecutionError as err:
        print(f"{args.notebook} failed in cell {err.exec_count}: {err.ename}: {err.evalue}\n"
              f"(the executed notebook with the traceback: {out})", file=sys.stderr)
        return 1
    from nbconvert import HTMLExporter
    html, _ = HTMLExporter().from_filename(str(out))
    tmp = out.with_suffix(".html.tmp")
    tmp.write_text(html, encoding="utf-8")
    tmp.replace(out.with_suffix(".html"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
