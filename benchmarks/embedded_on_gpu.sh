#!/bin/bash
# The embedded default's stages, run directly through their stage modules (no DVC / papermill) on one GPU,
# each (run, seed) in its own process: the whole default's science in about 8 minutes instead of the 2-core
# CPU's hours.  Same code and params.yaml, except: accelerator gpu, 1 thread per process, the data folder.
# Run from the repository root on a machine with a GPU and the MNIST-5k folder at scratch16/mnist5k
# (python -m nasa_lib.data.materialize --dataset mnist5k --out scratch16/mnist5k), with OUT=<folder>:
#   OUT=/tmp/out bash benchmarks/embedded_on_gpu.sh
# It rewrites params.yaml (git checkout params.yaml afterwards).  Result of 2026-12-02 on one H200 (8 min):
# benchmarks/results/embedded_gpu_run/ (REPORT.md, its figures, every metrics and timing file).
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=1
python3 - <<'PY'
import yaml
d = yaml.safe_load(open("params.yaml"))
d["common"].update(accelerator="gpu", num_threads=1)
d["data"].update(data_dir="scratch16/mnist5k", verify="folder")
d["dance"]["workers"] = 4
yaml.safe_dump(d, open("params.yaml", "w"), sort_keys=False)
PY
L=/tmp/logs; mkdir -p $L
S() { python3 -c "$2" > $L/$1.log 2>&1 || echo "FAILED $1"; }
S data "from nasa_lib.stages import data as s; s.run(s.load())"
RUNS="OnlyConv Hybrid-All Hybrid-All-noPGP"; SEEDS="0 1 2"
for r in chunk eyeriss; do (S dd_$r "from nasa_lib.stages import dance_dataset as s; s.run(s.load('$r'), '$r')"; S de_$r "from nasa_lib.stages import dance_evaluator as s; s.run(s.load('$r'), '$r')") & done
for r in $RUNS; do for k in $SEEDS; do S pre_${r}_$k "from nasa_lib.stages import pretrain as s; s.run(s.load('$r'), '$r', $k)" & done; done
wait; echo "pretrain done $SECONDS s"
for r in $RUNS; do for k in $SEEDS; do S sea_${r}_$k "from nasa_lib.stages import search as s; s.run(s.load('$r'), '$r', $k)" & done; done
for w in 0.0 1e-06; do for k in $SEEDS; do S sw_${w}_$k "from nasa_lib.stages import sweep as s; s.run(s.load('Hybrid-All'), 'Hybrid-All', $w, $k)" & done; done
for b in all-conv all-shift all-adder; do for k in $SEEDS; do S rb_${b}_$k "from nasa_lib.stages import retrain as s; s.run(s.load('$b'), '$b', $k)" & done; done
wait; echo "search/sweep/baselines done $SECONDS s"
for r in $RUNS; do for k in $SEEDS; do S ret_${r}_$k "from nasa_lib.stages import retrain as s; s.run(s.load('$r'), '$r', $k)" & done; done
for d in 0 1 2 3 4; do S rnd_$d "from nasa_lib.stages import random_arch as s; s.run(s.load('Hybrid-All'), 'Hybrid-All', $d)" & done
for r in chunk eyeriss; do S dc_$r "from nasa_lib.stages import dance_coexplore as s; s.run(s.load('$r'), '$r')" & done
wait; echo "retrain/random/coexplore done $SECONDS s"
S hw "from nasa_lib.stages import hw_mapping as s; s.run(s.load())"
S report "from nasa_lib.stages import report as s; s.run(s.load())"
echo "all done $SECONDS s"
grep -l -i "error\|Traceback" $L/*.log | head; for f in $(grep -l "Traceback" $L/*.log | head -3); do echo "== $f"; tail -5 $f; done
tar czf $OUT/reports.tgz reports/REPORT.md reports/REPORT_claims.json reports/TIMING.md reports/metrics reports/timing reports/figures reports/plots 2>/dev/null
tar czf $OUT/logs.tgz $L
ls -la $OUT
