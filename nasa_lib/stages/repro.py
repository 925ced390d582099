"""``dvc repro`` with several stages at a time: ``python -m nasa_lib.stages.repro --jobs 2``.

``dvc repro`` runs one stage at a time.  The embedded default's stages are small networks that gain
nothing from a second intra-op thread (``common.num_threads``), so on a 2-core machine one stage
leaves a core idle; this runner keeps ``--jobs`` stages' commands running at once and otherwise does
what ``dvc repro`` does, through DVC's own objects, in this one process:

* the plan is DVC's graph of ``dvc.yaml`` (frozen stages cut off from their upstream, as DVC does);
* a stage is considered once every stage upstream of it has finished, and runs only if DVC's
  ``Stage.changed`` says so then (so a stage whose inputs came out byte-identical is skipped, as in
  ``dvc repro``);
* before its command runs, its outputs are removed and its dependencies' hashes saved (DVC's
  ``Stage.run``); the command runs in the environment DVC would give it (``DVC_ROOT``, ``DVC_STAGE``);
* after it succeeds, its outputs are saved, committed to the cache and its ``dvc.lock`` entry written
  (``Stage.save`` / ``commit`` / ``dump``), one stage at a time, by this process alone.

Every DVC call happens in the main thread; worker threads only wait on the commands' processes.
The result is the same ``dvc.lock`` and outputs as ``dvc repro``: a stage's bytes depend on its
params (``common.num_threads`` among them), not on what runs beside it.  A failed stage stops the
planning of its downstream stages; the others run on (``dvc repro --keep-going``), and the exit
status is non-zero.  Ctrl-C stops every running command (its process group); an interrupted
training stage resumes from its last epoch's checkpoint on the next run.

The notebook stages' kernels are forked from one process that has imported PyTorch, Lightning and
the other slow imports once (:mod:`nasa_lib.stages.kernel_fork`; ``--fresh-kernels`` starts each
kernel from scratch, as ``dvc repro`` does): the same bytes, about 6 s less per stage.

Each command's output goes to ``.dvc/tmp/repro_logs/<stage>.log`` (the last lines are printed when
it fails); the console gets one line per stage started, skipped and finished.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from queue import Queue


def _log_path(root: str, addressing: str) -> Path:
    safe = addressing.replace("/", "_").replace(":", "_")
    return Path(root) / ".dvc" / "tmp" / "repro_logs" / f"{safe}.log"


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _plan(repo):
    """DVC's graph of the pipeline (frozen stages disconnected) and its stages in DVC's order."""
    from dvc.repo.reproduce import get_active_graph, plan_repro
    graph = get_active_graph(repo.index.graph)
    return graph, plan_repro(graph, None)


def _downstream_count(graph, stage) -> int:
    import networkx as nx
    return len(nx.ancestors(graph, stage))  # edges point from a stage to the stages it depends on


def _kernel_zygote(root: str):
    """The kernel zygote for this run's stages (not started yet): the kernel spec's interpreter,
    with the environment every stage kernel gets (``nasa_lib.stages.notebook``)."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    from .kernel_fork import Zygote
    from .notebook import KERNEL, kernel_environment
    try:
        argv = KernelSpecManager().get_kernel_spec(KERNEL).argv
    except NoSuchKernel:
        argv = None
    env, _ = kernel_environment(Path(root) / "params.yaml")
    env.pop("NASA_LIB_DIE_WITH_PARENT")         # for the kernels alone: the zygote ends with this process
    return Zygote(argv, {**os.environ, **env})


def _start(stage, log: Path, extra_env: dict) -> subprocess.Popen:
    """Remove the stage's outputs, save its dependencies' hashes and start its command (DVC's
    ``Stage.run`` up to the command), in its own process group."""
    from dvc.stage.run import _enforce_cmd_list, prepare_kwargs
    stage.remove_outs(ignore_remove=False, force=False)
    stage.save_deps()
    kwargs = prepare_kwargs(stage)
    kwargs["env"].update(extra_env)
    cmd = " && ".join(f"( {c} )" for c in _enforce_cmd_list(stage.cmd))
    log.parent.mkdir(parents=True, exist_ok=True)
    out = open(log, "w")
    try:
        return subprocess.Popen(cmd, shell=True, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                cwd=kwargs["cwd"], env=kwargs["env"], close_fds=True)
    finally:
        out.close()


def _finish(stage, order) -> None:
    """Save, commit and record the stage (the rest of DVC's ``Stage.run`` and ``_reproduce_stage``),
    then put ``dvc.lock``'s entries in the plan's order: DVC appends an entry when its stage first
    finishes, so stages finishing in a different order would otherwise give a different file."""
    from dvc.utils.serialize import modify_yaml
    no_cache_outs = any(not out.use_cache for out in stage.outs if not (out.is_metric or out.is_plot))
    stage.save(run_cache=not no_cache_outs)
    stage.commit()
    stage.dump(update_pipeline=False)
    lockfile = Path(stage.repo.root_dir) / "dvc.lock"
    with modify_yaml(str(lockfile)) as data:
        entries = data.get("stages", {})
        position = {getattr(s, "name", None): i for i, s in enumerate(order)}
        ordered = sorted(entries, key=lambda name: position.get(name, len(position)))
        if list(entries) != ordered:
            data["stages"] = {name: entries[name] for name in ordered}


