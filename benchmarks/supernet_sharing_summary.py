"""Summarise ``benchmarks/results/supernet_sharing.jsonl``: final supernet validation accuracy
(mean over its 8 fixed paths) per space, schedule, weight sharing and options, as mean +- sample
standard deviation over the seeds measured (and n), with the widest path and the minimum path.

    python benchmarks/supernet_sharing_summary.py [benchmarks/results/supernet_sharing.jsonl]
"""
from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict


def main(path: str) -> str:
    groups = defaultdict(list)
    for line in open(path):
        d = json.loads(line)
        opts = dict(d.get("options", {}))
        sharing = d.get("weight_sharing") or opts.pop("weight_sharing", "elastic")
        opts.pop("weight_sharing", None)
        key = (d["space"], d["epochs"], f"{d['mult_epochs']}/{d['adder_epochs']}" if d["pgp"] else "no PGP",
               d["full_width_fraction"], sharing, json.dumps(opts, sort_keys=True), d.get("accelerator", "cpu"))
        groups[key].append(d["history"][-1])
    rows = ["| space | epochs | PGP mult/adder | full width | sharing | options | where | n | supernet val. acc. (%) | "
            "min path (%) | widest (%) |", "|" + " --- |" * 11]
    for key in sorted(groups):
        hs = groups[key]
        acc = [100 * h["val_acc"] for h in hs]
        sd = f" +- {statistics.stdev(acc):.1f}" if len(acc) > 1 else ""
        rows.append(f"| {' | '.join(map(str, key))} | {len(hs)} | {statistics.mean(acc):.1f}{sd} | "
                    f"{100 * statistics.mean(h['val_acc_paths_min'] for h in hs):.1f} | "
                    f"{100 * statistics.mean(h['val_acc_widest'] for h in hs):.1f} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(main(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/supernet_sharing.jsonl"))
