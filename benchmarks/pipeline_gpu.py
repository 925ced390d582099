"""Paper-size Hybrid-All through the pipeline's own DVC stages on GPUs: throughput per stage.

In a copy of the repository (``--workdir``; its params.yaml is overwritten), writes a synthetic
CIFAR-10-sized data set in CIFAR's format, a params.yaml from ``profiles/cifar10.yaml`` limited to the Hybrid-All run and ``--steps`` training batches per
epoch (PGP pretraining 3 epochs: multiplication / adder / mixed phases; search 1; retraining 1),
then runs ``dvc repro retrain@Hybrid-All-0`` (stages pretrain, search, retrain through papermill) or,
with ``--exp``, ``dvc exp run -S common.devices=N retrain@Hybrid-All-0``.  The stages' own timing
files (``reports/timing/<stage>/Hybrid-All/seed0.json``: training images/s per epoch, validation
excluded) are collected into one JSON file.

``--retrain-arch FILE`` swaps in another searched architecture before the retraining stage, so that
retraining on 1 and on 2 GPUs is timed on the same network:

    python benchmarks/pipeline_gpu.py --devices 1 --out benchmarks/results/pipeline_gpu_h100.json
    python benchmarks/pipeline_gpu.py --devices 2 --exp --out benchmarks/results/pipeline_gpu_2gpu.json
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from nasa_lib.stages.profile import merged_text
from nasa_lib.stages.workspace import copy_repository

SOURCE = Path(__file__).resolve().parents[1]
REPO = SOURCE      # the working copy: set from --workdir in main()
RUN = "Hybrid-All"


def sh(*cmd, check=True) -> subprocess.CompletedProcess:
    print("$", " ".join(cmd), flush=True)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=REPO, text=True, capture_output=True)
    print(f"  rc={done.returncode} ({time.perf_counter() - t0:.0f} s)", flush=True)
    if done.returncode != 0:
        print(done.stdout[-4000:], done.stderr[-4000:], sep="\n", flush=True)
        if check:
            raise SystemExit(f"failed: {' '.join(cmd)}")
    return done


def paper_params(args) -> dict:
    params = yaml.safe_load(merged_text("cifar10", REPO))      # params.yaml + the CIFAR-10 overlay
    params["profile"] = f"paper-cifar10 ({args.steps} steps per epoch, throughput run)"
    params["common"].update(devices=args.devices, sync_batchnorm=not args.no_sync_bn, precision=args.precision,
                            limit_train_batches=args.steps)
    params["data"].update(data_dir=args.data_dir, verify="folder")
    params["pretrain"].update(epochs=3, mult_epochs=1, adder_epochs=1)
    params["search"].update(epochs=1, mode=args.search_mode)
    params["retrain"].update(epochs=1, schedule="cosine", milestones=None)
    params["runs"] = {RUN: params["runs"][RUN]}
    params["seeds"] = [0]
    params["baselines"] = ["all-conv"]
    params["dance_runs"] = {"chunk": params["dance_runs"]["chunk"]}
    for item in args.set:
        key, value = item.split("=", 1)
        section, name = key.split(".", 1)
        params[section][name] = yaml.safe_load(value)
    return params


def stage_throughput() -> dict:
    out = {}
    for stage in ("pretrain", "search", "retrain"):
        path = REPO / "reports" / "timing" / stage / RUN / "seed0.json"
        if path.exists():
            t = json.loads(path.read_text())
            out[stage] = {"wall_s": t["wall_s"], "train_seconds": t.get("train_seconds"),
                          "train_images_per_s": t.get("train_images_per_s")}
    return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--devices", type=int, default=1)
    p.add_argument("--steps", type=int, default=120, help="training batches per epoch (per process)")
    p.add_argument("--precision", default="32-true")
    p.add_argument("--search-mode", default="soft", choices=("soft", "hard"))
    p.add_argument("--no-sync-bn", action="store_true")
    p.add_argument("--data-dir", default="data/cifar10")
    p.add_argument("--exp", action="store_true", help="run through `dvc exp run -S common.devices=N`")
    p.add_argument("--retrain-arch", default=None, help="an arch.json to retrain instead of the one searched")
    p.add_argument("--only-retrain", action="store_true", help="rerun the retraining stage alone")
    p.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE",
                   help="another params.yaml override (YAML value), e.g. network.width_mult=0.25")
    p.add_argument("--workdir", required=True, help="a scratch folder for the copy of the repository")
    p.add_argument("--out", required=True)
    args = p.parse_args()
    global REPO
    out = Path(args.out).resolve()
    REPO = Path(args.workdir).resolve()
    if not (REPO / "dvc.yaml").exists():
        REPO.mkdir(parents=True, exist_ok=True)
        copy_repository(SOURCE, REPO)
    # the notebooks' kernel imports nasa_lib from the copy
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))

    if not (REPO / args.data_dir / "cifar-10-batches-py").exists():
        sh(sys.executable, "-m", "nasa_lib.data.make_synthetic_cifar", "--root", args.data_dir, "--kind", "cifar10")
    params = paper_params(args)
    if args.exp:  # dvc exp run needs a commit to start from; it sets common.devices itself
        params["common"]["devices"] = 1
    (REPO / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    if shutil.which("git") is None:    # dvc runs without git (no experiments then)
        if args.exp:
            raise SystemExit("--exp needs git, which this machine lacks")
        sh("dvc", "config", "--local", "core.no_scm", "true")
    elif not (REPO / ".git").exists():
        sh("git", "init", "-q")
        sh("git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "add", "-A")
        sh("git", "-c", "user.name=bench", "-c", "user.email=bench@localhost", "commit", "-qm", "throughput run")
    arch_file = REPO / "artifacts" / "search" / RUN / "seed0" / "arch.json"
    if args.retrain_arch:
        shutil.copy(args.retrain_arch, arch_file)
    t0 = time.perf_counter()
    if args.only_retrain:
        sh("dvc", "repro", "-s", f"retrain@{RUN}-0")
    elif args.exp:
        sh("dvc", "exp", "run", "-S", f"common.devices={args.devices}", f"retrain@{RUN}-0")
    else:
        sh("dvc", "repro", f"retrain@{RUN}-0")
    wall = time.perf_counter() - t0
    import torch
    result = {"command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]),
              "device": torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu",
              "devices": args.devices, "torch": torch.__version__, "precision": args.precision,
              "sync_batchnorm": not args.no_sync_bn, "search_mode": args.search_mode,
              "steps_per_epoch_per_process": args.steps, "dvc_wall_s": wall,
              "batch_size_per_process": {"pretrain": params["data"]["batch_size"],
                                         "search": params["data"]["batch_size"],
                                         "retrain": params["retrain"]["batch_size"]},
              "retrain_arch": json.loads(arch_file.read_text())["arch"] if arch_file.exists() else None,
              "stages": stage_throughput()}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result["stages"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