def reproduce(jobs: int = 2, root: str = ".", force: bool = False, fork_kernels: bool = True) -> int:
    """Bring every stage of ``root``'s pipeline up to date, ``jobs`` commands at a time (their
    kernels forked from a zygote unless ``fork_kernels`` is False); returns the number of stages
    that failed (0: the pipeline is up to date)."""
    from dvc.repo import Repo
    from .kernel_fork import ZYGOTE_VARIABLE
    if jobs < 1:
        raise ValueError(f"--jobs={jobs} is not valid; it must be an integer >= 1")
    finished: Queue = Queue()
    running: dict = {}                      # stage -> (process, start time)
    failed, blocked, done = set(), set(), set()
    t_start = time.perf_counter()

    def wait(stage, proc):
        finished.put((stage, proc.wait()))

    with Repo(root) as repo, repo.lock, contextlib.ExitStack() as stack:
        zygote = None           # started with the first command: a run with nothing to do starts none
        graph, order = _plan(repo)
        rank = {s: (-_downstream_count(graph, s), i) for i, s in enumerate(order)}
        pending = set(order)
        ran = 0
        try:
            while pending or running:
                progress = True
                while progress and len(running) < jobs:     # start (or skip) every stage that can go now
                    progress = False
                    ready = sorted((s for s in pending if all(u in done for u in graph.successors(s))), key=rank.get)
                    for stage in ready[:jobs - len(running)]:
                        progress = True
                        pending.discard(stage)
                        upstream = list(graph.successors(stage))
                        if not stage.cmd:               # a data source (data.dvc): DVC's own handling
                            from dvc.repo.reproduce import _reproduce_stage
                            _reproduce_stage(stage, upstream=upstream, force=force)
                            done.add(stage)
                            continue
                        if not force and not stage.changed(False, upstream):
                            print(f"[repro] {stage.addressing}: up to date", flush=True)
                            done.add(stage)
                            continue
                        log = _log_path(repo.root_dir, stage.addressing)
                        if zygote is None and fork_kernels:
                            zygote = stack.enter_context(_kernel_zygote(repo.root_dir))
                        proc = _start(stage, log, {ZYGOTE_VARIABLE: zygote.socket} if zygote and zygote.socket else {})
                        running[stage] = (proc, time.perf_counter())
                        threading.Thread(target=wait, args=(stage, proc), daemon=True).start()
                        print(f"[repro] {stage.addressing}: started ({len(running)} running, "
                              f"log {log.relative_to(repo.root_dir)})", flush=True)
                if not running:
                    if pending and not any(all(u in done for u in graph.successors(s)) for s in pending):
                        blocked |= pending      # downstream of a failed stage
                        pending.clear()
                    continue
                stage, rc = finished.get()
                proc, t0 = running.pop(stage)
                wall = time.perf_counter() - t0
                if rc == 0:
                    _finish(stage, order)
                    done.add(stage)
                    ran += 1
                    print(f"[repro] {stage.addressing}: done in {wall:.0f} s", flush=True)
                else:
                    failed.add(stage)
                    log = _log_path(repo.root_dir, stage.addressing)
                    print(f"[repro] {stage.addressing}: FAILED (exit {rc}) after {wall:.0f} s; last lines of {log}:\n"
                          f"{_tail(log)}", flush=True)
                    import networkx as nx
                    below = set(nx.ancestors(graph, stage)) & pending
                    blocked |= below
                    pending -= below
        except KeyboardInterrupt:
            for proc, _ in running.values():
                try:
                    os.killpg(proc.pid, signal.SIGINT)
                except ProcessLookupError:
                    pass
            for proc, _ in running.values():
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            print("[repro] interrupted: the running stages were stopped and not recorded; rerun to resume", flush=True)
            raise
    total = time.perf_counter() - t_start
    print(f"[repro] {ran} stage(s) run, {len(failed)} failed, {len(blocked)} not run because of a failure; "
          f"{total / 60:.1f} min with --jobs {jobs}", flush=True)
    if blocked:
        print("[repro] not run: " + ", ".join(sorted(s.addressing for s in blocked)), flush=True)
    return len(failed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", "-j", type=int, default=2, help="stage commands at a time (default 2)")
    ap.add_argument("--force", "-f", action="store_true", help="run every stage, changed or not")
    ap.add_argument("--root", default=".", help="the DVC repository (default: the current directory)")
    ap.add_argument("--fresh-kernels", action="store_true",
                    help="start every stage's kernel from scratch (default: fork it from a zygote, the same bytes)")
    args = ap.parse_args(argv)
    try:
        return 1 if reproduce(args.jobs, args.root, args.force, fork_kernels=not args.fresh_kernels) else 0
    except ValueError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
