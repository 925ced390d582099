"""Are the committed results those of this commit?  ``python -m nasa_lib.stages.stale``

The repository commits ``dvc.lock`` with the small, readable outputs (``reports/``); the rest of the
outputs stay in DVC's cache, so a fresh clone lacks them.  This check asks DVC (``dvc status``, which
hashes files and reads no output it does not need: seconds) whether any stage's dependencies,
parameters or command differ from what ``dvc.lock`` recorded, or whether a committed output differs
from its recorded hash.  Missing files are not staleness: a clone has no cached outputs, and the
bundled data set (``data.data_dir``) is materialised by ``make repro``.  Exit status 1 with one line
naming the stage(s) and what to run when the results are stale; 0 otherwise.
"""
from __future__ import annotations

import argparse
import os
import sys

MISSING = ("deleted", "not in cache")


def stale_stages(root: str = ".") -> dict[str, list[str]]:
    """Stage -> what differs from ``dvc.lock`` ("nasa_lib/nas modified", "params", "command"),
    for every stage whose recorded results no longer match the working tree."""
    from dvc.repo import Repo
    cwd = os.getcwd()
    os.chdir(root)                  # DVC names the stages relative to the working directory
    try:
        with Repo(".") as repo:
            status = repo.status()
    finally:
        os.chdir(cwd)
    found = {}
    for stage, changes in status.items():
        if stage.endswith(".dvc"):          # data.dvc: pinned and checked by `make repro` itself
            continue
        reasons = []
        for change in changes:
            if change == "changed command":
                reasons.append("command")
                continue
            if not isinstance(change, dict):
                reasons.append(str(change))
                continue
            for kind, files in change.items():
                if kind not in ("changed deps", "changed outs") or not isinstance(files, dict):
                    reasons.append(kind)
                    continue
                for path, state in files.items():
                    if isinstance(state, dict):             # a params file: key -> state
                        reasons.append(f"{path}: " + ", ".join(f"{k} {v}" for k, v in sorted(state.items())))
                    elif state not in MISSING:
                        reasons.append(f"{path} {state}")
        if reasons:
            found[stage] = reasons
    return found


def message(found: dict[str, list[str]]) -> str:
    first, reasons = next(iter(found.items()))
    more = f" and {len(found) - 1} more stage(s)" if len(found) > 1 else ""
    return (f"stale results: stage '{first}'{more} differ(s) from dvc.lock ({'; '.join(reasons[:3])}); "
            f"run `make repro` and commit dvc.lock and reports/")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--root", default=".", help="the DVC repository (default: the current directory)")
    args = ap.parse_args(argv)
    found = stale_stages(args.root)
    if found:
        print(message(found), file=sys.stderr)
        return 1
    print("results up to date: every stage matches dvc.lock")
    return 0


if __name__ == "__main__":
    sys.exit(main())
