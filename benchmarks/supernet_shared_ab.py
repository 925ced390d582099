"""Search steps with and without the supernet's shared stages, in one process (issue 19, item 2).

    python benchmarks/supernet_shared_ab.py OUT.json      # on a CUDA machine

The search-step stepper of ``benchmarks/adder.py`` (batch 128, the paper's CIFAR layout) per space,
with ``MixedLayer.forward`` switched per round between the unshared computation ("old": every
candidate through ``run_op``, as before the shared stages) and the library's ("new":
``run_ops_shared`` for multi-path calls), alternating the order per round so the machine's state
falls on both alike; hard mode (act_num 2) and soft mode.  Writes the per-round and median ms per
step, the ratios to OnlyConv and new/old.  Its figures: benchmarks/results/
adder_cuda_h200_issue19_soft_shared.json ("ab_interleaved_old_vs_new").
"""
import importlib.util, json, statistics, sys, time
import torch
sys.path.insert(0, ".")
spec = importlib.util.spec_from_file_location("bench_adder", "benchmarks/adder.py")
B = importlib.util.module_from_spec(spec); spec.loader.exec_module(B)
from nasa_lib.space.supernet import MixedLayer
torch.backends.cudnn.allow_tf32 = False; torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.benchmark = True
new_forward = MixedLayer.forward

def old_forward(self, x, weights=None, active=None, full_width=False):
    indices = range(len(self.candidates)) if active is None else active
    out = None
    for i in indices:
        y = self.run_op(i, x, full_width)
        y = y / len(indices) if weights is None else y * weights[i]
        out = y if out is None else out + y
    return out

IMPLS = {"old": old_forward, "new": new_forward}
spaces = ["OnlyConv", "Hybrid-Shift", "Hybrid-All"]
dev = torch.device("cuda")
report = []
for mode, rounds, spr in (("hard", 6, 5), ("soft", 5, 2)):
    steppers = {}
    for sp in spaces:
        steppers[sp] = B._supernet_stepper(sp, dev, 128, mode)[0]
        for impl in ("old", "new"):  # warm both (cuDNN benchmark picks, Triton)
            MixedLayer.forward = IMPLS[impl]
            steppers[sp](0)
    per = {impl: {sp: [] for sp in spaces} for impl in IMPLS}
    i = 0
    for r in range(rounds):
        for impl in (("old", "new") if r % 2 == 0 else ("new", "old")):
            MixedLayer.forward = IMPLS[impl]
            for sp in spaces:
                torch.cuda.synchronize(); t0 = time.perf_counter()
                for j in range(spr):
                    steppers[sp](1 + i + j)
                torch.cuda.synchronize()
                per[impl][sp].append((time.perf_counter() - t0) * 1e3 / spr)
        i += spr
    med = {impl: {sp: statistics.median(v) for sp, v in d.items()} for impl, d in per.items()}
    rec = {"mode": mode, "batch": 128, "rounds": rounds, "steps_per_round": spr, "ms_per_step_per_round": per,
           "ms_per_step_median": med,
           "ratio_to_OnlyConv": {impl: {sp: m[sp] / m["OnlyConv"] for sp in spaces} for impl, m in med.items()},
           "new_over_old": {sp: med["new"][sp] / med["old"][sp] for sp in spaces}}
    report.append(rec)
    print("A/B", mode, json.dumps({k: rec[k] for k in ("ms_per_step_median", "ratio_to_OnlyConv", "new_over_old")}), flush=True)
    del steppers
    torch.cuda.empty_cache()
MixedLayer.forward = new_forward
json.dump({"what": __doc__, "interleaved_old_vs_new": report}, open(sys.argv[1], "w"), indent=1)
